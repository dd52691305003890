// Runs the bank from a terminal: node --import tsx examples/bank/main.ts --seconds 5 --chaos-ms 300
// Exits non-zero when the checker finds a violation.
import { parseArgs } from 'node:util';
import { formatReport, reportJson } from './report.js';
import { runBank } from './run.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    shards: { type: 'string', default: '4' },
    tellers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    'chaos-ms': { type: 'string', default: '0' },
    kind: { type: 'string', default: 'thread' },
    json: { type: 'boolean', default: false },
  },
});
const kind = values.kind === 'process' ? 'process' : 'thread';
const report = await runBank({
  seconds: Number(values.seconds),
  shards: Number(values.shards),
  tellers: Number(values.tellers),
  concurrency: Number(values.concurrency),
  chaosEveryMs: Number(values['chaos-ms']),
  kind,
});
console.log(values.json ? reportJson(report) : formatReport(report));
process.exitCode = report.verdict.ok ? 0 : 1;
