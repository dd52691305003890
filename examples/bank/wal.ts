// An append-only write-ahead log with group commit.
//
// Format: one record per line, `<crc32 as 8 hex digits> <json>\n`. A SIGKILL or power cut can leave the
// end of the log half-written; the checksum (not just the missing newline) tells a torn or garbled
// record from a good one. Damage with no intact record after it is a torn tail: nothing in it was
// acknowledged, because an append only resolves after the write *and* the fsync covering it, and the
// group being written is always the last one. Damage *followed* by intact records is something else
// (a bad sector, an edit): the records after it may have been acknowledged, so the log is refused
// rather than cut there.
//
// Group commit: every append made in one event-loop turn goes out as one write + one fdatasync. While
// that fsync runs, new appends gather into the next group, so a busy shard pays one fsync per group,
// not per record, and a lone append still goes out on the next turn.
import { closeSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, write } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

export interface WalReplay<R> {
  records: R[];
  /** Bytes after the last good record (a torn tail), dropped by `openWal`. */
  tornBytes: number;
}

/** Where a log is damaged with intact records after the damage: replaying or cutting it would lose them. */
export class WalCorruptError extends Error {
  readonly code = 'ERR_BANK_WAL_CORRUPT';
  readonly path: string;
  /** 1-based line number of the first damaged record. */
  readonly line: number;
  /** Byte offset where that record starts. */
  readonly offset: number;
  /** Intact records found after the damage. */
  readonly intactAfter: number;

  constructor(path: string, damage: WalDamage) {
    super(
      `WAL ${path} is damaged at line ${damage.line} (byte ${damage.offset}) and ${damage.intactAfter} intact record(s) follow: ` +
        'they may have been acknowledged, so the log is refused rather than cut there. Restore the file from a copy, or move it aside to start over.',
    );
    this.path = path;
    this.line = damage.line;
    this.offset = damage.offset;
    this.intactAfter = damage.intactAfter;
  }
}

export interface WalDamage {
  line: number;
  offset: number;
  intactAfter: number;
}

export interface WalStats {
  appends: number;
  /** write+fsync rounds; appends / flushes is the group-commit factor. */
  flushes: number;
  bytes: number;
}

/** The error every append rejects with once the log has failed or been closed. */
export class WalClosedError extends Error {
  readonly code = 'ERR_BANK_WAL_CLOSED';
}

const encode = (record: unknown): string => {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
};

/** The record on the line `buf[start, end)`, or undefined if its checksum or JSON is bad. */
function decodeLine<R>(buf: Buffer, start: number, end: number): R | undefined {
  const line = buf.toString('utf8', start, end);
  const json = line.slice(9);
  if (line[8] !== ' ' || line.slice(0, 8) !== crc32(json).toString(16).padStart(8, '0')) return undefined;
  try {
    return JSON.parse(json) as R;
  } catch {
    return undefined; // checksum matched garbage: never guess
  }
}

/** `[start, end)` of every newline-terminated line from `from` on (a last line with no newline is left out). */
function* lines(buf: Buffer, from: number): Generator<[number, number]> {
  for (let nl = buf.indexOf(0x0a, from); nl >= 0; from = nl + 1, nl = buf.indexOf(0x0a, from)) yield [from, nl];
}

/**
 * Parses a log image: the good records, the byte offset where the good prefix ends, and `damage` when
 * intact records follow the first bad one (so what comes after the prefix is not a torn tail).
 */
export function parseWal<R>(buf: Buffer): { records: R[]; goodBytes: number; damage?: WalDamage } {
  const records: R[] = [];
  let goodBytes = 0;
  for (const [start, end] of lines(buf, 0)) {
    const record = decodeLine<R>(buf, start, end);
    if (record === undefined) break;
    records.push(record);
    goodBytes = end + 1;
  }
  let intactAfter = 0;
  for (const [start, end] of lines(buf, goodBytes)) if (start > goodBytes && decodeLine(buf, start, end) !== undefined) intactAfter++;
  if (intactAfter === 0) return { records, goodBytes };
  return { records, goodBytes, damage: { line: records.length + 1, offset: goodBytes, intactAfter } };
}

/**
 * Reads a log without changing it (the checker reads logs this way). A missing file is empty; damage
 * with intact records after it throws WalCorruptError.
 */
export function readWal<R>(path: string): WalReplay<R> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], tornBytes: 0 };
    throw e;
  }
  const { records, goodBytes, damage } = parseWal<R>(buf);
  if (damage) throw new WalCorruptError(path, damage);
  return { records, tornBytes: buf.length - goodBytes };
}

/**
 * Opens (creating if needed) a log for appending and replays it. Synchronous on purpose: a worker
 * rebuilds its state from the log before it answers its first message, with no async init step.
 * A torn tail is cut off, so new records never follow garbage; a log damaged before intact records
 * throws WalCorruptError and is left untouched.
 */
export function openWal<R>(path: string): { wal: Wal<R>; replay: WalReplay<R> } {
  const replay = readWal<R>(path);
  const fd = openSync(path, 'a'); // O_APPEND: every write lands at the end, whatever the offset
  if (replay.tornBytes > 0) {
    ftruncateSync(fd, fstatSync(fd).size - replay.tornBytes);
    fsyncSync(fd);
  }
  // A new file's directory entry must be durable too, or a crash could lose the whole log.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return { wal: new Wal<R>(fd, path), replay };
}

interface Group {
  lines: string[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {}); // callers that don't await an append must not cause an unhandled rejection
  return { lines: [], done, resolve, reject };
}

const writeAll = (fd: number, buf: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    const step = (offset: number): void =>
      write(fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err) reject(err);
        else if (offset + n < buf.length)
          step(offset + n); // short writes are legal; finish them
        else resolve();
      });
    step(0);
  });

const datasync = (fd: number): Promise<void> => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));

export class Wal<R> {
  readonly path: string;
  #fd: number;
  #open: Group = newGroup();
  #inFlight: Group | undefined;
  #scheduled = false;
  #failed: Error | undefined;
  #stats: WalStats = { appends: 0, flushes: 0, bytes: 0 };
  #fdIsClosed!: () => void;
  #fdClosed = new Promise<void>((resolve) => (this.#fdIsClosed = resolve));

  constructor(fd: number, path: string) {
    this.#fd = fd;
    this.path = path;
  }

  /** Appends a record; resolves once it is on disk (written and fdatasync'ed). */
  append(record: R): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    const group = this.#open;
    group.lines.push(encode(record));
    this.#stats.appends++;
    this.#schedule();
    return group.done;
  }

  /** Resolves once everything appended so far is durable: a barrier that appends nothing. */
  flushed(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#open.lines.length > 0) return this.#open.done;
    return this.#inFlight?.done ?? Promise.resolve();
  }

  stats(): WalStats {
    return { ...this.#stats };
  }

  /** Flushes what is pending, then closes the file. */
  async close(): Promise<void> {
    await this.flushed().catch(() => {});
    this.#fail(new WalClosedError(`WAL ${this.path} is closed`));
  }

  /**
   * Drops the unflushed group and closes, as a SIGKILL would: records appended but not yet written are
   * lost and their appends reject. For crash tests. Resolves once the file is closed: a write already
   * under way still lands, as the write a killed process was in does, and the process is gone only after
   * it. A successor that opens the log before then could miss a record that lands behind its replay.
   */
  crash(): Promise<void> {
    this.#fail(new WalClosedError(`WAL ${this.path} crashed`));
    return this.#fdClosed;
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#open.reject(err);
    // Never close under an in-flight write: the fd number could be reused by the next open and the
    // write would land in someone else's file. The flush closes it when it returns.
    if (!this.#inFlight) this.#closeFd();
  }

  #closeFd(): void {
    closeSync(this.#fd);
    this.#fdIsClosed();
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return; // an in-flight flush picks the group up when done
    this.#scheduled = true;
    // setImmediate, not a microtask: it lets the whole turn's appends (from every handler that ran
    // in this turn, including ones resumed by I/O) join the group.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    const group = this.#open;
    this.#open = newGroup();
    if (group.lines.length === 0 || this.#failed) return;
    this.#inFlight = group;
    try {
      const buf = Buffer.from(group.lines.join(''));
      await writeAll(this.#fd, buf);
      await datasync(this.#fd);
      this.#stats.flushes++;
      this.#stats.bytes += buf.length;
    } catch (e) {
      // Fail-stop: after a failed write or fsync nothing can be promised about the file.
      const err = this.#failed ?? new WalClosedError(`WAL ${this.path} failed: ${(e as Error).message}`, { cause: e });
      this.#inFlight = undefined;
      group.reject(err);
      if (this.#failed) this.#closeFd();
      else this.#fail(err);
      return;
    }
    this.#inFlight = undefined;
    if (this.#failed) {
      // Crashed while this group was being written: the bytes may be on disk, but a dead process
      // would never have seen the fsync return, so neither does the caller.
      group.reject(this.#failed);
      this.#closeFd();
      return;
    }
    group.resolve();
    if (this.#open.lines.length > 0) this.#schedule();
  }
}
