// The bank across hosts (`convoy bank --agents 2`): its shards on two local agents — each a `convoy
// agent` process standing for a host of its own — over a NATS server the run starts, its tellers on the
// coordinator's host, under random kills and the SIGKILL of one agent, which takes its shards with it
// until it is back. The checker must pass.
import test from 'ava';
import { runBank } from '../examples/bank/run.js';

test('shards on two agents, tellers here: random kills and a killed agent, then a clean checker verdict', async (t) => {
  const report = await runBank({
    agents: 2,
    kind: 'mixed',
    // Long enough, and patient enough with silence, that a loaded machine commits transfers between the
    // kills and no worker is taken for dead only because it was starved of CPU.
    seconds: 4,
    heartbeatTimeoutMs: 5000,
    shards: 4,
    tellers: 2,
    accountsPerShard: 20,
    chaosEveryMs: 700,
    seed: 3,
  });
  // First, so that a failure below shows every death and what caused it.
  t.log(
    `committed=${report.committed} deaths=${report.deaths.map((d) => `${d.name}:${d.reason}${d.chaos ? '' : '(not ours)'}@${Math.round(d.atMs)}`).join(' ')}`,
  );
  t.deepEqual(report.verdict.violations, []);
  t.true(report.verdict.ok);
  t.true(report.committed > 0, 'some transfers committed');
  t.deepEqual(report.agentKills, ['agent-1'], 'one agent was killed (the seed picks which)');
  const lost = report.deaths.filter((death) => death.reason === 'disconnected');
  t.true(lost.length > 0 && lost.every((death) => ['shard-1', 'shard-3'].includes(death.name)), 'its shards were lost with it');
  t.true(
    report.deaths.every((death) => death.chaos),
    'only the kills we made',
  );
  t.is(report.restarts, report.deaths.length, 'every lost worker came back');
  t.is(report.verdict.totals.inDoubt, 0);
});
