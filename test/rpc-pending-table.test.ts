/**
 * The pending-call table (src/rpc/pending-table.ts): whatever the order replies come in, and however
 * long a call waits, each id finds its own entry exactly once; a stuck call does not make the array grow;
 * many long-pending calls do.
 */
import test from 'ava';
import fc from 'fast-check';
import { PendingTable } from '../src/rpc/pending-table.js';

const entry = (id: number) => ({ id });

test('property: against a Map, any interleaving of new ids and takes (in any order) agrees', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant('add' as const), fc.nat()), { maxLength: 3000 }),
      fc.integer({ min: 1, max: 6 }),
      (ops, log2) => {
        const table = new PendingTable<{ id: number }>(1 << log2);
        const model = new Map<number, { id: number }>();
        let next = 0;
        for (const op of ops) {
          if (op === 'add') {
            const e = entry(++next);
            table.set(e);
            model.set(e.id, e);
          } else {
            // Take a live id (picked by the op's number) or, one time in four, one never added or already taken.
            const ids = [...model.keys()];
            const id = ids.length > 0 && op % 4 !== 0 ? ids[op % ids.length]! : next + 1 + (op % 3);
            const expected = model.get(id);
            model.delete(id);
            if (table.take(id) !== expected) return false;
          }
          if (table.size !== model.size) return false;
        }
        const drained = table.drain();
        return (
          drained.length === model.size &&
          drained.every((e, i) => e === [...model.values()].sort((a, b) => a.id - b.id)[i]) &&
          table.size === 0
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('a take of an id already taken, or never added, finds nothing', (t) => {
  const table = new PendingTable<{ id: number }>(4);
  const a = entry(1);
  table.set(a);
  t.is(table.take(2), undefined);
  t.is(table.take(1), a);
  t.is(table.take(1), undefined);
  t.is(table.take(5), undefined, 'same slot as 1, never added');
  t.is(table.size, 0);
});

test('one call stuck while a million others come and go: found at the end, and it never made the array grow', (t) => {
  const table = new PendingTable<{ id: number }>(1024);
  const stuck = entry(1);
  table.set(stuck);
  for (let id = 2; id <= 1_000_000; id++) {
    table.set(entry(id));
    if (id > 101) table.take(id - 100);
  }
  t.is(table.size, 1 + 100);
  t.is(table.take(1), stuck);
  t.is(table.capacity, 1024, 'the stuck call lives on the side, not in a bigger array');
  t.is(table.drain().length, 100);
});

test('100k calls pending at once, answered newest first: every one found once', (t) => {
  const table = new PendingTable<{ id: number }>(1024);
  const all = Array.from({ length: 100_000 }, (_, i) => entry(i + 1));
  for (const e of all) table.set(e);
  t.is(table.size, 100_000);
  t.true(table.capacity >= 65_536, `grew to ${table.capacity} slots`);
  let found = 0;
  for (let i = all.length - 1; i >= 0; i--) if (table.take(all[i]!.id) === all[i]) found++;
  t.is(found, 100_000);
  t.is(table.size, 0);
});
