/**
 * Liveness while a big frame crawls over TCP: hang detection watches `channel.heard`, and a frame
 * that takes seconds to cross would otherwise silence both sides — the receiver hears nothing until the
 * last byte, and the sender's pings wait behind the frame. Bytes of an unfinished frame count as life on
 * the receiving side, and the receiver sends keep-alive frames back while it takes them in.
 */
import type net from 'node:net';
import test from 'ava';
import { Channel } from '../src/channel/channel.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { TcpTransport } from '../src/transport/tcp.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { connectSockets } from './helpers/pairs.js';

failOnLeaks(test);

/** Bytes the throttled direction passes every TICK_MS: ~1.6 MB/s, so 4 MB take over two seconds. */
const BYTES_PER_TICK = 16 * 1024;
const TICK_MS = 10;
const SIZE = 4_000_000;
/** The crossing must take at least this long for the silences to mean something. */
const MIN_CROSSING_MS = 2000;

/** Pipes `from` into `to` at BYTES_PER_TICK per TICK_MS; stops with either socket. */
function throttle(from: net.Socket, to: net.Socket): void {
  let pending = Buffer.alloc(0);
  const timer = setInterval(() => {
    if (pending.length === 0 || to.destroyed) return;
    to.write(pending.subarray(0, BYTES_PER_TICK));
    pending = pending.subarray(BYTES_PER_TICK);
  }, TICK_MS);
  from.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
  });
  const stop = (): void => clearInterval(timer);
  from.once('close', stop);
  to.once('close', stop);
}

test('a 4 MB argument crawling over TCP: both sides keep hearing from each other while it crosses', async (t) => {
  // a ⇄ proxy ⇄ b; only the a → b direction is throttled.
  const left = await connectSockets(t);
  const right = await connectSockets(t);
  throttle(left.server, right.client);
  right.client.on('data', (chunk: Buffer) => left.server.write(chunk));
  const options = { maxFrameBytes: 64 << 20 };
  const a = new Endpoint(new Channel(new TcpTransport(left.client, options)));
  const b = new Endpoint(new Channel(new TcpTransport(right.server, options)), { api: { size: (bytes: Uint8Array) => bytes.byteLength } });
  t.teardown(() => {
    a.destroy(new Error('teardown'));
    b.destroy(new Error('teardown'));
  });

  // The worst silence each side lives through, sampled while the call is out, as the heartbeat samples
  // it: a side has heard from its peer since the last sample when its count has moved.
  const silence = (channel: Channel) => ({ channel, heard: channel.heard, since: performance.now(), worst: 0 });
  const onA = silence(a.channel);
  const onB = silence(b.channel);
  const sampler = setInterval(() => {
    const now = performance.now();
    for (const side of [onA, onB]) {
      if (side.channel.heard !== side.heard) {
        side.heard = side.channel.heard;
        side.since = now;
      }
      side.worst = Math.max(side.worst, now - side.since);
    }
  }, 20);
  t.teardown(() => clearInterval(sampler));
  const started = performance.now();
  t.is(await withDeadline(a.call('size', [new Uint8Array(SIZE)]), 20_000, 'the crawling call'), SIZE);
  const took = performance.now() - started;
  clearInterval(sampler);
  const [worstOnA, worstOnB] = [onA.worst, onB.worst];
  t.log(`4 MB crossed in ${took.toFixed(0)} ms; longest silence heard by a: ${worstOnA.toFixed(0)} ms, by b: ${worstOnB.toFixed(0)} ms`);
  // Without the fix both sides are silent for the whole crossing; with it, for a keep-alive interval or two
  // (200 ms) plus whatever a loaded machine stalls this process for (up to a second seen in CI-like runs,
  // which stretches the crossing too): the bound is half the crossing, not a fixed time.
  t.true(took > MIN_CROSSING_MS, `the link is slow enough for the check to mean something (${took.toFixed(0)} ms)`);
  const bound = took / 2;
  t.true(worstOnB < bound, `b heard the frame coming (longest silence ${worstOnB.toFixed(0)} ms of ${took.toFixed(0)})`);
  t.true(worstOnA < bound, `a heard b's keep-alives (longest silence ${worstOnA.toFixed(0)} ms of ${took.toFixed(0)})`);
});
