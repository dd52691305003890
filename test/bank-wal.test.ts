import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { openWal, readWal, WalCorruptError } from '../examples/bank/wal.js';
import { tempDir } from './helpers/bank.js';

test('appends of one turn share one write+fsync, and replay returns them in order', async (t) => {
  const path = join(tempDir(t), 'a.wal');
  const { wal, replay } = openWal<{ n: number }>(path);
  t.deepEqual(replay.records, []);
  const done = Array.from({ length: 100 }, (_, n) => wal.append({ n }));
  await Promise.all(done);
  t.is(wal.stats().appends, 100);
  t.is(wal.stats().flushes, 1);
  // Appends made while a flush is in flight form the next group, not 100 more fsyncs.
  const first = wal.append({ n: 100 });
  await new Promise((r) => setImmediate(r));
  const more = Array.from({ length: 50 }, (_, i) => wal.append({ n: 101 + i }));
  await Promise.all([first, ...more]);
  t.true(wal.stats().flushes <= 3);
  await wal.close();
  t.deepEqual(
    readWal<{ n: number }>(path).records.map((r) => r.n),
    Array.from({ length: 151 }, (_, n) => n),
  );
});

test('flushed() is a barrier over earlier appends and resolves at once when idle', async (t) => {
  const { wal } = openWal<{ n: number }>(join(tempDir(t), 'b.wal'));
  await wal.flushed();
  let durable = false;
  void wal.append({ n: 1 }).then(() => (durable = true));
  await wal.flushed();
  t.true(durable);
  await wal.close();
});

test('a torn last record (no newline) is dropped and cut off, later appends replay cleanly', async (t) => {
  const path = join(tempDir(t), 'c.wal');
  const { wal } = openWal<{ n: number }>(path);
  await Promise.all([wal.append({ n: 1 }), wal.append({ n: 2 })]);
  await wal.close();
  const good = statSync(path).size;
  appendFileSync(path, '1234abcd {"n":3'); // a write cut short by SIGKILL
  t.deepEqual(readWal(path), { records: [{ n: 1 }, { n: 2 }], tornBytes: 15 });

  const again = openWal<{ n: number }>(path);
  t.is(again.replay.tornBytes, 15);
  t.is(statSync(path).size, good, 'the torn tail is truncated');
  await again.wal.append({ n: 4 });
  await again.wal.close();
  t.deepEqual(readWal<{ n: number }>(path).records, [{ n: 1 }, { n: 2 }, { n: 4 }]);
});

test('a complete-looking last line with a bad checksum is also torn', async (t) => {
  const path = join(tempDir(t), 'd.wal');
  const { wal } = openWal<{ n: number }>(path);
  await wal.append({ n: 1 });
  await wal.close();
  const text = readFileSync(path, 'utf8');
  // Same length, one flipped digit: what a partially persisted page can look like.
  writeFileSync(path, text + text.replace('"n":1', '"n":7'));
  const { records, tornBytes } = readWal<{ n: number }>(path);
  t.deepEqual(records, [{ n: 1 }]);
  t.is(tornBytes, text.length);
});

test('damage in the middle of the log is refused, not truncated: acknowledged records after it must not vanish', async (t) => {
  const path = join(tempDir(t), 'm.wal');
  const { wal } = openWal<{ n: number }>(path);
  for (let n = 1; n <= 4; n++) await wal.append({ n }); // each acknowledged
  await wal.close();
  const text = readFileSync(path, 'utf8');
  const damaged = text.replace('"n":2', '"n":9'); // line 2 rots; lines 3 and 4 stay intact
  writeFileSync(path, damaged);

  for (const open of [() => openWal(path), () => readWal(path)]) {
    const err = t.throws(open, { instanceOf: WalCorruptError });
    t.is(err?.code, 'ERR_BANK_WAL_CORRUPT');
    t.like(err, { path, line: 2, offset: text.indexOf('\n') + 1, intactAfter: 2 });
    t.true(err?.message.includes(path) && err.message.includes('line 2'), err?.message);
  }
  t.is(readFileSync(path, 'utf8'), damaged, 'the file is left as it was');
});

test('several damaged lines at the end, with nothing intact after them, are still a torn tail', async (t) => {
  const path = join(tempDir(t), 'n.wal');
  const { wal } = openWal<{ n: number }>(path);
  await wal.append({ n: 1 });
  await wal.close();
  const good = readFileSync(path, 'utf8');
  writeFileSync(path, `${good}00000000 {"n":2}\n1234abcd {"n`);
  const again = openWal<{ n: number }>(path);
  t.deepEqual(again.replay.records, [{ n: 1 }]);
  t.is(readFileSync(path, 'utf8'), good);
  await again.wal.close();
});

test('crash() loses the unflushed group and rejects its appends; what was acknowledged survives', async (t) => {
  const path = join(tempDir(t), 'e.wal');
  const { wal } = openWal<{ n: number }>(path);
  await wal.append({ n: 1 });
  const lost = wal.append({ n: 2 });
  wal.crash();
  const err = await t.throwsAsync(lost);
  t.is((err as Error & { code?: string }).code, 'ERR_BANK_WAL_CLOSED');
  await t.throwsAsync(wal.append({ n: 3 }));
  t.deepEqual(readWal<{ n: number }>(path).records, [{ n: 1 }]);
});

test('crash() under a write settles once that write has returned: a log reopened then holds it, as after a killed process exits', async (t) => {
  const path = join(tempDir(t), 'f.wal');
  const { wal } = openWal<{ n: number }>(path);
  const written = wal.append({ n: 1 });
  await new Promise((resolve) => setImmediate(resolve)); // its group is being written now
  const lost = wal.append({ n: 2 });
  const order: string[] = [];
  void written.catch(() => order.push('the write returned'));
  await wal.crash().then(() => order.push('gone'));
  t.deepEqual(order, ['the write returned', 'gone']);
  t.deepEqual(readWal<{ n: number }>(path).records, [{ n: 1 }]);
  // Neither append is acknowledged: a killed process never saw its fsync return.
  await t.throwsAsync(written, { code: 'ERR_BANK_WAL_CLOSED' });
  await t.throwsAsync(lost, { code: 'ERR_BANK_WAL_CLOSED' });
});

test('a missing log reads as empty', (t) => {
  t.deepEqual(readWal(join(tempDir(t), 'nope.wal')), { records: [], tornBytes: 0 });
});
