// convoy over NATS against raw NATS, side by side, on one nats-server started here:
//
//   node --import tsx bench/nats.ts [--rounds 7] [--window-ms 1000] [--payload 64] [--inflight 1000]
//
// The serving side is another process (as another host would be), with its own NATS connection. Each
// round runs every subject for one window, in an order that rotates, and the report gives each subject's
// median and the median of the per-round ratios: the machine's drift hits all subjects of a round alike.
//   convoy pipelined      a NATS transport pair under Channel + Endpoint, `inflight` calls in flight
//   raw req/rep pipelined nc.request() with `inflight` requests in flight
//   raw req/rep serial    nc.request(), one at a time (throughput)
//   raw pub/sub pipelined publish with a reply subject, echoed by publish; `inflight` in flight
//   convoy one at a time  p50 of awaited calls; raw req/rep one at a time: p50 of awaited requests
// Every payload is `payload` bytes, a fresh buffer per message (the nats client keeps what it is given).

import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Channel } from '../src/channel/channel.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { connectNats } from '../src/transport/nats-connect.js';
import { NatsHub } from '../src/transport/nats-hub.js';
import { NatsServer } from '../test/helpers/nats-server.js';
import { pubsubPipelined, rawRequest, serveRawEcho } from './baselines/nats-raw.js';
import { pipelined, roundTrips } from './measure.js';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    'window-ms': { type: 'string', default: '1000' },
    payload: { type: 'string', default: '64' },
    inflight: { type: 'string', default: '1000' },
  },
});
const payloadBytes = Number(args.payload);
const SCOPE = 'bench';
/** Both sides' cluster secret: every transport message is signed with a key derived from it. */
const SECRET = new Uint8Array(32).fill(1);

/** The other host: answers convoy calls and raw requests, echoes raw publishes. */
async function serve(url: string): Promise<void> {
  const connection = await connectNats({ servers: url }, 'bench server');
  const hub = new NatsHub(connection, { cluster: SCOPE, secret: SECRET });
  const transport = hub.open('server', 'client', { maxFrameBytes: 64 << 20 });
  new Endpoint(new Channel(transport), { api: { echo: (bytes: Uint8Array) => bytes } });
  await serveRawEcho(connection);
  process.send!('ready');
  process.on('disconnect', () => void hub.close().finally(() => process.exit(0)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const server = new NatsServer();
  await server.start();
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve', server.url], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => child.once('message', resolve));
  const connection = await connectNats({ servers: server.url }, 'bench client');
  const hub = new NatsHub(connection, { cluster: SCOPE, secret: SECRET });
  const transport = hub.open('client', 'server', { maxFrameBytes: 64 << 20 });
  await transport.opened;
  const client = new Endpoint(new Channel(transport));

  const windowMs = Number(args['window-ms']);
  const inflight = Number(args.inflight);
  const rtts = Math.max(200, Math.round(windowMs * 2));
  const convoyCall = () => client.call('echo', [new Uint8Array(payloadBytes)]);
  const rawCall = rawRequest(connection, payloadBytes);
  const subjects: Record<string, () => Promise<number>> = {
    'convoy pipelined (calls/s)': () => pipelined(convoyCall, inflight, windowMs),
    'raw req/rep pipelined (req/s)': () => pipelined(rawCall, inflight, windowMs),
    'raw req/rep serial (req/s)': () => pipelined(rawCall, 1, windowMs),
    'raw pub/sub pipelined (msg/s)': () => pubsubPipelined(connection, payloadBytes, inflight, windowMs),
    'convoy one at a time p50 (µs)': async () => (await roundTrips(convoyCall, rtts)).p50,
    'raw req/rep one at a time p50 (µs)': async () => (await roundTrips(rawCall, rtts)).p50,
  };
  const names = Object.keys(subjects);
  const results: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  // Warm-up, not recorded.
  for (const name of names) await subjects[name]!();
  const rounds = Number(args.rounds);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      results[name]!.push(await subjects[name]!());
    }
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }
  const ratio = (a: string, b: string): number => median(results[a]!.map((value, i) => value / results[b]![i]!));
  const fmt = (value: number): string => (value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(1));
  console.log(
    `payload ${payloadBytes} B, ${inflight} in flight, ${rounds} rounds of ${windowMs} ms windows, load ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const name of names) {
    const values = results[name]!;
    console.log(
      `${name.padEnd(38)} median ${fmt(median(values)).padStart(8)}   min ${fmt(Math.min(...values))}   max ${fmt(Math.max(...values))}`,
    );
  }
  console.log('median of per-round ratios:');
  console.log(
    `  convoy pipelined / raw req/rep serial      ${ratio('convoy pipelined (calls/s)', 'raw req/rep serial (req/s)').toFixed(2)}× (target ≥ 10×)`,
  );
  console.log(
    `  convoy pipelined / raw req/rep pipelined   ${ratio('convoy pipelined (calls/s)', 'raw req/rep pipelined (req/s)').toFixed(2)}×`,
  );
  console.log(
    `  convoy pipelined / raw pub/sub pipelined   ${ratio('convoy pipelined (calls/s)', 'raw pub/sub pipelined (msg/s)').toFixed(2)}×`,
  );
  console.log(
    `  convoy one at a time / raw req/rep p50     ${ratio('convoy one at a time p50 (µs)', 'raw req/rep one at a time p50 (µs)').toFixed(2)}× (target ≤ 1.3×)`,
  );
  client.destroy(new Error('bench over'));
  await hub.close();
  child.disconnect();
  await new Promise((resolve) => child.once('exit', resolve));
  await server.stop();
}

if (args.serve) await serve(args.serve);
else await main();
