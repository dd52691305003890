/** startCluster() option validation: a bad option rejects with a TypeError naming it, before anything is spawned. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startCluster, type ClusterOptions } from '../src/index.js';
import { fixture, settle, within, workerProcessPids } from './helpers/cluster.js';

const counter = fixture('counter.ts');

const bad: [string, unknown, string][] = [
  ['no options', undefined, 'options'],
  ['no workers', { workers: [] }, 'workers'],
  ['neither workers nor a pool', {}, 'workers'],
  ['a worker without a module', { workers: [{ name: 'a' }] }, 'workers[0].module'],
  ['a bad name', { workers: [{ name: 'a b', module: counter }] }, 'workers[0].name'],
  [
    'a duplicate name',
    {
      workers: [
        { name: 'a', module: counter },
        { name: 'a', module: counter },
      ],
    },
    '"a"',
  ],
  [
    'a duplicate name from count',
    {
      workers: [
        { name: 's', module: counter, count: 2 },
        { name: 's-1', module: counter },
      ],
    },
    '"s-1"',
  ],
  ['the reserved name coordinator', { workers: [{ name: 'coordinator', module: counter }] }, '"coordinator"'],
  ['an unknown kind', { workers: [{ name: 'a', module: counter, kind: 'fiber' }] }, 'workers[0].kind'],
  ['count 0', { workers: [{ name: 'a', module: counter, count: 0 }] }, 'workers[0].count'],
  // A walk-through's: it allocated for a minute, the event loop blocked, then the process died out of memory.
  [
    'a count of a billion',
    { workers: [{ name: 'a', module: counter, count: 1e9 }] },
    '`workers[0].count` to be an integer >= 1 and <= 10000',
  ],
  [
    'counts past 10 000 workers together',
    {
      workers: [
        { name: 'a', module: counter, count: 6000 },
        { name: 'b', module: counter, count: 4001 },
      ],
    },
    'at most 10000 workers: `workers[1]` brings it to 10001',
  ],
  // A walk-through's: an http: string was taken for a relative path, a URL object failed in the worker.
  [
    'a module given as an http: URL string',
    { workers: [{ name: 'a', module: 'http://x/w.js' }] },
    '`workers[0].module` to be a path or file URL, got a http: URL, "http://x/w.js"',
  ],
  [
    'a module given as a data: URL object',
    { workers: [{ name: 'a', module: new URL('data:text/javascript,export default 1') }] },
    'got a data: URL',
  ],
  ['a pool module given as an https: URL', { pool: { module: new URL('https://x/t.js') } }, '`pool.module`'],
  // A review's: a secret given as an object was described by its first fields, the secret among them.
  [
    'a nats.pass that is not a string (its value not shown)',
    {
      nats: { servers: 'nats://127.0.0.1:1', secretFile: '/nonexistent', pass: { pass: 'S3cr3t-nats-pass' } },
      workers: [{ name: 'a', module: counter, host: 'b' }],
    },
    '`nats.pass` to be a string, got an object',
  ],
  // A path with a colon in a file name is a path, not a URL (only `scheme://`, data:, node: and blob: are).
  ['a module path with a colon that names no file', { workers: [{ name: 'a', module: 'v2:worker.js', count: 0 }] }, 'workers[0].count'],
  ['an unknown restart policy', { workers: [{ name: 'a', module: counter, restart: 'always' }] }, 'workers[0].restart'],
  [
    'heartbeatTimeoutMs not above heartbeatIntervalMs',
    { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 500, workers: [{ name: 'a', module: counter }] },
    'heartbeatTimeoutMs',
  ],
  ['maxBatchBytes 0 (process worker)', { maxBatchBytes: 0, workers: [{ name: 'a', module: counter, kind: 'process' }] }, 'maxBatchBytes'],
  ['a negative callTimeoutMs', { callTimeoutMs: -5, workers: [{ name: 'a', module: counter }] }, 'callTimeoutMs'],
  // Past Node's longest timer, a setTimeout fires after 1 ms: a 30-day timeout timed every call out at once.
  ['a callTimeoutMs past the longest timer', { callTimeoutMs: 30 * 86_400_000, workers: [{ name: 'a', module: counter }] }, '2147483647'],
  ['a startTimeoutMs past the longest timer', { startTimeoutMs: 2 ** 31, workers: [{ name: 'a', module: counter }] }, 'startTimeoutMs'],
  ['a restartDelayMs past the longest timer', { restartDelayMs: 2 ** 31, workers: [{ name: 'a', module: counter }] }, 'restartDelayMs'],
  ['an unknown backpressure mode', { backpressure: 'drop', workers: [{ name: 'a', module: counter }] }, 'backpressure'],
  ['a negative heartbeatIntervalMs', { heartbeatIntervalMs: -1, workers: [{ name: 'a', module: counter }] }, 'heartbeatIntervalMs'],
  [
    'sharedMemory on a worker placed on another host',
    {
      nats: { servers: 'nats://127.0.0.1:1', secretFile: '/nonexistent' },
      workers: [{ name: 'a', module: counter, host: 'b', sharedMemory: true }],
    },
    '`workers[0].sharedMemory`: a worker on another host (agent "b") shares no memory',
  ],
  ['sharedMemory that is not a boolean', { sharedMemory: 'yes', workers: [{ name: 'a', module: counter }] }, 'sharedMemory'],
  ['a ringBytes that is not a power of two', { ringBytes: 1_000_000, workers: [{ name: 'a', module: counter }] }, 'ringBytes'],
  ['a ringBytes below 1 KiB', { sharedMemory: true, ringBytes: 512, workers: [{ name: 'a', module: counter }] }, 'ringBytes'],
  ['a negative spinMicros', { spinMicros: -1, workers: [{ name: 'a', module: counter }] }, 'spinMicros'],
  ['a spinMicros above 10 000', { sharedMemory: true, spinMicros: 20_000, workers: [{ name: 'a', module: counter }] }, 'spinMicros'],
  ['a spinMicros between 0 and 1', { sharedMemory: true, spinMicros: 0.5, workers: [{ name: 'a', module: counter }] }, 'spinMicros'],
  [
    'a worker sharedMemory that is not a boolean',
    { workers: [{ name: 'a', module: counter, sharedMemory: 1 }] },
    'workers[0].sharedMemory',
  ],
  [
    'sharedMemory on a process worker',
    { workers: [{ name: 'a', module: counter, kind: 'process', sharedMemory: true }] },
    'workers[0].sharedMemory',
  ],
  ['a negative handshakeTimeoutMs', { handshakeTimeoutMs: -1, workers: [{ name: 'a', module: counter }] }, 'handshakeTimeoutMs'],
  [
    'a misspelt option (with the closest known name)',
    { heartbeatTimeoutMS: 100, workers: [{ name: 'a', module: counter }] },
    'did you mean `heartbeatTimeoutMs`',
  ],
  ['an unknown option', { frobnicate: true, workers: [{ name: 'a', module: counter }] }, '`frobnicate`'],
  [
    'an unknown worker spec field (with the closest known name)',
    { workers: [{ name: 'a', module: counter, restarts: 'on-failure' }] },
    '`workers[0]`; did you mean `restart`',
  ],
  [
    'a worker spec field with two letters swapped (with the closest known name)',
    { workers: [{ name: 'a', module: counter, kidn: 'thread' }] },
    '`kidn` in `workers[0]`; did you mean `kind`',
  ],
  ['an unknown pool field', { pool: { module: counter, threads: 2 }, workers: [{ name: 'a', module: counter }] }, '`threads` in `pool`'],
  ['a misspelt shared-memory option', { ringbytes: 4096, workers: [{ name: 'a', module: counter }] }, 'did you mean `ringBytes`'],
  ['a non-boolean serial', { workers: [{ name: 'a', module: counter, serial: 'yes' }] }, 'workers[0].serial'],
  ['env as a string', { workers: [{ name: 'a', module: counter, env: 'A=1' }] }, 'workers[0].env'],
  ['an env value that is not a string', { workers: [{ name: 'a', module: counter, env: { A: 1 } }] }, 'workers[0].env.A'],
  ['argv that is not an array of strings', { workers: [{ name: 'a', module: counter, argv: '--x' }] }, 'workers[0].argv'],
  ['execArgv with a number', { workers: [{ name: 'a', module: counter, execArgv: [1] }] }, 'workers[0].execArgv'],
  [
    'an unknown resource limit (with the closest known name)',
    { workers: [{ name: 'a', module: counter, resourceLimits: { maxOldGenerationSizeMB: 64 } }] },
    'did you mean `maxOldGenerationSizeMb`',
  ],
  [
    'a zero resource limit',
    { workers: [{ name: 'a', module: counter, resourceLimits: { stackSizeMb: 0 } }] },
    'workers[0].resourceLimits.stackSizeMb',
  ],
  // A `host` not a string reached each process worker as its coordinator's address: it exited (code 70).
  ['a host that is not a string', { host: 5, workers: [{ name: 'a', module: counter, kind: 'process' }] }, '`host`'],
  ['an empty host', { host: '', workers: [{ name: 'a', module: counter, kind: 'process' }] }, '`host`'],
  ['expose that is not an object', { expose: 5, workers: [{ name: 'a', module: counter }] }, '`expose`'],
  ['a pool without a module', { pool: { maxThreads: 2 }, workers: [{ name: 'a', module: counter }] }, '`pool.module`'],
  [
    'a pool maxThreads that is not a number',
    { pool: { module: counter, maxThreads: 'x' }, workers: [{ name: 'a', module: counter }] },
    '`pool.maxThreads`',
  ],
  [
    'a pool minThreads above maxThreads',
    { pool: { module: counter, minThreads: 3, maxThreads: 2 }, workers: [{ name: 'a', module: counter }] },
    '`pool.minThreads` (3)',
  ],
  [
    'an unknown option far from any known one (no suggestion)',
    { foo: 1, workers: [{ name: 'a', module: counter }] },
    'Unknown option `foo` in startCluster() options',
  ],
];

for (const [title, options, names] of bad) {
  test(`startCluster() rejects ${title} with a TypeError naming ${names}`, async (t) => {
    const result = await within(settle(startCluster(options as ClusterOptions)), 2000, 'startCluster');
    t.false(result.ok);
    if (result.ok) {
      await result.value.close();
      return;
    }
    t.true(result.error instanceof TypeError, String(result.error));
    t.true((result.error as Error).message.includes(names), (result.error as Error).message);
    if (title.includes('no suggestion')) t.false((result.error as Error).message.includes('did you mean'), (result.error as Error).message);
    t.deepEqual(workerProcessPids(), [], 'nothing was spawned');
  });
}

// 192.0.2.1 (TEST-NET-1) is no interface of this machine: binding it fails here, and no packet is sent.
test('a host the coordinator cannot bind rejects with an error naming `host` and its value, keeping the code and cause', async (t) => {
  const result = await within(
    settle(startCluster({ host: '192.0.2.1', workers: [{ name: 'a', module: counter, kind: 'process' }] })),
    5000,
    'startCluster',
  );
  t.false(result.ok);
  if (result.ok) {
    await result.value.close();
    return;
  }
  const error = result.error as NodeJS.ErrnoException;
  t.regex(error.message, /^`host` '192\.0\.2\.1': listen EADDRNOTAVAIL/);
  t.is(error.code, 'EADDRNOTAVAIL');
  t.is(error.syscall, 'listen');
  t.true(error.cause instanceof Error);
  t.is((error.cause as NodeJS.ErrnoException).code, 'EADDRNOTAVAIL');
  t.deepEqual(workerProcessPids(), [], 'nothing was spawned');
});

// A walk-through's: an unreadable secret file rejected with a bare ENOENT, naming no option.
test('a nats.secretFile that cannot be read, or holds too short a secret, rejects naming `nats.secretFile`', async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), 'convoy-secret-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const short = path.join(folder, 'short');
  writeFileSync(short, 'abc\n');
  const start = (secretFile: string) =>
    within(
      settle(startCluster({ nats: { servers: 'nats://127.0.0.1:1', secretFile }, workers: [{ name: 'a', module: counter, host: 'b' }] })),
      5000,
      'startCluster',
    );
  const missing = await start(path.join(folder, 'missing'));
  t.false(missing.ok);
  if (!missing.ok) {
    const error = missing.error as NodeJS.ErrnoException;
    t.is(error.message, `\`nats.secretFile\` '${path.join(folder, 'missing')}': ${(error.cause as Error).message}`);
    t.like(error, { code: 'ENOENT', syscall: 'open' });
  }
  const tooShort = await start(short);
  t.false(tooShort.ok);
  if (!tooShort.ok) {
    t.true(tooShort.error instanceof TypeError);
    t.regex((tooShort.error as Error).message, /^`nats\.secretFile` '.*short': The secret in .*short is 3 bytes; at least 16/);
  }
});
