/**
 * How deep a value may nest to cross between workers. Decoders recurse, one stack frame or more per
 * level, and a worker thread has a larger stack (4 MiB) than a main thread (~1 MiB): a thread could
 * encode what the coordinator then fails to decode. Measured here (Node 20, msgpackr 2.1), objects
 * nested 3 000 deep left a thread and arrived; 4 000 left it and could not be decoded, and the channel
 * took that frame for garbage and ended. Structured clone is no different: Node hands a thread's uncaught
 * error to its parent by cloning it, and one holding data 10 000 deep overflows the parent's stack.
 * So a value is refused, as it is encoded, past a bound every side can decode with room to spare.
 */

/** Levels of arrays, objects, Maps and Sets a message may nest, the message itself being level 0. */
export const MAX_NESTING_DEPTH = 1000;

/**
 * Objects a first walk for `once` visits at most: walking each occurrence is ~7× cheaper than remembering
 * every object seen, but a value sharing objects at every level would take exponential time.
 */
const FIRST_WALK_VISITS = 1 << 21;

/**
 * Whether `value` nests containers deeper than `limit` levels below itself. Recursive, but never more
 * than `limit` calls deep (the bound is far below any stack's). Leaves: primitives, binary data
 * (ArrayBuffer, its views), Dates. Without `once`, every occurrence of an object is walked, as msgpackr
 * encodes each (the value then has no cycle: msgpackr could not have encoded it). With `once` (for
 * structured clone, which sends a shared object once and allows cycles), an object reached again is not
 * walked again: a value is first walked as without it, within FIRST_WALK_VISITS, and walked again
 * remembering what it saw only when that walk finds it too deep (as a cycle looks) or too large. A getter
 * or proxy that throws ends the walk: not deeper.
 */
export function nestsDeeperThan(value: unknown, limit: number, once = false): boolean {
  try {
    if (!once) return deeper(value, 0, limit, undefined, { left: Number.POSITIVE_INFINITY });
    const first = { left: FIRST_WALK_VISITS };
    if (!deeper(value, 0, limit, undefined, first) && first.left >= 0) return false;
    return deeper(value, 0, limit, new WeakSet(), { left: Number.POSITIVE_INFINITY });
  } catch {
    return false;
  }
}

/** Visits left; a walk that runs out answers true (too deep, or too large to tell). */
interface Budget {
  left: number;
}

function deeper(node: unknown, depth: number, limit: number, seen: WeakSet<object> | undefined, budget: Budget): boolean {
  if (typeof node !== 'object' || node === null) return false;
  if (depth > limit || --budget.left < 0) return !(ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date);
  if (seen) {
    if (seen.has(node)) return false;
    seen.add(node);
  }
  const next = depth + 1;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (typeof child === 'object' && child !== null && deeper(child, next, limit, seen, budget)) return true;
    }
    return false;
  }
  if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date) return false;
  if (node instanceof Map) {
    for (const [key, child] of node) if (deeper(key, next, limit, seen, budget) || deeper(child, next, limit, seen, budget)) return true;
    return false;
  }
  if (node instanceof Set) {
    for (const child of node) if (deeper(child, next, limit, seen, budget)) return true;
    return false;
  }
  const children = Object.values(node);
  for (let i = 0; i < children.length; i++) {
    const child: unknown = children[i];
    if (typeof child === 'object' && child !== null && deeper(child, next, limit, seen, budget)) return true;
  }
  // msgpackr writes an error's cause and an AggregateError's errors too.
  if (!(node instanceof Error)) return false;
  if (deeper(node.cause, next, limit, seen, budget)) return true;
  return node instanceof AggregateError && deeper(node.errors, next, limit, seen, budget);
}
