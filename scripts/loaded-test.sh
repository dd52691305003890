#!/usr/bin/env bash
# Runs the test suite (or chosen files) on a loaded machine: N CPU hogs busy-loop beside ava, so timing
# and heartbeat bounds meet the stalls a shared 2-core machine gives them. Prints, per run, the load
# average seen, ava's summary line and the titles of the tests that failed; keeps every run's full log.
#
#   scripts/loaded-test.sh                                  # whole ava suite, 4 hogs, once
#   scripts/loaded-test.sh --hogs 8 --runs 3                # harder, three times
#   scripts/loaded-test.sh --nice 10 test/cluster-*.test.ts # hogs at nice 10, some files
#   scripts/loaded-test.sh --runs 5 -- --match '*restart*'  # anything after -- goes to ava as is
#
# Hogs are plain busy loops (bash `while :`), so they take whole cores; with --nice they yield to the
# tests but still stall them at every tick. Only the processes this script started are stopped.
set -uo pipefail
cd "$(dirname "$0")/.."

hogs=4
niceness=0
runs=1
ava_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hogs) hogs=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --help | -h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; ava_args+=("$@"); break ;;
    *) ava_args+=("$1"); shift ;;
  esac
done

out="test-output/loaded/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

started_pids=()
stop_started() {
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null; done
  started_pids=()
}
trap stop_started EXIT
trap 'exit 130' INT TERM

load1() { cut -d' ' -f1 /proc/loadavg; }

failed_runs=0
for run in $(seq 1 "$runs"); do
  for _ in $(seq 1 "$hogs"); do
    nice -n "$niceness" bash -c 'while :; do :; done' &
    started_pids+=($!)
  done
  # The 1-minute load average every 5 s, for the report: its minimum and maximum over the run.
  loads="$out/run-$run.load"
  (while :; do load1 >>"$loads"; sleep 5; done) &
  sampler=$!
  started_pids+=("$sampler")

  log="$out/run-$run.log"
  begin=$(date +%s)
  npx ava "${ava_args[@]}" >"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - begin))
  stop_started

  range=$(sort -n "$loads" | sed -n '1p;$p' | paste -sd- -)
  summary=$(grep -E '^\s+[0-9]+ (tests? (passed|failed)|known failures?|uncaught exceptions?|unhandled rejections?)' "$log" | sed 's/^ *//' | paste -sd, -)
  echo "run $run/$runs: exit $status, ${seconds} s, ${hogs} hogs at nice ${niceness}, load ${range}: ${summary:-no summary (crash or timeout?)}"
  grep -E '^\s+✘ ' "$log" | grep -v '\[expected fail\]' | sed 's/^ */    /'
  grep -E 'Timed out while running tests|Uncaught exception in|Unhandled rejection in' "$log" | sort | uniq -c | sed 's/^ */    /'
  [ "$status" -ne 0 ] && failed_runs=$((failed_runs + 1))
done
echo "${failed_runs} of ${runs} runs failed; logs in ${out}/"
[ "$failed_runs" -eq 0 ]
