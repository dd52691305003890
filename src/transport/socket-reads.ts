/**
 * How convoy reads a TCP socket. A socket convoy dials reads through net's `onread` option: Node hands each
 * read straight to one callback, past the Readable stream (no `push`, no buffering state, no 'data'
 * event). On one CPU that made a loopback echo's round trip ~3.5 µs shorter (~29 against ~32.5 µs, the
 * echoing side reading one way or the other) and convoy's coordinator → process call 1.11× faster
 * (docs/architecture.md, "Reading a TCP socket"). A socket convoy accepts has no such option (net.Server
 * takes none) and reads through 'data'.
 *
 * Either way each chunk a listener gets is a Buffer of its own, which it may keep: an `onread` read lands
 * in one reused buffer and is copied out of it.
 */
import type { NetConnectOpts, Socket } from 'node:net';

/** Node reads up to this much at a time into the reused buffer (its own stream reads take 64 KiB too). */
const READ_BUFFER_BYTES = 64 * 1024;

type Listener = (chunk: Buffer) => void;

/** Where a dialed socket's reads go: the current listener, or a queue until there is one. */
interface ReadSink {
  listener: Listener | undefined;
  queued: Buffer[];
}

const sinks = new WeakMap<Socket, ReadSink>();

/** `net.connect(options)`, reading through `onread`: hand it to `onReads` to get its bytes. */
export function connectReading(options: NetConnectOpts): Socket {
  const sink: ReadSink = { listener: undefined, queued: [] };
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const socket = process.getBuiltinModule('node:net').connect({
    ...options,
    onread: {
      buffer,
      // `true`: keep reading (false would pause the socket; pausing is the socket's owner's call).
      callback: (bytes: number, into: Uint8Array): boolean => {
        const chunk = Buffer.from(into.subarray(0, bytes));
        if (sink.listener) sink.listener(chunk);
        else sink.queued.push(chunk);
        return true;
      },
    },
  });
  sinks.set(socket, sink);
  return socket;
}

/**
 * Calls `listener` with each chunk read from `socket` from now on (first with any a dialed socket read while
 * it had no listener); returns what stops it. One listener at a time on a dialed socket.
 */
export function onReads(socket: Socket, listener: Listener): () => void {
  const sink = sinks.get(socket);
  if (!sink) {
    socket.on('data', listener);
    return () => socket.off('data', listener);
  }
  sink.listener = listener;
  while (sink.queued.length > 0 && sink.listener === listener) listener(sink.queued.shift()!);
  return () => {
    if (sink.listener === listener) sink.listener = undefined;
  };
}
