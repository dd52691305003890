/**
 * Objects that must never be encoded into a message, each with the reason the encoder gives. A remote (the
 * proxy to a worker) is the case: it stands for a channel of this thread, so the other side could do
 * nothing with it, and encoded as it is it would arrive as an empty object. The RPC layer registers its
 * remotes here; the codec refuses them (SerializationError), as it refuses a function.
 */
import { isProxy } from 'node:util/types';

const reasons = new WeakMap<object, string>();

export function markUnsendable(object: object, reason: string): void {
  reasons.set(object, reason);
}

/** Why `object` cannot be sent, or undefined when it may be. */
export function unsendableReason(object: object): string | undefined {
  return reasons.get(object);
}

/**
 * Annex B's `__lookupGetter__`: whether an own property is an accessor, without allocating a descriptor
 * (see plain.ts).
 */
const lookupGetter = (Object.prototype as { __lookupGetter__(key: PropertyKey): unknown }).__lookupGetter__;

/**
 * Why `value`, or anything structured clone would copy with it, cannot be sent; undefined when nothing in
 * it is registered here. For the paths that clone instead of encoding (the piscina pool), where a remote
 * would otherwise arrive as an empty object: its methods are not enumerable. It walks what clone copies —
 * array elements, own enumerable properties, Map and Set entries — each object once (clone keeps cycles),
 * with a stack of its own, not recursion (a deep value is clone's to refuse). Proxies and accessors are not
 * entered: that would run their code one time more than clone does, and clone refuses a Proxy itself.
 */
export function unsendableWithin(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const seen = new Set<object>();
  const stack: object[] = [value];
  const push = (item: unknown): void => {
    if (typeof item === 'object' && item !== null) stack.push(item);
  };
  while (stack.length > 0) {
    const object = stack.pop()!;
    if (seen.has(object) || ArrayBuffer.isView(object) || isProxy(object)) continue;
    seen.add(object);
    const reason = reasons.get(object);
    if (reason !== undefined) return reason;
    if (Array.isArray(object)) {
      // By index: the keys of a long array would be a string each.
      for (let i = 0; i < object.length; i++) push(object[i]);
    } else if (object instanceof Map) {
      for (const [key, item] of object) {
        push(key);
        push(item);
      }
    } else if (object instanceof Set) {
      for (const item of object) push(item);
    } else {
      for (const key of Object.keys(object)) {
        if (lookupGetter.call(object, key) === undefined) push((object as Record<string, unknown>)[key]);
      }
    }
  }
  return undefined;
}
