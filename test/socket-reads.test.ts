// src/transport/socket-reads.ts: a socket convoy dials reads through net's `onread`; what a reader gets must
// be what a 'data' listener would have got: every byte in order, chunks it may keep, none lost while no
// reader is attached, pause and resume honoured, and the end of the connection seen.
import type net from 'node:net';
import test from 'ava';
import { prefixedFrame } from '../src/protocol/framing.js';
import { onReads } from '../src/transport/socket-reads.js';
import { TcpTransport } from '../src/transport/tcp.js';
import { deferred, nextEvent, withDeadline } from './helpers/deadline.js';
import { connectSockets } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const DEADLINE_MS = 5000;

/** Resolves once `condition()` holds, checked every turn of the event loop. */
function until(condition: () => boolean, what: string): Promise<void> {
  return withDeadline(
    new Promise<void>((resolve) => {
      const check = (): void => (condition() ? resolve() : void setImmediate(check));
      check();
    }),
    DEADLINE_MS,
    what,
  );
}

/** Resolves once `chunks` hold `bytes` bytes in all. */
function collect(socket: net.Socket, bytes: number): { chunks: Buffer[]; done: Promise<Buffer[]>; stop: () => void } {
  const chunks: Buffer[] = [];
  const done = deferred<Buffer[]>();
  let got = 0;
  const stop = onReads(socket, (chunk) => {
    chunks.push(chunk);
    got += chunk.byteLength;
    if (got >= bytes) done.resolve(chunks);
  });
  return { chunks, done: withDeadline(done.promise, DEADLINE_MS, `${bytes} bytes read`), stop };
}

test('a dialed socket reads through onread: no data event, and every byte arrives in order', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  client.on('data', () => t.fail('a dialed socket emitted data'));
  const sent = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
  const { done } = collect(client, sent.byteLength);
  server.write(sent);
  t.deepEqual(Buffer.concat(await done), sent);
});

test('each chunk is a copy of its own: later reads do not change a chunk kept from before', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  const first = collect(client, 4);
  server.write('AAAA');
  const [kept] = await first.done;
  first.stop();
  const second = collect(client, 4);
  server.write('BBBB');
  await second.done;
  t.is(kept!.toString(), 'AAAA');
});

test('bytes read while no reader is attached wait for the next one, in order', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  const first = collect(client, 3);
  server.write('one');
  await first.done;
  first.stop();
  // Nobody reads now: 'two' and 'three' are read from the socket into the queue (bytesRead counts them).
  server.write('two');
  server.write('three');
  await until(() => client.bytesRead === 11, 'the bytes read with no reader attached');
  const later = collect(client, 8);
  t.is(Buffer.concat(await later.done).toString(), 'twothree');
});

test('pause stops the reads and resume brings what arrived meanwhile', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  const reader = collect(client, 6);
  server.write('one');
  await until(() => reader.chunks.length > 0, 'the first read');
  client.pause();
  // Once the write's callback has run, the bytes are in the client's receive buffer (loopback): a socket
  // still reading would take them in its event loop's next poll. 200 turns of the loop give it every chance.
  await withDeadline(new Promise((resolve) => server.write('two', resolve)), DEADLINE_MS, 'write while paused');
  const turned = deferred();
  let turns = 0;
  const turn = (): void => (++turns === 200 ? turned.resolve() : void setImmediate(turn));
  turn();
  await withDeadline(turned.promise, DEADLINE_MS, 'turns while paused');
  t.is(Buffer.concat(reader.chunks).toString(), 'one');
  client.resume();
  t.is(Buffer.concat(await reader.done).toString(), 'onetwo');
});

test('the end of the connection is seen: end, then close', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  const reader = collect(client, 3);
  const ended = nextEvent(client, 'end', DEADLINE_MS);
  const closed = nextEvent(client, 'close', DEADLINE_MS);
  server.end('bye');
  t.is(Buffer.concat(await reader.done).toString(), 'bye');
  await ended;
  await closed;
  t.pass();
});

test('an accepted socket reads through data events, and stopping removes its listener', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  const before = server.listenerCount('data');
  const reader = collect(server, 2);
  t.is(server.listenerCount('data'), before + 1);
  client.write('hi');
  t.is(Buffer.concat(await reader.done).toString(), 'hi');
  reader.stop();
  t.is(server.listenerCount('data'), before);
});

test('a transport on a dialed socket hands on the handshake leftover before the bytes read after it', async (t) => {
  const { client, server } = await connectSockets(t, { reading: true });
  // 'B' is read (and queued: no reader yet) before the transport starts with 'A' left over from a handshake.
  server.write(prefixedFrame(Buffer.from('B')));
  await until(() => client.bytesRead === 5, 'the frame read before the transport starts');
  const transport = new TcpTransport(client, { maxFrameBytes: 1024, leftover: [prefixedFrame(Buffer.from('A'))] });
  t.teardown(() => transport.destroy());
  const frames: string[] = [];
  const both = deferred();
  transport.start({
    frame: (data) => {
      frames.push(Buffer.from(data as Uint8Array).toString());
      if (frames.length === 2) both.resolve();
    },
    close: () => {},
    drain: () => {},
  });
  await withDeadline(both.promise, DEADLINE_MS, 'both frames');
  t.deepEqual(frames, ['A', 'B']);
});
