/**
 * How deep a value may nest to cross between workers. Decoders recurse, one stack frame or more per
 * level, and a worker thread has a larger stack (4 MiB) than a main thread (~1 MiB): a thread could
 * encode what the coordinator then fails to decode. Measured here (Node 20, msgpackr 2.1), objects
 * nested 3 000 deep left a thread and arrived; 4 000 left it and could not be decoded, and the channel
 * took that frame for garbage and ended. Structured clone is no different: Node hands a thread's uncaught
 * error to its parent by cloning it, and one holding data 10 000 deep overflows the parent's stack.
 * So a value is refused, as it is encoded, past a bound every side can decode with room to spare.
 */

import { toError } from '../errors.js';
import { unsendableReason } from './unsendable.js';

/** Levels of arrays, objects, Maps and Sets a message may nest, the message itself being level 0. */
export const MAX_NESTING_DEPTH = 1000;

/**
 * Objects cloneProblem's first walk visits at most: walking each occurrence costs far less than remembering
 * every object seen (a WeakSet lookup and insert per object), but a value sharing objects at every level
 * would take exponential time.
 */
const FIRST_WALK_VISITS = 1 << 21;

/**
 * Whether `value` nests containers deeper than `limit` levels below itself, for the codec. Recursive, but
 * never more than `limit` calls deep (the bound is far below any stack's). Leaves: primitives, binary data
 * (ArrayBuffer, its views), Dates. Every occurrence of an object is walked, as msgpackr encodes each (the
 * value has no cycle: msgpackr could not have encoded it). A getter or proxy that throws ends the walk:
 * not deeper.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  return walk(value, limit, { left: Number.POSITIVE_INFINITY }) !== undefined;
}

/**
 * What keeps `value` from being cloned to another thread and read there, worded to end a sentence ("… cannot
 * be sent: it holds a function"), or undefined: a function or a symbol in it (structured clone refuses them;
 * a pool thread's clone of its result fails after the task, and piscina then ends the thread with an error
 * the coordinator cannot rebuild), an object that must not be sent (a remote: the reason unsendable.ts
 * gives), a getter or proxy that throws, or nesting past `limit`. Structured clone sends a shared object
 * once and allows cycles, so an object reached again counts once: the value is first walked as
 * nestsDeeperThan walks it, within FIRST_WALK_VISITS, and walked again remembering what it saw only when
 * that walk finds it too deep (as a cycle looks) or too large.
 */
export function cloneProblem(value: unknown, limit: number): string | undefined {
  const first: Walk = { left: FIRST_WALK_VISITS, refuse: true };
  let found = walk(value, limit, first);
  if (found === undefined && first.left >= 0) return undefined;
  // Too deep, or too large to tell: walked again, remembering what it saw.
  if (found === undefined || found === TOO_DEEP) {
    found = walk(value, limit, { left: Number.POSITIVE_INFINITY, refuse: true, seen: new WeakSet() });
  }
  return found === TOO_DEEP ? `it nests deeper than ${limit} levels` : found;
}

/** What walk() answers for depth alone (or a walk that ran out of visits). */
const TOO_DEEP = 'too deep';

/**
 * What the walk found, or undefined. A getter or proxy that throws ends it: for depth alone nothing is
 * found; for what clone refuses, that throw is found (clone reads the same property, and would throw too).
 */
function walk(value: unknown, limit: number, state: Walk): string | undefined {
  try {
    return deeper(value, 0, limit, state) ? (state.found ?? TOO_DEEP) : undefined;
  } catch (error) {
    return state.refuse ? `reading it threw: ${thrownMessage(error)}` : undefined;
  }
}

/** A thrown value's message, as toError words it, never throwing itself (an error's `message` may be a getter). */
function thrownMessage(error: unknown): string {
  try {
    return toError(error).message;
  } catch {
    return 'an unprintable value';
  }
}

/**
 * A walk's state: visits left (one that runs out answers true: too deep, or too large to tell), objects
 * seen (`once`), whether functions and symbols are refused, and what was found if not depth.
 */
interface Walk {
  left: number;
  refuse?: boolean;
  seen?: WeakSet<object>;
  found?: string;
}

function deeper(node: unknown, depth: number, limit: number, state: Walk): boolean {
  if (typeof node !== 'object' || node === null) {
    if (state.refuse && (typeof node === 'function' || typeof node === 'symbol')) state.found = `it holds a ${typeof node}`;
    return state.found !== undefined;
  }
  if (depth > limit || --state.left < 0) return !isLeaf(node);
  const seen = state.seen;
  if (seen) {
    if (seen.has(node)) return false;
    seen.add(node);
  }
  const next = depth + 1;
  // Primitives are leaves: walked only to refuse functions and symbols.
  const all = state.refuse === true;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if ((all || (typeof child === 'object' && child !== null)) && deeper(child, next, limit, state)) return true;
    }
    return false;
  }
  if (isLeaf(node)) return false;
  // A remote is a plain object to clone, which would copy it as an empty one (unsendable.ts).
  if (all) {
    const unsendable = unsendableReason(node);
    if (unsendable !== undefined) {
      state.found = unsendable;
      return true;
    }
    // What structured clone refuses outright: a pool thread's result that holds one fails in piscina's
    // post, which ends the thread with no word of why.
    if (node instanceof WeakMap || node instanceof WeakSet || node instanceof WeakRef || node instanceof Promise) {
      state.found = `it holds a ${node instanceof Promise ? 'Promise' : node.constructor.name}`;
      return true;
    }
  }
  if (node instanceof Map) {
    for (const [key, child] of node) if (deeper(key, next, limit, state) || deeper(child, next, limit, state)) return true;
    return false;
  }
  if (node instanceof Set) {
    for (const child of node) if (deeper(child, next, limit, state)) return true;
    return false;
  }
  const children = Object.values(node);
  for (let i = 0; i < children.length; i++) {
    const child: unknown = children[i];
    if ((all || (typeof child === 'object' && child !== null)) && deeper(child, next, limit, state)) return true;
  }
  // msgpackr writes an error's cause and an AggregateError's errors too.
  if (!(node instanceof Error)) return false;
  if (deeper(node.cause, next, limit, state)) return true;
  return node instanceof AggregateError && deeper(node.errors, next, limit, state);
}

/** Binary data and Dates: objects that hold no further level. */
function isLeaf(node: object): boolean {
  return ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date;
}
