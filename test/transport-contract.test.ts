/**
 * The Transport contract (src/transport/transport.ts), checked the same way for the in-memory pair, a
 * MessagePort pair and a loopback TCP connection: frames arrive whole and in order, close is reported
 * exactly once, a graceful close delivers what was sent first, destroy reports its error at once.
 */
import test from 'ava';
import type { Transport, TransportHandlers } from '../src/transport/transport.js';
import { deferred, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createTransportPair, frameBytes } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** Starts `transport` and records what it reports. */
function record(transport: Transport) {
  const frames: Uint8Array[] = [];
  const closes: (Error | undefined)[] = [];
  const closed = deferred<Error | undefined>();
  let arrived = deferred();
  let want = Infinity;
  const handlers: TransportHandlers = {
    frame(data) {
      frames.push(frameBytes(data));
      if (frames.length >= want) arrived.resolve();
    },
    close(error) {
      closes.push(error);
      closed.resolve(error);
    },
    drain() {},
  };
  return {
    frames,
    closes,
    closed: closed.promise,
    start: () => transport.start(handlers),
    /** Resolves once `count` frames have arrived in total. */
    frameCount(count: number): Promise<void> {
      want = count;
      arrived = deferred();
      if (frames.length >= count) arrived.resolve();
      return withDeadline(arrived.promise, 5000, `${count} frames`);
    },
  };
}

const frame = (seq: number, size: number): Uint8Array => {
  const bytes = new Uint8Array(size);
  bytes.fill(seq & 0xff);
  if (size >= 4) new DataView(bytes.buffer).setUint32(0, seq);
  return bytes;
};

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: frames arrive whole, byte-exact and in order, small and large`, async (t) => {
    const [a, b] = await createTransportPair(t, kind);
    const rb = record(b);
    rb.start();
    record(a).start();
    const sizes = [4, 4, 100, 0, 1, 70_000, 5, 3 << 20, 4, 9000];
    const sent = sizes.map((size, seq) => frame(seq, size));
    // Copies: a transport may take ownership of a frame's buffer (a MessagePort transfers it).
    for (const bytes of sent) a.send(bytes.slice());
    await rb.frameCount(sent.length);
    t.is(rb.frames.length, sent.length);
    for (let i = 0; i < sent.length; i++) t.true(Buffer.from(rb.frames[i]!).equals(Buffer.from(sent[i]!)), `frame ${i}`);
  });

  test(`${kind}: frames sent before start are delivered after start, in order`, async (t) => {
    const [a, b] = await createTransportPair(t, kind);
    record(a).start();
    for (let i = 0; i < 50; i++) a.send(frame(i, 8));
    const rb = record(b);
    rb.start();
    await rb.frameCount(50);
    t.deepEqual(
      rb.frames.map((f) => new DataView(f.buffer, f.byteOffset).getUint32(0)),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  // Serial: the receiver's work is a busy wait in this thread, which concurrent tests would share.
  test.serial(`${kind}: a slow receiver is handed every frame sent before the other side closed, and only then the close`, async (t) => {
    // The receiver falls far behind (work per frame); the other side's close arrives while most frames
    // still wait on this side. They were received: each must be delivered before the close is reported.
    const [a, b] = await createTransportPair(t, kind, { framesPerTurn: 16 });
    const count = 20_000;
    let closedAfter = -1;
    const frames: number[] = [];
    const closed = deferred<Error | undefined>();
    b.start({
      frame(data) {
        const bytes = frameBytes(data);
        frames.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0));
        const end = performance.now() + 0.02;
        while (performance.now() < end);
      },
      close(error) {
        closedAfter = frames.length;
        closed.resolve(error);
      },
      drain() {},
    });
    record(a).start();
    for (let i = 0; i < count; i++) a.send(frame(i, 64));
    a.close();
    t.is(await withDeadline(closed.promise, 20_000, 'the close'), undefined, 'a clean close');
    t.is(closedAfter, count, 'every frame was delivered before the close');
    t.true(
      frames.every((seq, i) => seq === i),
      'in order',
    );
  });

  test(`${kind}: a graceful close delivers every frame sent before it, then both sides report one clean close`, async (t) => {
    const [a, b] = await createTransportPair(t, kind);
    const ra = record(a);
    const rb = record(b);
    ra.start();
    rb.start();
    for (let i = 0; i < 200; i++) a.send(frame(i, 1000));
    a.close();
    a.close();
    const [closeA, closeB] = await withDeadline(Promise.all([ra.closed, rb.closed]), 5000, 'both closes');
    t.is(closeA, undefined);
    t.is(closeB, undefined);
    t.is(rb.frames.length, 200);
    t.true(a.closed && b.closed);
    t.false(a.send(frame(0, 4)), 'send after close is refused');
    a.destroy(new Error('late'));
    t.deepEqual(ra.closes, [undefined]);
    t.deepEqual(rb.closes, [undefined]);
  });

  test(`${kind}: destroy reports its error at once on that side, and the other side learns of the close`, async (t) => {
    const [a, b] = await createTransportPair(t, kind);
    const ra = record(a);
    const rb = record(b);
    ra.start();
    rb.start();
    const error = new Error('torn down');
    a.destroy(error);
    // Synchronously: a destroyed transport fails its calls at once.
    t.deepEqual(ra.closes, [error]);
    t.true(a.closed);
    await withDeadline(rb.closed, 5000, 'peer close');
    a.destroy(new Error('again'));
    a.close();
    t.is(ra.closes.length, 1);
    t.is(rb.closes.length, 1);
  });

  test(`${kind}: a transport closed before start reports the close when started`, async (t) => {
    const [a, b] = await createTransportPair(t, kind);
    const error = new Error('early');
    a.destroy(error);
    const ra = record(a);
    ra.start();
    t.deepEqual(ra.closes, [error]);
    const rb = record(b);
    rb.start();
    await withDeadline(rb.closed, 5000, 'peer close');
    t.is(rb.closes.length, 1);
  });

  test(`${kind}: label names the transport`, async (t) => {
    const [a] = await createTransportPair(t, kind);
    // A TCP label adds the address.
    t.is(a.label.split(' ')[0], kind);
  });
}
