// Three minimal RPCs that say how much of the gap to the raw baselines any awaited-call design pays, before
// convoy's own work (validation, flow control, ordering across faults, stats). None checks anything or
// survives a fault: they are floors, not libraries.
//
//   records-rpc   the raw batched protocol (records, one packed array of envelopes per message) behind an
//                 `inc(by)` that returns a promise: calls made in one turn leave together, `batch` at most per
//                 message, and each reply settles its call by id. What a promise per call costs.
//   minimal-rpc   the same with each call encoded on its own as it is made (a `[kind, id, method, args]`
//                 array, as convoy's messages are), the encodings concatenated into one message per turn,
//                 and each reply encoded on its own too. What per-call encoding adds: the smallest design in
//                 which a bad argument fails its own call only.
//   clone-rpc     (ports only) minimal-rpc's calls and replies as values, structured-cloned by postMessage
//                 instead of encoded: what the codec itself costs against the raw ping-pong.
//
// Plain .mjs because baseline threads and processes run it without tsx.
import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE } from 'msgpackr';

/** msgpackr writes into the buffer it reuses and returns it whole with the range (no view allocated). */
const IN_PLACE = REUSE_BUFFER_MODE | RESET_BUFFER_MODE;

/** A call's bytes are appended here until the turn's message leaves; grown on demand. */
class Arena {
  bytes = new Uint8Array(64 * 1024);
  length = 0;

  /** Appends what msgpackr just packed in place: `packed[packed.start, packed.end)`. */
  append(packed) {
    const size = packed.end - packed.start;
    const end = this.length + size;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    for (let i = 0; i < size; i++) this.bytes[this.length + i] = packed[packed.start + i];
    this.length = end;
  }

  /** The appended bytes as a message of their own (transferable), and an empty arena. */
  take() {
    const out = this.bytes.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

/**
 * A promise's settlers, taken through this one executor rather than a closure made per call: V8 then makes
 * no context and no executor function for each call. convoy's Endpoint does the same (src/rpc/endpoint.ts),
 * and keeps its pending calls in a ring by id, not a Map, as this floor does now. With a closure per call
 * and a Map, minimal-rpc read 0.51x raw batched coord<->thread and 0.93x convoy: a floor convoy was above.
 * With both, 0.68-0.71x raw batched and 1.25x convoy (a suite run and a full run, at be92c73).
 */
let capturedResolve;
function captureResolve(resolve) {
  capturedResolve = resolve;
}

/** Pending calls' settlers, by id in a power-of-two ring (ids count up; at most `INFLIGHT` are pending). */
const SLOTS = 4096;

/**
 * The calling end. `wire` moves whole messages: `send(value)` / `listen(fn)` (encoded by the records codec,
 * or cloned) for records-rpc and clone-rpc, `sendBytes(bytes)` / `listenBytes(fn)` for minimal-rpc; a message
 * carries `batch` calls at most. Returns `inc(by)` → Promise of the counter.
 */
export function floorClient(wire, proto, batch) {
  const perCall = proto === 'minimal-rpc';
  const asArrays = proto === 'clone-rpc';
  const packr = new Packr({ useRecords: false });
  const arena = new Arena();
  const pending = new Array(SLOTS).fill(undefined);
  let nextId = 0;
  let queued = 0;
  let calls = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    queued = 0;
    if (perCall) {
      if (arena.length > 0) wire.sendBytes(arena.take());
      return;
    }
    if (calls.length > 0) wire.send(calls);
    calls = [];
  };
  const settle = (id, value) => {
    const slot = id & (SLOTS - 1);
    const resolve = pending[slot];
    pending[slot] = undefined;
    resolve(value);
  };
  if (perCall) {
    wire.listenBytes((bytes) => packr.unpackMultiple(bytes, (reply) => settle(reply[1], reply[2])));
  } else if (asArrays) {
    wire.listen((replies) => {
      for (const reply of replies) settle(reply[1], reply[2]);
    });
  } else {
    wire.listen((replies) => {
      for (const reply of replies) settle(reply.id, reply.v);
    });
  }
  return (by) => {
    const promise = new Promise(captureResolve);
    const id = nextId++;
    pending[id & (SLOTS - 1)] = capturedResolve;
    if (perCall) arena.append(packr.pack([0, id, 'inc', [by]], IN_PLACE));
    else calls.push(asArrays ? [0, id, 'inc', [by]] : { t: 0, id, m: 'inc', a: [by] });
    if (++queued >= batch) flush();
    else if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
    return promise;
  };
}

/** The answering end of minimal-rpc: each reply encoded on its own, one message of replies per message of calls. */
export function serveMinimal(wire) {
  const packr = new Packr({ useRecords: false });
  const arena = new Arena();
  let n = 0;
  wire.listenBytes((bytes) => {
    packr.unpackMultiple(bytes, (call) => {
      n += call[3][0];
      arena.append(packr.pack([1, call[1], n], IN_PLACE));
    });
    wire.sendBytes(arena.take());
  });
}

/** The answering end of clone-rpc: one message of replies per message of calls, all as cloned arrays. */
export function serveClone(wire) {
  let n = 0;
  wire.listen((calls) => {
    const replies = new Array(calls.length);
    for (let i = 0; i < calls.length; i++) replies[i] = [1, calls[i][1], (n += calls[i][3][0])];
    wire.send(replies);
  });
}
