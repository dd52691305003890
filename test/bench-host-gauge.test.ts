// bench/host-gauge.ts: a reading of what the host gives (a raw round trip on one CPU), and a run that
// goes on without it where it cannot be taken.
import test from 'ava';
import { formatGaugeRange, gaugeRange, readGauge } from '../bench/host-gauge.js';

test.serial('a reading is the p50 of a raw MessagePort round trip on one CPU, in microseconds', async (t) => {
  const reading = await readGauge('calls/coord-thread');
  t.is(reading.before, 'calls/coord-thread');
  // A round trip between two threads takes microseconds to tens of them (~27 µs here), never under 1 µs.
  t.true(reading.p50 !== undefined && reading.p50 > 1 && reading.p50 < 5000, `p50 ${reading.p50}`);
});

test.serial('without taskset the reading has no figure, and nothing throws', async (t) => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    t.deepEqual(await readGauge('end'), { before: 'end' });
  } finally {
    process.env.PATH = path;
  }
});

test('the range covers the readings that have a figure, and is absent when none has', (t) => {
  t.deepEqual(gaugeRange([{ before: 'a', p50: 27.1 }, { before: 'b' }, { before: 'end', p50: 38.4 }]), { min: 27.1, max: 38.4 });
  t.is(gaugeRange([{ before: 'a' }]), undefined);
  t.is(gaugeRange([]), undefined);
});

test('the range as printed: one decimal, in µs; nothing when no reading has a figure', (t) => {
  t.is(
    formatGaugeRange([
      { before: 'a', p50: 27.14 },
      { before: 'end', p50: 38.45 },
    ]),
    '27.1–38.5 µs',
  );
  t.is(formatGaugeRange([{ before: 'a' }]), undefined);
});
