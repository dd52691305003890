/**
 * Objects that must never be encoded into a message, each with the reason the encoder gives. A remote (the
 * proxy to a worker) is the case: it stands for a channel of this thread, so the other side could do
 * nothing with it, and encoded as it is it would arrive as an empty object. The RPC layer registers its
 * remotes here; the codec refuses them (SerializationError), as it refuses a function, and so does the walk
 * of what goes to or comes from a pool thread by structured clone (nesting.ts, cloneProblem).
 */
const reasons = new WeakMap<object, string>();
/**
 * Whether anything was ever registered in this thread: a pool thread never makes a remote, and its walk
 * of each result (nesting.ts, cloneProblem) then skips a lookup per object (~10% of that walk).
 */
let any = false;

export function markUnsendable(object: object, reason: string): void {
  any = true;
  reasons.set(object, reason);
}

/** Why `object` cannot be sent, or undefined when it may be. */
export function unsendableReason(object: object): string | undefined {
  return any ? reasons.get(object) : undefined;
}
