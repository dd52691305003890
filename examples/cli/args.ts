/** Command-line parsing for `convoy`: node's own parseArgs, with errors that name the flag and value. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const USAGE = `Usage: convoy <command> [options]

Commands:
  bank          Two-phase-commit transfers between shards, with optional chaos, then a checker
  counter       The proposal's example: A awaits B's inc(x) in order over the batched stream
  replication   Ordered replication with notify vs the same writes through the unordered pool

Options (bank):
  --seconds N        how long transfers run (default 10)
  --shards N         shard workers (default 4)
  --tellers N        teller workers (default 2)
  --accounts N       accounts per shard (default 200)
  --concurrency N    transfers in flight per teller (default 64)
  --kind K           thread | process | mixed (default mixed)
  --chaos-ms N       kill a random worker about every N ms; 0 = never (default 0)
  --crash            inject at least one crash and restart (what npm start does)
  --data-dir DIR     where the write-ahead logs go (default: a fresh temporary directory)
  --seed N           seed of the transfer generator (default 1)
  --lock-policy P    wound-wait | no-wait: wait for a locked account, or refuse at once (default wound-wait)
  --lock-wait-ms N   how long a prepare may wait for a lock under wound-wait (default 250)
Options (counter):   --rounds N (default 10000), --kind thread | process (default process)
Options (replication): --writes N (default 2000), --replicas N (default 2), --kind thread | process
Common:
  --json             print the final report as JSON
  -h, --help         show this help
`;

export interface Cli {
  command: 'bank' | 'counter' | 'replication' | 'help';
  json: boolean;
  values: Record<string, string | boolean | undefined>;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seconds: { type: 'string' },
        shards: { type: 'string' },
        tellers: { type: 'string' },
        accounts: { type: 'string' },
        concurrency: { type: 'string' },
        kind: { type: 'string' },
        'chaos-ms': { type: 'string' },
        crash: { type: 'boolean' },
        'data-dir': { type: 'string' },
        seed: { type: 'string' },
        'lock-policy': { type: 'string' },
        'lock-wait-ms': { type: 'string' },
        rounds: { type: 'string' },
        writes: { type: 'string' },
        replicas: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseCli(argv: string[]): Cli {
  const parsed = parseFlags(argv);
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') return { command: 'help', json: false, values: parsed.values };
  if (command !== 'bank' && command !== 'counter' && command !== 'replication') {
    throw new UsageError(command ? `Unknown command "${command}"` : 'Missing command');
  }
  if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}"`);
  return { command, json: parsed.values.json ?? false, values: parsed.values };
}

/** A flag's value as a number within bounds, or its default. */
export function numberFlag(values: Cli['values'], name: string, fallback: number, { min = 0, integer = true } = {}): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`Expected --${name} to be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${String(raw)}"`);
  }
  return value;
}

export function choiceFlag<T extends string>(values: Cli['values'], name: string, allowed: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new UsageError(`Expected --${name} to be one of ${allowed.join(', ')}, got "${String(raw)}"`);
  return raw as T;
}
