/**
 * Structural checks for decoded input. The codec turns bytes into values; this decides whether a value
 * is a message we handle. Anything else is a ProtocolError on that connection only.
 */
import { ProtocolError, describe } from '../errors.js';
import { Kind, type Message } from './messages.js';

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A duration in milliseconds: options take fractions (`timeoutMs: 50.5`). */
const isDuration = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function validateMessage(value: unknown): Message {
  if (!Array.isArray(value) || value.length === 0) throw bad('a message must be a non-empty array', value);
  const kind = value[0];
  switch (kind) {
    case Kind.Call:
      // One call, or a run of calls to one method with ids from `value[1]` on: `[Call, id, method, args, args, ...]`.
      if (
        value.length >= 4 &&
        isId(value[1]) &&
        isId(value[1] + (value.length - 4)) &&
        typeof value[2] === 'string' &&
        allArrays(value, 3)
      ) {
        return value as Message;
      }
      break;
    case Kind.Notify:
      // One notify, or a run of notifies to one method: `[Notify, method, args, args, ...]`.
      if (value.length >= 3 && typeof value[1] === 'string' && allArrays(value, 2)) return value as Message;
      break;
    case Kind.Reply:
      // One reply, or a run of replies to consecutive calls from `value[1]` on.
      if (value.length >= 3 && isId(value[1]) && isId(value[1] + (value.length - 3))) return value as Message;
      break;
    case Kind.Fault:
      if (value.length === 3 && isId(value[1]) && isWireError(value[2])) return value as Message;
      break;
    case Kind.Cancel:
      if (value.length === 4 && isId(value[1]) && isDuration(value[2]) && typeof value[3] === 'string') return value as Message;
      if (value.length === 2 && isId(value[1])) return value as Message;
      break;
    case Kind.Ping:
    case Kind.Pong:
    case Kind.Settled:
      if (value.length === 2 && isId(value[1])) return value as Message;
      break;
    case Kind.Goodbye:
      if (value.length === 1 || (value.length === 2 && isExitNotice(value[1]))) return value as Message;
      break;
    default:
      throw bad(`unknown message kind ${describe(kind)}`, value);
  }
  throw bad(`malformed message of kind ${String(kind)}`, value);
}

function allArrays(values: unknown[], from: number): boolean {
  for (let i = from; i < values.length; i++) if (!Array.isArray(values[i])) return false;
  return true;
}

function isExitNotice(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isInteger((v as { exitCode?: unknown }).exitCode) &&
    typeof (v as { crashed?: unknown }).crashed === 'boolean' &&
    ((v as { error?: unknown }).error === undefined || isWireError((v as { error?: unknown }).error))
  );
}

/** Deeper than any chain errorToWire builds (it stops at 8); a forged deeper one is refused. */
const MAX_WIRE_CAUSE_DEPTH = 32;

/** The whole shape errorFromWire relies on, down the cause chain: a forged fault must not throw there. */
function isWireError(v: unknown, depth = 0): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const w = v as Record<string, unknown>;
  return (
    typeof w.name === 'string' &&
    typeof w.message === 'string' &&
    (w.stack === undefined || typeof w.stack === 'string') &&
    (w.internal === undefined || typeof w.internal === 'string') &&
    (w.data === undefined || (typeof w.data === 'object' && w.data !== null)) &&
    (w.cause === undefined || (depth < MAX_WIRE_CAUSE_DEPTH && isWireError(w.cause, depth + 1)))
  );
}

function bad(what: string, value: unknown): ProtocolError {
  return new ProtocolError(`Invalid message: ${what}, got ${describe(value)}`);
}
