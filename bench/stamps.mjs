// Timestamps along one convoy call, for the one-at-a-time breakdown (bench/breakdown.ts), taken from
// outside convoy: the transports' `send`, `sendValue` and `sendWithHeadroom` (a frame posted: a lone plain
// message leaves a MessagePort as a value frame, and the channel sends TCP frames with room for the prefix) and the frame handler they are started with (a
// frame received) are wrapped on the prototypes of the build's PortTransport and TcpTransport, so a
// transport started after `installStamps` records both. Stamps are wall-clock ms (`wallNow`), comparable
// across the threads and processes of one machine. Nothing is recorded until `recordStamps(true)`.
import { wallNow } from './loops.mjs';

export const STAMP = { issued: 1, posted: 2, received: 3, handler: 4, resolved: 5 };

/** Flat pairs: code, time. */
let events = [];
let recording = false;
let installed = false;

export function stamp(code) {
  if (recording) events.push(code, wallNow());
}

export function recordStamps(on) {
  recording = on;
  if (on) events = [];
}

/** The stamps recorded since `recordStamps(true)`, as flat [code, time, code, time, …]. */
export function takeStamps() {
  const out = events;
  events = [];
  return out;
}

export function installStamps({ PortTransport, TcpTransport }) {
  if (installed) return;
  installed = true;
  for (const T of [PortTransport, TcpTransport]) {
    // Every way a transport of this build sends a frame.
    for (const name of ['send', 'sendValue', 'sendWithHeadroom']) {
      const original = T.prototype[name];
      if (!original) continue;
      T.prototype[name] = function (...args) {
        stamp(STAMP.posted);
        return original.apply(this, args);
      };
    }
    const { start } = T.prototype;
    T.prototype.start = function (handlers) {
      return start.call(this, {
        frame(...args) {
          stamp(STAMP.received);
          return handlers.frame(...args);
        },
        close: (error) => handlers.close(error),
        drain: () => handlers.drain(),
        ...(handlers.progress ? { progress: () => handlers.progress() } : {}),
      });
    };
  }
}
