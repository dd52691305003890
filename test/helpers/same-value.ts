import { isDeepStrictEqual } from 'node:util';

/**
 * Whether two values are the same as a receiver can tell: the same prototype, the same own keys in the
 * same order (symbols, `length` and extra properties of arrays included), every one a data property with
 * the same enumerability, and leaves equal by Object.is (so -0 is not 0). Other than plain objects and
 * arrays, values are compared by `isDeepStrictEqual`.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  const prototype = Object.getPrototypeOf(a);
  if (prototype !== Object.getPrototypeOf(b)) return false;
  if (prototype !== Object.prototype && prototype !== Array.prototype) return isDeepStrictEqual(a, b);
  const keys = Reflect.ownKeys(a);
  const otherKeys = Reflect.ownKeys(b);
  if (keys.length !== otherKeys.length || keys.some((key, i) => key !== otherKeys[i])) return false;
  return keys.every((key) => {
    const own = Object.getOwnPropertyDescriptor(a, key)!;
    const other = Object.getOwnPropertyDescriptor(b, key)!;
    return 'value' in own && 'value' in other && own.enumerable === other.enumerable && sameValue(own.value, other.value);
  });
}
