/**
 * The page's per-channel history (dashboard/pair-history.js, plain browser JavaScript with no DOM in it):
 * a run of equal readings is kept as its two ends, and what is kept still charts every reading exactly;
 * memory grows with what changes, not with channels × readings; the window drops what is older.
 */
import test from 'ava';
import fc from 'fast-check';
import { repoFile } from './helpers/repo.js';

type Figures = Record<string, number | null>;
type Point = Figures & { at: number };
interface PairHistory {
  points(key: string): Point[];
  readonly size: number;
  record(at: number, readings: Map<string, Figures>): void;
}

const { FIELDS, PairHistory } = (await import(repoFile('dashboard/pair-history.js').href)) as {
  FIELDS: string[];
  PairHistory: new (windowMs: number) => PairHistory;
};

const idle: Figures = { callsPerSec: 0, notifiesPerSec: 0, faultsPerSec: 0, bytesPerSec: 0, inFlight: 0, queuedBytes: 0 };
const figures = (calls: number, inFlight: number | null = 0): Figures => ({ ...idle, callsPerSec: calls, inFlight });
const valuesOf = (point: Figures) => FIELDS.map((f) => point[f]);

/** What a chart through `points` shows at `at`: the point there, or the line between its neighbours. */
function chartedAt(points: Point[], at: number): (number | null)[] | undefined {
  const after = points.findIndex((p) => p.at >= at);
  if (after < 0) return undefined;
  const b = points[after]!;
  if (b.at === at) return valuesOf(b);
  const a = points[after - 1];
  if (!a) return undefined;
  // Only a flat run loses points, so a line between two kept points that crosses a reading is flat.
  return JSON.stringify(valuesOf(a)) === JSON.stringify(valuesOf(b)) ? valuesOf(a) : undefined;
}

test('an idle channel keeps two points however long it is read, spanning every reading', (t) => {
  const history = new PairHistory(300_000);
  for (let at = 1000; at <= 200_000; at += 1000) history.record(at, new Map([['a\u0000b', idle]]));
  const points = history.points('a\u0000b');
  t.deepEqual(
    points.map((p) => p.at),
    [1000, 200_000],
  );
  t.deepEqual(chartedAt(points, 57_000), valuesOf(idle));
});

test('a change starts a new run: the run before it keeps its end, the change its own point', (t) => {
  const history = new PairHistory(300_000);
  const key = 'a\u0000b';
  for (const [at, calls] of [
    [1, 0],
    [2, 0],
    [3, 0],
    [4, 5],
    [5, 5],
    [6, 7],
  ] as const) {
    history.record(at, new Map([[key, figures(calls)]]));
  }
  t.deepEqual(
    history.points(key).map((p) => [p.at, p.callsPerSec]),
    [
      [1, 0],
      [3, 0],
      [4, 5],
      [5, 5],
      [6, 7],
    ],
  );
});

test('null gauges (a direction read on its receiving side) are compared like numbers', (t) => {
  const history = new PairHistory(300_000);
  for (let at = 1; at <= 10; at++) history.record(at, new Map([['w\u0000coordinator', figures(3, null)]]));
  const points = history.points('w\u0000coordinator');
  t.is(points.length, 2);
  t.is(points[1]!.inFlight, null);
});

test('what is kept charts every reading in the window exactly (random runs of readings)', (t) => {
  const reading = fc.record({
    calls: fc.constantFrom(0, 0, 0, 1, 2.5),
    inFlight: fc.constantFrom(0, null, 3),
    repeat: fc.integer({ min: 1, max: 30 }),
    gapMs: fc.integer({ min: 1, max: 3000 }),
  });
  fc.assert(
    fc.property(fc.array(reading, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1000, max: 60_000 }), (readings, windowMs) => {
      const history = new PairHistory(windowMs);
      const taken: Point[] = [];
      let at = 0;
      for (const { calls, inFlight, repeat, gapMs } of readings) {
        for (let i = 0; i < repeat; i++) {
          at += gapMs;
          const read = figures(calls, inFlight);
          history.record(at, new Map([['k', read]]));
          taken.push({ at, ...read });
        }
      }
      const points = history.points('k');
      for (const point of taken) {
        if (point.at < at - windowMs) continue;
        if (JSON.stringify(chartedAt(points, point.at)) !== JSON.stringify(valuesOf(point))) return false;
      }
      // Nothing older than the window is kept, and the latest reading is the last point.
      return points.every((p) => p.at >= at - windowMs) && points.at(-1)?.at === at;
    }),
  );
  t.pass();
});

test('a mostly idle mesh: memory grows with what changes, not with channels × readings', (t) => {
  const history = new PairHistory(300_000);
  const keys = Array.from({ length: 2000 }, (_, i) => `w-${i}\u0000w-${i + 1}`);
  for (let at = 1000; at <= 300_000; at += 1000) {
    // One busy channel whose rate changes every reading; the others idle.
    history.record(at, new Map(keys.map((key, i) => [key, i === 0 ? figures(at % 7) : idle])));
  }
  t.is(history.points(keys[0]!).length, 300, 'the busy channel keeps every reading');
  t.is(history.size, 300 + 2 * (keys.length - 1));
});

test('the window drops what is older, cuts a flat run at its start, and forgets a channel no longer read', (t) => {
  const history = new PairHistory(10_000);
  for (let at = 1000; at <= 30_000; at += 1000) {
    const readings = new Map([['idle', idle]]);
    // "closed" is read until 5 s, "busy" every reading with a new rate.
    if (at <= 5000) readings.set('closed', figures(1));
    readings.set('busy', figures(at));
    history.record(at, readings);
  }
  t.deepEqual(
    history.points('idle').map((p) => p.at),
    [20_000, 30_000],
  );
  t.deepEqual(
    history.points('busy').map((p) => p.at),
    Array.from({ length: 11 }, (_, i) => 20_000 + i * 1000),
  );
  t.deepEqual(history.points('closed'), []);
  t.is(history.size, 2 + 11);
});
