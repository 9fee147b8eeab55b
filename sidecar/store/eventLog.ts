import { close, constants, fdatasync, fstat, fsync, ftruncate, ftruncateSync, open, read, stat, write } from "node:fs";
import path from "node:path";
import { ChainCheck, decodeLine, encodeRecord, GENESIS_HASH, MAX_RECORD_BYTES, scanLines, type LogRecord } from "./recordCodec";
import { isoTime } from "./isoTime";

export { GENESIS_HASH, type LogRecord } from "./recordCodec";

/** The event log's file name inside the state directory (`<state dir>/events.jsonl`). */
export const EVENT_LOG_FILE = "events.jsonl";

export interface Appended {
  seq: number;
  /** Byte offset of the record's line in the file: what `read` takes. */
  offset: number;
  hash: string;
  /** The record's `ts`, so callers can build the exact record that is on disk without reading it back. */
  ts: string;
  /**
   * Resolves once the record is written and fdatasync'ed (with `sync: false`: once written). Rejects when the
   * write or sync of its batch failed; the rejection is pre-handled, so a caller that does not wait cannot
   * crash the process with an unhandled rejection — the log is poisoned anyway and the next append throws.
   * A rejected record is "not acknowledged", not "certainly absent": it may survive in the page cache.
   * Every record of one batch shares the same promise.
   */
  durable: Promise<void>;
  /**
   * Set on a lazy record appended while LAZY_FLUSH_RECORDS lazy records were already waiting to be written:
   * resolves once this record is written (rejects as `durable` does). A caller that acknowledges lazy
   * records before they are written must await it before acknowledging this one; then at most
   * LAZY_FLUSH_RECORDS acknowledged records are ever unwritten, however busy the process is.
   */
  backlog?: Promise<void>;
}

export interface AppendOptions {
  /**
   * Defer the write, and do not fdatasync for it: `durable` then means "written" (it survives the process
   * being killed; the next durable append, or close, syncs it to the disk). For records nobody waits on —
   * e.g. a plain allow decision — so the hot path pays neither a write nor a sync per call. A lazy record is
   * written with the next batch (a non-lazy append flushes in the next turn, and batches follow each other
   * while writes are going on), at the latest once LAZY_FLUSH_RECORDS lazy records are unwritten (the append
   * that makes them that many starts the write) or LAZY_FLUSH_MS after the first (a timer: late when the
   * event loop or the CPU is busy). Beyond LAZY_FLUSH_RECORDS unwritten ones, a lazy append gets a `backlog`
   * to await before acknowledging: backpressure instead of an unbounded backlog.
   *
   * So a killed process loses at most LAZY_FLUSH_RECORDS acknowledged lazy records, whatever the load, when
   * callers honour `backlog`: the count is the bound. How long before the kill they were answered is not
   * bounded — a process the CPU does not run writes nothing. Measured by bench/crashWindow.bench.ts (`npm run
   * bench -- crash`; 50 agents, 8 SIGKILLs at random moments per scenario, 2-core machine at load ≈ 3.5): at
   * most 14 acknowledged allows lost per kill, answered at most 1.3 ms before it (17 / 1.1 ms with events
   * ingested; 31 / 12.6 ms with 4 CPU hogs). The 50 ms timer alone, same machine: up to 85 / 45 ms, 86 /
   * 60 ms, 102 / 691 ms. A machine crash loses the ones since the last fdatasync.
   */
  lazy?: boolean;
  /**
   * With `lazy`: the caller acknowledges nothing before this record is written (it awaits `durable`), e.g.
   * a batch of reported decisions answered as a whole. Such a record is outside the LAZY_FLUSH_RECORDS
   * bound, which counts records acknowledged before their write, so it never starts a write nor gets a
   * `backlog`: a thousand of them go in one write instead of one per LAZY_FLUSH_RECORDS (each write a
   * thread-pool round trip that took the CPU from the calls the records describe). The caller starts the
   * write and waits for it with {@link EventLog.allWritten} after its last append; else the next batch or
   * the LAZY_FLUSH_MS timer takes them.
   */
  awaited?: boolean;
}

/** The longest a lazy record waits in memory when fewer than LAZY_FLUSH_RECORDS are waiting (a timer). */
export const LAZY_FLUSH_MS = 50;

/** This many unwritten lazy records start their write at once; more get a `backlog` to await (see Appended). */
export const LAZY_FLUSH_RECORDS = 32;

export interface RecoveryReport {
  /** Intact records handed to onRecord. */
  records: number;
  /** Bytes cut off the end of the file (a torn last record). */
  truncatedBytes: number;
  /** One line per problem, `line L (seq S): reason …`; at most MAX_REPORTED_PROBLEMS plus a summary line. */
  problems: string[];
}

export interface OpenOptions {
  /** Called once per intact record during recovery, in order, streaming (never the whole file in memory). */
  onRecord?: (record: LogRecord, offset: number) => void;
  /** false only in benches/tests that measure without disk sync; default true. */
  sync?: boolean;
}

/** Counters for tests and benches: how group commit behaved. */
export interface EventLogStats {
  appends: number;
  /** Batches written (one positioned write each, possibly split by the OS into several write calls). */
  writes: number;
  /** fdatasync calls that returned successfully (batches plus the one in close when needed). */
  syncs: number;
  /** Bytes written by this EventLog (not counting what the file held when opened). */
  bytes: number;
}

/** How many problems a RecoveryReport lists before summarising the rest: the report stays small too. */
export const MAX_REPORTED_PROBLEMS = 100;

/** Initial bytes `read` fetches for one record; grown when a record is longer. */
const READ_BYTES = 8 * 1024;
/** Largest single read `readMany` does to serve neighbouring records together. */
const WINDOW_BYTES = 256 * 1024;

interface Batch {
  /** Offset of its first byte in the file. */
  start: number;
  bytes: number;
  lines: Buffer[];
  offsets: number[];
  /** A non-lazy record is in it: fdatasync before resolving. A batch of lazy records is only written. */
  needsSync: boolean;
  /** Lazy records in it (counted in EventLog.unwrittenLazy until its write returned). */
  lazy: number;
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
  /** Resolves when its write returned, before any sync (what `backlog` waits for). */
  written: Promise<void>;
  wrote(): void;
  failed(error: Error): void;
}

function newBatch(start: number): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // see Appended.durable
  let wrote!: () => void;
  let failed!: (error: Error) => void;
  const written = new Promise<void>((res, rej) => {
    wrote = res;
    failed = rej;
  });
  written.catch(() => {});
  return { start, bytes: 0, lines: [], offsets: [], needsSync: false, lazy: 0, promise, resolve, reject, written, wrote, failed };
}

const call = <T>(fn: (cb: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
const callVoid = (fn: (cb: (error: NodeJS.ErrnoException | null) => void) => void): Promise<void> =>
  new Promise<void>((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));

/**
 * The sidecar's durable, tamper-evident, append-only event log: one JSON line per record, each carrying the
 * hash of the one before it (format and hash: see recordCodec.ts).
 *
 * **Durability and group commit.** `append` assigns seq, offset and hash synchronously, so callers get a total
 * order without awaiting. The bytes go to a queued batch; a flush is scheduled with setImmediate (lazy
 * records: see AppendOptions), and it starts only when no other write is in flight. Every append issued
 * before a flush starts — all appends of the same tick, plus everything that arrives while the previous
 * batch is being written — shares one positioned write. Writes and fdatasyncs are pipelined: one fdatasync
 * at a time covers every batch written before it started, while the next batch is already being written.
 * `durable` resolves after its write and (for a batch with a non-lazy record) such an fdatasync returned;
 * batches settle in order. A failed write or sync rejects every batch not yet settled, and poisons the log:
 * every later `append` throws.
 *
 * **Recovery on open** streams the file line by line (bounded memory: 1 MiB plus the longest record).
 * - A torn last record — no trailing newline, or a last line that is not JSON — is cut off (ftruncate) and
 *   reported in `truncatedBytes` / `problems`; appends continue cleanly after the last intact record.
 * - A broken record elsewhere never stops the sidecar from starting; it is reported in `problems` as
 *   `line L (seq S): reason` and:
 *   - a line that fails on its own (not JSON, not a record, hash mismatch) is NOT passed to onRecord: its
 *     content cannot be trusted (or read);
 *   - an intact record that does not link to the record before it (seq gap, prev mismatch — e.g. a line was
 *     deleted) IS passed to onRecord, so one lost line does not make the sidecar forget everything after it;
 *   - an intact record whose seq is not above the last delivered one (a duplicated or reordered line) is
 *     not passed on, so onRecord always sees strictly increasing seqs.
 *   New appends continue the chain from the last record in the file (the line with the highest seq whose
 *   seq and hash can be read, even if that record was modified), so the file stays one sequence and
 *   `apie audit verify` keeps naming the first broken record rather than a break made by the sidecar.
 */
export class EventLog {
  private end: number; // offset of the next record
  private written: number; // bytes on disk (written; durable unless sync is off)
  private seq: number;
  private hash: string;
  private queued: Batch | undefined; // appends waiting for the next flush
  private writing: Batch | undefined; // the batch whose write is in flight
  private readonly unsyncedBatches: Batch[] = []; // written, waiting (in order) for an fdatasync or an earlier one
  private syncing: Batch[] | undefined; // the batches the fdatasync in flight covers
  private readonly ops = new Set<Promise<void>>(); // writes and syncs in flight (close waits for them)
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined; // a deferred flush for records appended with `lazy`
  private syncedTo: number; // bytes covered by a completed fdatasync (or there when the log was opened)
  private unwrittenLazy = 0; // lazy records appended whose write has not returned yet
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly reads = new Set<Promise<unknown>>();
  private readonly counters: EventLogStats = { appends: 0, writes: 0, syncs: 0, bytes: 0 };

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly sync: boolean,
    size: number,
    seq: number,
    hash: string,
  ) {
    this.end = size;
    this.written = size;
    this.syncedTo = size;
    this.seq = seq;
    this.hash = hash;
  }

  /**
   * Opens (creating it, mode 0600) and recovers the log; see the class comment for what recovery does.
   * The directory must exist. Rejects only on I/O errors or when onRecord throws — never on bad content.
   */
  static async open(file: string, options: OpenOptions = {}): Promise<{ log: EventLog; recovery: RecoveryReport }> {
    const sync = options.sync ?? true;
    const existed = await call<unknown>((cb) => stat(file, cb)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw error;
      },
    );
    const fd = await call<number>((cb) => open(file, constants.O_RDWR | constants.O_CREAT, 0o600, cb));
    try {
      if (!existed && sync) await syncDirectory(path.dirname(file));
      const size = (await call<{ size: number }>((cb) => fstat(fd, cb))).size;
      const { recovery, validEnd, seq, hash } = await recover(fd, size, options.onRecord);
      if (validEnd < size) {
        await callVoid((cb) => ftruncate(fd, validEnd, cb));
        if (sync) await callVoid((cb) => fsync(fd, cb));
      }
      return { log: new EventLog(file, fd, sync, validEnd, seq, hash), recovery };
    } catch (error) {
      await callVoid((cb) => close(fd, cb)).catch(() => {});
      throw error;
    }
  }

  /**
   * Appends one record. seq, offset, hash and ts are assigned before this returns; the write is group
   * committed (class comment). Throws — and assigns nothing — after close() was called, after an earlier
   * write failed, for an empty kind, for data JSON cannot represent (BigInt, cycles) or a record longer than
   * MAX_RECORD_BYTES. `data` is stored as JSON.stringify stores it (`undefined` becomes null).
   */
  append(kind: string, data: unknown, options: AppendOptions = {}): Appended {
    if (this.closing !== undefined) throw new Error(`event log ${this.file} is closed`);
    if (this.failure !== undefined) throw new Error(`event log ${this.file} stopped after a write failure: ${this.failure.message}`, { cause: this.failure });
    if (typeof kind !== "string" || kind === "") throw new TypeError("event log: kind must be a non-empty string");
    const seq = this.seq + 1;
    const ts = isoNow();
    const { line, hash } = encodeRecord(seq, ts, kind, data, this.hash);
    if (line.length - 1 > MAX_RECORD_BYTES) throw new RangeError(`event log: record of ${line.length} bytes exceeds ${MAX_RECORD_BYTES}`);
    const offset = this.end;
    this.seq = seq;
    this.hash = hash;
    this.end += line.length;
    const batch = (this.queued ??= newBatch(offset));
    batch.lines.push(line);
    batch.offsets.push(offset);
    batch.bytes += line.length;
    this.counters.appends++;
    if (!options.lazy) {
      batch.needsSync = true;
      this.scheduleFlush();
      return { seq, offset, hash, ts, durable: batch.promise };
    }
    if (options.awaited) {
      this.scheduleLazyFlush();
      return { seq, offset, hash, ts, durable: batch.promise };
    }
    batch.lazy++;
    this.unwrittenLazy++;
    if (this.unwrittenLazy >= LAZY_FLUSH_RECORDS) this.flushNow();
    else this.scheduleLazyFlush();
    const appended: Appended = { seq, offset, hash, ts, durable: batch.promise };
    if (this.unwrittenLazy > LAZY_FLUSH_RECORDS) appended.backlog = batch.written;
    return appended;
  }

  /**
   * Resolves once every record appended so far is written (and, in a batch that needs it, synced); rejects
   * as their `durable` does. Starts the write of what is queued in the next turn (records appended with
   * `awaited` start none themselves).
   */
  allWritten(): Promise<void> {
    if (this.queued !== undefined) this.scheduleFlush();
    return this.lastPending()?.promise ?? Promise.resolve();
  }

  /** Reads back one record by the byte offset returned from append/onRecord (to page old runs from disk). */
  async read(offset: number): Promise<LogRecord> {
    return (await this.readMany([offset]))[0]!;
  }

  /**
   * Reads records by offset, results in the order asked. Neighbouring records are served from one read of
   * up to 256 KiB, and reads run one at a time so paging a long run never crowds fdatasync out of libuv's
   * thread pool. Records still waiting for their write come from memory. Every record's hash is checked:
   * a record modified on disk since recovery makes this reject, as does an offset where no record starts.
   */
  readMany(offsets: readonly number[]): Promise<LogRecord[]> {
    if (this.closing !== undefined) return Promise.reject(new Error(`event log ${this.file} is closed`));
    const job = this.readSorted(offsets);
    this.reads.add(job);
    const done = () => void this.reads.delete(job);
    job.then(done, done);
    return job;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get lastHash(): string {
    return this.hash;
  }

  get stats(): Readonly<EventLogStats> {
    return { ...this.counters };
  }

  /**
   * Waits for pending writes and reads, syncs what is not yet synced, closes the fd. Appending (or reading)
   * after close was called throws. Resolves even when the log was poisoned (the failure was reported to the
   * appends); rejects only when the final sync or close fails. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    try {
      if (this.lazyTimer !== undefined) this.scheduleFlush();
      for (let batch = this.lastPending(); batch !== undefined; batch = this.lastPending()) {
        await batch.promise.catch(() => {});
      }
      await Promise.allSettled([...this.ops]);
      await Promise.allSettled([...this.reads]);
      if (this.written > this.syncedTo && this.failure === undefined) {
        await callVoid((cb) => fdatasync(this.fd, cb));
        this.counters.syncs++;
        this.syncedTo = this.written;
      }
    } finally {
      this.closed = true;
      await callVoid((cb) => close(this.fd, cb));
    }
  }

  /** The latest batch not yet resolved or rejected (batches settle in order). */
  private lastPending(): Batch | undefined {
    return this.queued ?? this.writing ?? this.unsyncedBatches.at(-1) ?? this.syncing?.at(-1);
  }

  private scheduleLazyFlush(): void {
    if (this.lazyTimer !== undefined || this.flushScheduled || this.writing !== undefined) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = undefined;
      this.scheduleFlush();
    }, LAZY_FLUSH_MS);
  }

  private scheduleFlush(): void {
    this.clearLazyTimer();
    if (this.flushScheduled || this.writing !== undefined) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /** LAZY_FLUSH_RECORDS lazy records are unwritten: start the write now, in this turn, unless one is in flight. */
  private flushNow(): void {
    this.clearLazyTimer();
    if (this.writing === undefined) this.flush();
    // else: the write in flight schedules the next one as it completes.
  }

  private clearLazyTimer(): void {
    if (this.lazyTimer === undefined) return;
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
  }

  /**
   * Starts the write of the queued batch. Writes and syncs are pipelined: the next batch is written as soon
   * as this write returned, even while an fdatasync of earlier batches is still running, so records (lazy
   * ones above all) do not wait in memory behind a slow sync. One fdatasync at a time covers every batch
   * written before it started; batches settle in order.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.queued;
    if (this.writing !== undefined || batch === undefined || this.failure !== undefined) return;
    this.queued = undefined;
    this.writing = batch;
    const bytes = batch.lines.length === 1 ? batch.lines[0]! : Buffer.concat(batch.lines, batch.bytes);
    this.track((done) =>
      writeAll(this.fd, bytes, batch.start, (writeError) => {
        done();
        if (this.failure !== undefined) return; // rejected already, with everything after it
        if (writeError) return this.fail(writeError);
        this.writing = undefined;
        this.counters.writes++;
        this.counters.bytes += batch.bytes;
        this.written = batch.start + batch.bytes;
        this.unwrittenLazy -= batch.lazy;
        batch.wrote();
        this.unsyncedBatches.push(batch);
        this.settle();
        // Via setImmediate, not now: the appenders just resumed by a resolve get to join the next batch.
        if (this.queued !== undefined) this.scheduleFlush();
      }),
    );
  };

  /**
   * Resolves written batches in order: a lazy-only batch (or any batch with sync off) once written and once
   * every batch before it resolved; a batch with a durable record once an fdatasync that started after its
   * write returned. Lazy-only batches are not synced on their own: they survive the process dying (page
   * cache), and the next durable batch's fdatasync covers them too. A sync per lazy batch cost ~50 µs of p50
   * latency on every guard decision here (bench/sidecar.bench.ts): fdatasync stalls this VM's I/O.
   */
  private settle(): void {
    if (this.syncing !== undefined) return; // the sync in flight settles the rest when it returns
    const waiting = this.unsyncedBatches;
    if (this.sync && waiting.some((b) => b.needsSync)) {
      const covered = waiting.splice(0);
      const target = this.written;
      this.syncing = covered;
      this.track((done) =>
        fdatasync(this.fd, (syncError) => {
          done();
          if (this.failure !== undefined) return;
          if (syncError) return this.fail(syncError);
          this.counters.syncs++;
          this.syncedTo = Math.max(this.syncedTo, target);
          this.syncing = undefined;
          for (const b of covered) b.resolve();
          this.settle();
        }),
      );
      return;
    }
    for (const b of waiting.splice(0)) b.resolve();
  }

  /** Runs one physical operation (write or sync), so close can wait for every one still in flight. */
  private track(start: (done: () => void) => void): void {
    let done!: () => void;
    const op = new Promise<void>((resolve) => (done = resolve));
    this.ops.add(op);
    void op.then(() => this.ops.delete(op));
    start(done);
  }

  /**
   * A write or sync failed: every batch not yet resolved — the ones covered by the sync in flight, written
   * ones waiting for a sync, the one being written, the queued one — is rejected, and the log is poisoned.
   */
  private fail(cause: NodeJS.ErrnoException): void {
    const pending = [...(this.syncing ?? []), ...this.unsyncedBatches, ...(this.writing ? [this.writing] : []), ...(this.queued ? [this.queued] : [])];
    const first = pending[0]!;
    const records = pending.reduce((n, b) => n + b.offsets.length, 0);
    this.failure = new Error(`write failed at offset ${first.start}: ${cause.message}`, { cause });
    const error = new Error(`event log ${this.file}: ${this.failure.message}; records from seq ${this.seq - records + 1} on are not durable`, { cause });
    this.syncing = undefined;
    this.unsyncedBatches.length = 0;
    this.writing = undefined;
    this.queued = undefined;
    this.clearLazyTimer();
    // Best effort: leave the file as it was acknowledged, so a restart does not resurrect rejected records —
    // once no write is in flight any more (one landing after the cut would leave a hole and a stray record).
    const truncate = (): void => {
      try {
        ftruncateSync(this.fd, first.start);
      } catch {
        // The file may be unwritable (or closed) by now; recovery copes with whatever is left.
      }
    };
    if (this.ops.size === 0) truncate();
    else void Promise.allSettled([...this.ops]).then(truncate);
    for (const batch of pending) {
      batch.failed(error);
      batch.reject(error);
    }
  }

  private async readSorted(offsets: readonly number[]): Promise<LogRecord[]> {
    const order = offsets.map((_, i) => i).sort((a, b) => offsets[a]! - offsets[b]!);
    const results = new Array<LogRecord>(offsets.length);
    let window: Buffer | undefined;
    let windowStart = 0;
    for (let k = 0; k < order.length; k++) {
      const index = order[k]!;
      const offset = offsets[index]!;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.end) throw new RangeError(`event log ${this.file}: no record at offset ${offset}`);
      let line = this.pendingLine(offset);
      if (line === undefined) {
        line = window === undefined ? undefined : lineIn(window, offset - windowStart);
        if (line === undefined) {
          // Read far enough to cover the following requested offsets that are close by.
          let last = offset;
          for (let j = k + 1; j < order.length && offsets[order[j]!]! - offset < WINDOW_BYTES - READ_BYTES; j++) last = offsets[order[j]!]!;
          window = await this.readLineAt(offset, last - offset + READ_BYTES);
          windowStart = offset;
          line = lineIn(window, 0);
          if (line === undefined) throw new Error(`event log ${this.file}: no complete record at offset ${offset}`);
        }
      }
      const decoded = decodeLine(line);
      if (!decoded.ok) throw new Error(`event log ${this.file}: record at offset ${offset}: ${decoded.reason}`);
      results[index] = decoded.record;
    }
    return results;
  }

  /** The line (without "\n") of a record still waiting for its write, or undefined when it is on disk. */
  private pendingLine(offset: number): Buffer | undefined {
    if (offset < this.written) return undefined;
    for (const batch of [this.writing, this.queued]) {
      if (batch === undefined || offset < batch.start || offset >= batch.start + batch.bytes) continue;
      const i = binarySearch(batch.offsets, offset);
      if (i < 0) break;
      const line = batch.lines[i]!;
      return line.subarray(0, line.length - 1);
    }
    throw new RangeError(`event log ${this.file}: no record starts at offset ${offset}`);
  }

  /**
   * Reads from `offset` at least `want` bytes (bounded by the written end of the file) and grows the read
   * until it holds one complete line. Returns the bytes read (starting at offset).
   */
  private async readLineAt(offset: number, want: number): Promise<Buffer> {
    let size = Math.min(Math.max(want, READ_BYTES), this.written - offset);
    for (;;) {
      if (this.closed) throw new Error(`event log ${this.file} is closed`);
      const buffer = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = await call<number>((cb) => read(this.fd, buffer, got, size - got, offset + got, cb));
        if (n === 0) break;
        got += n;
      }
      const bytes = buffer.subarray(0, got);
      if (bytes.indexOf(0x0a) !== -1 || got < size || offset + got >= this.written || size > MAX_RECORD_BYTES) return bytes;
      size = Math.min(size * 4, this.written - offset, MAX_RECORD_BYTES + 1);
    }
  }
}

function isoNow(): string {
  return isoTime(Date.now());
}

/** The line starting at `at` in `window`, without "\n", or undefined when the window does not hold all of it. */
function lineIn(window: Buffer, at: number): Buffer | undefined {
  if (at < 0 || at >= window.length) return undefined;
  const nl = window.indexOf(0x0a, at);
  return nl === -1 ? undefined : window.subarray(at, nl);
}

function binarySearch(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Positioned write of all of `bytes` (pwrite may write less than asked). */
function writeAll(fd: number, bytes: Buffer, position: number, done: (error: NodeJS.ErrnoException | null) => void): void {
  let at = 0;
  const next = (): void => {
    write(fd, bytes, at, bytes.length - at, position + at, (error, n) => {
      if (error) return done(error);
      at += n;
      if (at < bytes.length) next();
      else done(null);
    });
  };
  next();
}

/** fsync a directory so a file just created in it survives a crash. Best effort: not every platform allows it. */
async function syncDirectory(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = await call<number>((cb) => open(dir, constants.O_RDONLY, cb));
  } catch {
    return;
  }
  await callVoid((cb) => fsync(fd, cb)).catch(() => {});
  await callVoid((cb) => close(fd, cb)).catch(() => {});
}

function where(lineNo: number, seq: number | null): string {
  return seq === null ? `line ${lineNo}` : `line ${lineNo} (seq ${seq})`;
}

/** Streams the file once; see the class comment for the policy. */
async function recover(
  fd: number,
  size: number,
  onRecord: OpenOptions["onRecord"],
): Promise<{ recovery: RecoveryReport; validEnd: number; seq: number; hash: string }> {
  const chain = new ChainCheck(); // the chain of delivered records
  let contSeq = 0; // where appends continue: the highest readable seq in the file …
  let contHash = GENESIS_HASH; // … and that line's hash
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(text);
  };
  let records = 0;
  let validEnd = size;
  // The seq and stored hash of a record just skipped for failing on its own: the next record linking to it is
  // not a second break (the skipped one was already reported).
  let skipped: { seq: number; hash: string } | undefined;

  await scanLines(fd, size, (line) => {
    const bridge = skipped;
    skipped = undefined;
    const decoded = line.bytes === null ? undefined : decodeLine(line.bytes);
    if (line.last && (!line.terminated || decoded === undefined || (!decoded.ok && decoded.reason === "not valid JSON"))) {
      validEnd = line.offset;
      const what = !line.terminated ? "torn last record (no newline)" : decoded === undefined ? "unreadable last record (too long)" : "unreadable last record (not valid JSON)";
      problem(`${where(line.lineNo, null)}: ${what}: ${line.length + (line.terminated ? 1 : 0)} bytes truncated`);
      return;
    }
    if (decoded === undefined) {
      problem(`${where(line.lineNo, null)}: longer than ${MAX_RECORD_BYTES} bytes (skipped)`);
      return;
    }
    if (!decoded.ok) {
      problem(`${where(line.lineNo, decoded.seq)}: ${decoded.reason} (skipped)`);
      if (decoded.seq !== null && decoded.hash !== null) {
        skipped = { seq: decoded.seq, hash: decoded.hash };
        if (decoded.seq >= contSeq) {
          contSeq = decoded.seq;
          contHash = decoded.hash;
        }
      }
      return;
    }
    const record = decoded.record;
    let broken = chain.breakOf(record);
    if (broken !== null && bridge !== undefined && record.seq === bridge.seq + 1 && record.prev === bridge.hash && record.seq > chain.lastSeq) broken = null;
    if (broken !== null && record.seq <= chain.lastSeq) {
      problem(`${where(line.lineNo, record.seq)}: ${broken} (skipped: seq not above the last record)`);
      return;
    }
    if (broken !== null) problem(`${where(line.lineNo, record.seq)}: ${broken} (record kept)`);
    chain.accept(record.seq, record.hash);
    if (record.seq >= contSeq) {
      contSeq = record.seq;
      contHash = record.hash;
    }
    records++;
    onRecord?.(record, line.offset);
  });

  if (problemCount > problems.length) problems.push(`… and ${problemCount - problems.length} more problems`);
  return { recovery: { records, truncatedBytes: size - validEnd, problems }, validEnd, seq: contSeq, hash: contHash };
}
