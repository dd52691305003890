/**
 * Unknown option names are errors: from JavaScript a misspelt `heartbeatTimeoutMS`, or a field from a
 * newer version, would otherwise be ignored without a word. The error names the key and the closest
 * known one.
 */

/** Throws a TypeError for the first own key of `value` not in `known`, naming the closest known key. */
export function rejectUnknownKeys(value: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const closest = closestKey(key, known);
    throw new TypeError(`Unknown option \`${key}\` in ${where}${closest ? `; did you mean \`${closest}\`?` : ''}`);
  }
}

/** The known key nearest to `key` (case-insensitive edit distance), if any is near enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits, or a third of a long name; never half of it: `sever` is a typo of `servers`, `foo` is not one of `pool`.
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) && bestDistance < key.length / 2 ? best : undefined;
}

/**
 * Edits (insert, delete, replace, or swap two neighbours) from `a` to `b`: the optimal string alignment
 * distance. A swap counts as one edit, as a typist makes it (`kidn` for `kind`), not as two replacements.
 */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, beforePrevious[j - 2]! + 1);
      current[j] = distance;
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}
