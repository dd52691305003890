// Each channel direction's readings over the last minutes, for the pair dialog to chart.
//
// A large mesh is mostly idle channels, and an idle channel reads the same every time: 128 workers with
// every pair open kept 16 000 histories of identical points, and the page's heap grew by ~1.4 MB a second
// until the window was full. So a run of equal readings is kept as its first and last point: a chart
// draws the same flat line through two points as through three hundred, and the page's memory grows with
// what changes, not with pairs × readings.

export const FIELDS = ['callsPerSec', 'notifiesPerSec', 'faultsPerSec', 'bytesPerSec', 'inFlight', 'queuedBytes'];

function same(a, b) {
  for (const f of FIELDS) if (a[f] !== b[f]) return false;
  return true;
}

export class PairHistory {
  #windowMs;
  /** key → points, oldest first: `{ at, ...FIELDS }`. */
  #points = new Map();

  constructor(windowMs) {
    this.#windowMs = windowMs;
  }

  /** The points kept for `key`, oldest first (empty if none). */
  points(key) {
    return this.#points.get(key) ?? [];
  }

  /** How many points are kept in all. */
  get size() {
    let total = 0;
    for (const points of this.#points.values()) total += points.length;
    return total;
  }

  /** Adds one reading taken at `at`: `readings` maps each key read to its figures (a number or null each). */
  record(at, readings) {
    const oldest = at - this.#windowMs;
    for (const [key, reading] of readings) {
      let points = this.#points.get(key);
      if (!points) this.#points.set(key, (points = []));
      const last = points.at(-1);
      if (last && last.at >= at) continue;
      // The middle of a run of equal readings adds nothing to a chart: move the run's end instead.
      if (last && points.length >= 2 && same(last, reading) && same(points.at(-2), reading)) last.at = at;
      else {
        const point = { at };
        for (const f of FIELDS) point[f] = reading[f];
        points.push(point);
      }
      trim(points, oldest);
    }
    // A channel that closed is read no more: its points go once the window has passed them.
    for (const [key, points] of this.#points) {
      if (readings.has(key)) continue;
      trim(points, oldest);
      if (points.length === 0) this.#points.delete(key);
    }
  }
}

/** Drops the points older than `oldest`; a flat run that crosses it is cut there, not dropped. */
function trim(points, oldest) {
  while (points.length > 0 && points[0].at < oldest) {
    if (points.length > 1 && points[1].at > oldest && same(points[0], points[1])) {
      points[0].at = oldest;
      return;
    }
    points.shift();
  }
}
