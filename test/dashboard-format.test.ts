/** The page's number formats (dashboard/format.js, plain JavaScript served as is), checked outside a browser. */
import test from 'ava';
import { repoFile } from './helpers/repo.js';

const { bytes, rate } = (await import(repoFile('dashboard/format.js').href)) as {
  bytes(n: number | null): string;
  rate(n: number | null): string;
};

test('bytes: whole below 1000, fractions of a rate below 10 with one decimal, SI above', (t) => {
  t.is(bytes(0), '0 B');
  t.is(bytes(5), '5 B');
  t.is(bytes(512), '512 B');
  t.is(bytes(123.4), '123 B');
  t.is(bytes(1500), '1.5kB');
  t.is(bytes(null), '–');
  // An idle chart's axis ticks 0, 0.5 and 1: they read "0 B, 1 B, 1 B" before.
  t.deepEqual([0, 0.5, 1].map(bytes), ['0 B', '0.5 B', '1 B']);
  t.is(bytes(0.5), `${rate(0.5)} B`, 'as a rate reads its fractions');
});
