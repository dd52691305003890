// The raw baselines' two ends, shared by every caller (the coordinator, or a peer host thread or process
// calling another: baselines/peer-host.mjs) and every callee. Plain .mjs so threads and processes run it
// without tsx; types in raw-loops.d.mts.
//
// Protocols over a MessagePort or a TCP socket (u32-length-prefixed frames, TCP_NODELAY):
//   clone     (port only) one structured-cloned envelope per postMessage
//   msgpackr  msgpackr maps; a port's message is the packed bytes' ArrayBuffer, transferred
//   records   the same with msgpackr records (the structure goes once per packed value)
//   birpc, comlink   (port only) the library's own call over the port, default options
//   records-rpc, minimal-rpc, clone-rpc   floors of any awaited-call design: a promise per call (rpc-floors.mjs)
//   convoy-transport, convoy-endpoint   convoy's own layers without a cluster (layer-loops.mjs)
// What a caller measures, per protocol:
//   rtt(count)      one call at a time (p50/p99 µs): one envelope per message (one frame per write)
//   pipelined(ms)   INFLIGHT calls in flight, calls/s: clone, birpc, comlink keep INFLIGHT single calls
//                   outstanding; msgpackr and records send batches of BATCH envelopes and keep
//                   INFLIGHT / BATCH batches in flight, a new one as each reply batch arrives, so the
//                   callee works on one batch while the next crosses (as convoy's early 4 KiB flushes do)
import { createBirpc } from 'birpc';
import { expose, releaseProxy, wrap } from 'comlink';
import { SingleFlight, pipelined, roundTrips } from '../loops.mjs';
import { floorClient, serveClone, serveMinimal } from './rpc-floors.mjs';
import { FrameReader, callBatch, callEnvelope, createCodec, createCounter, lengthPrefixed } from './wire.mjs';

export const INFLIGHT = 1000;
/** Envelopes per batch: about 4 KiB of msgpackr, the size at which convoy flushes while calls are in flight. */
export const BATCH = 250;
/** Up to this size, minimal-rpc's messages cross a port as binary strings. */
const SMALL_MESSAGE_BYTES = 4096;

/**
 * A duplex of whole messages over a port or a socket: `send(value)`, `listen(fn)` → stop, encoded by the
 * protocol's codec; or bytes as they are, `sendBytes(bytes)`, `listenBytes(fn)` (minimal-rpc encodes its own).
 */
function portWire(port, proto) {
  const codec = proto === 'clone' || proto === 'clone-rpc' ? undefined : createCodec(proto === 'records' || proto === 'records-rpc');
  return {
    /** A small message travels as a binary string (the cheapest way a port moves a few bytes), a larger one transferred. */
    sendBytes(bytes) {
      if (bytes.length <= SMALL_MESSAGE_BYTES) port.postMessage(Buffer.from(bytes.buffer, 0, bytes.length).toString('latin1'));
      else port.postMessage(bytes.buffer, [bytes.buffer]);
    },
    listenBytes(fn) {
      port.on('message', (msg) => fn(typeof msg === 'string' ? Buffer.from(msg, 'latin1') : new Uint8Array(msg)));
    },
    send(value) {
      if (!codec) return port.postMessage(value);
      const bytes = codec.encode(value);
      port.postMessage(bytes.buffer, [bytes.buffer]);
    },
    listen(fn) {
      const onMessage = codec ? (msg) => fn(codec.decode(new Uint8Array(msg))) : fn;
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
  };
}

/** A raw protocol's wire over a socket: length-prefixed frames, a chunk's answers in one write. */
export function socketWire(socket, proto) {
  if (!['msgpackr', 'records', 'records-rpc', 'minimal-rpc'].includes(proto)) throw new Error(`protocol ${proto} does not run over TCP`);
  const codec = createCodec(proto === 'records' || proto === 'records-rpc');
  return {
    sendBytes(bytes) {
      socket.write(lengthPrefixed(bytes));
    },
    listenBytes(fn) {
      const reader = new FrameReader(fn);
      socket.on('data', (chunk) => {
        socket.cork();
        reader.push(chunk);
        socket.uncork();
      });
    },
    send(value) {
      socket.write(codec.encodeFrame(value));
    },
    /** Frames that arrive in one chunk are answered with one write: cork until the chunk is handled. */
    listen(fn) {
      const reader = new FrameReader((payload) => fn(codec.decode(payload)));
      const onData = (chunk) => {
        socket.cork();
        reader.push(chunk);
        socket.uncork();
      };
      socket.on('data', onData);
      return () => socket.off('data', onData);
    },
  };
}

function wireRtt(wire, count) {
  const flight = new SingleFlight();
  const stop = wire.listen(() => flight.settle());
  let nextId = 0;
  const send = () => wire.send(callEnvelope(nextId++));
  return roundTrips(() => flight.call(send), count).finally(stop);
}

/** `inflight` messages of `size` envelopes (one envelope, not an array, when size is 0) outstanding. */
function wireOverlapped(wire, durationMs, size, inflight) {
  return new Promise((resolve) => {
    const start = performance.now();
    const deadline = start + durationMs;
    let completed = 0;
    let outstanding = 0;
    let nextId = 0;
    const send = () => {
      outstanding++;
      wire.send(size === 0 ? callEnvelope(nextId) : callBatch(nextId, size));
      nextId += Math.max(1, size);
    };
    const stop = wire.listen((reply) => {
      completed += size === 0 ? 1 : reply.length;
      outstanding--;
      if (performance.now() < deadline) send();
      else if (outstanding === 0) {
        stop();
        resolve((completed * 1000) / (performance.now() - start));
      }
    });
    for (let i = 0; i < inflight; i++) send();
  });
}

function wireCaller(wire, proto) {
  if (isFloor(proto)) return libraryCaller(floorClient(wire, proto, BATCH), () => {});
  return {
    rtt: (count) => wireRtt(wire, count),
    pipelined: (ms) =>
      proto === 'clone' ? wireOverlapped(wire, ms, 0, INFLIGHT) : wireOverlapped(wire, ms, BATCH, Math.ceil(INFLIGHT / BATCH)),
    close() {},
  };
}

function libraryCaller(inc, close) {
  return {
    rtt: (count) => roundTrips(() => inc(1), count),
    pipelined: (ms) => pipelined(() => inc(1), INFLIGHT, ms),
    close,
  };
}

const isFloor = (proto) => proto === 'records-rpc' || proto === 'minimal-rpc' || proto === 'clone-rpc';

/** convoy's layers (layer-loops.mjs) load convoy, so only the breakdown that uses them pays for it. */
const isLayer = (proto) => proto.startsWith('convoy-');
const layers = () => import('./layer-loops.mjs');

/** The calling end over a MessagePort: `{ rtt(count), pipelined(ms), close() }`. */
export async function portCaller(port, proto) {
  if (isLayer(proto)) return (await layers()).layerCaller({ port }, proto);
  if (proto === 'birpc') {
    const remote = createBirpc(
      {},
      { post: (data) => port.postMessage(data), on: (fn) => void port.on('message', fn), off: (fn) => void port.off('message', fn) },
    );
    return libraryCaller(
      (by) => remote.inc(by),
      () => remote.$close(),
    );
  }
  if (proto === 'comlink') {
    // A Node MessagePort is an EventTarget with start(): what comlink's Endpoint needs, no adapter.
    const remote = wrap(port);
    return libraryCaller(
      (by) => remote.inc(by),
      () => remote[releaseProxy](),
    );
  }
  return wireCaller(portWire(port, proto), proto);
}

/** The calling end over a connected socket. */
export async function socketCaller(socket, proto) {
  if (isLayer(proto)) return (await layers()).layerCaller({ socket }, proto);
  return wireCaller(socketWire(socket, proto), proto);
}

/** The answering end: a counter, one reply per envelope, one reply message per batch. */
function serveWire(wire, proto) {
  if (proto === 'minimal-rpc') return serveMinimal(wire);
  if (proto === 'clone-rpc') return serveClone(wire);
  const answer = createCounter();
  wire.listen((msg) => wire.send(Array.isArray(msg) ? msg.map(answer) : answer(msg)));
}

export async function servePort(port, proto) {
  if (isLayer(proto)) return (await layers()).serveLayer({ port }, proto);
  let n = 0;
  const api = { inc: (by) => (n += by) };
  if (proto === 'birpc') createBirpc(api, { post: (data) => port.postMessage(data), on: (fn) => port.on('message', fn) });
  else if (proto === 'comlink') expose(api, port);
  else serveWire(portWire(port, proto), proto);
}

export async function serveSocket(socket, proto) {
  socket.setNoDelay(true);
  if (isLayer(proto)) return (await layers()).serveLayer({ socket }, proto);
  serveWire(socketWire(socket, proto), proto);
}
