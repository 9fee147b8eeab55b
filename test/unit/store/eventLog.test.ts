import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { verifyLog } from "../../../sidecar/store/auditVerify";
import { EVENT_LOG_FILE, EventLog, GENESIS_HASH, LAZY_FLUSH_MS, LAZY_FLUSH_RECORDS, MAX_REPORTED_PROBLEMS, type LogRecord, type OpenOptions } from "../../../sidecar/store/eventLog";

let dir: string;
let file: string;
const opened: EventLog[] = [];

async function openLog(options: OpenOptions = {}) {
  const result = await EventLog.open(file, { sync: false, ...options });
  opened.push(result.log);
  return result;
}

/** Opens, collecting what recovery hands to onRecord. */
async function reopen(options: OpenOptions = {}) {
  const seen: { record: LogRecord; offset: number }[] = [];
  const result = await openLog({ ...options, onRecord: (record, offset) => seen.push({ record, offset }) });
  return { ...result, seen };
}

/** Writes `n` records with the API and closes the log. */
async function writeRecords(n: number, data: (i: number) => unknown = (i) => ({ i, text: `record ${i}` })) {
  const { log } = await openLog();
  const appended = Array.from({ length: n }, (_, i) => log.append("event", data(i + 1)));
  await log.close();
  return appended;
}

const lines = () => readFileSync(file, "utf8").split("\n");

describe("EventLog", () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-eventlog-"));
    file = path.join(dir, EVENT_LOG_FILE);
  });
  afterEach(async () => {
    for (const log of opened.splice(0)) await log.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the file 0600 as JSON Lines and reads every record back by offset", async () => {
    const { log, recovery } = await openLog();
    assert.deepEqual(recovery, { records: 0, truncatedBytes: 0, problems: [] });
    const values: unknown[] = [{ nested: { list: [1, 2.5, null, true] } }, "line\nbreak ✓ ünïcode 🎉", null, 42, [], { "2": "int-like key", b: 1 }];
    const appended = values.map((v, i) => log.append(i % 2 === 0 ? "event" : "decision", v));
    // Before the write: served from memory; after it: from disk. Both give the same records.
    const early = await log.readMany(appended.map((a) => a.offset).reverse());
    await Promise.all(appended.map((a) => a.durable));
    for (const [i, a] of appended.entries()) {
      const record = await log.read(a.offset);
      assert.deepEqual(record, { seq: i + 1, ts: a.ts, kind: i % 2 === 0 ? "event" : "decision", data: values[i], prev: record.prev, hash: a.hash });
      assert.deepEqual(early[appended.length - 1 - i], record);
    }
    if (process.platform !== "win32") assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, "utf8");
    assert.ok(text.endsWith("\n"));
    assert.equal(text.split("\n").length, values.length + 1, "one line per record, newlines inside data escaped");
    assert.equal(appended[2]!.offset, Buffer.byteLength(text.split("\n").slice(0, 2).join("\n")) + 1, "offsets are byte offsets");
  });

  it("chains records: seq 1, 2, 3, prev = previous hash, hash = sha256 of the line without its hash member", async () => {
    await writeRecords(3);
    const records = lines().slice(0, 3).map((l) => JSON.parse(l) as LogRecord);
    assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
    assert.equal(records[0]!.prev, GENESIS_HASH);
    assert.equal(records[1]!.prev, records[0]!.hash);
    assert.equal(records[2]!.prev, records[1]!.hash);
    for (const [i, r] of records.entries()) {
      assert.deepEqual(Object.keys(r), ["seq", "ts", "kind", "data", "prev", "hash"]);
      const canonical = JSON.stringify({ seq: r.seq, ts: r.ts, kind: r.kind, data: r.data, prev: r.prev });
      assert.equal(r.hash, createHash("sha256").update(canonical).digest("hex"));
      assert.equal(lines()[i], `${canonical.slice(0, -1)},"hash":"${r.hash}"}`);
    }
  });

  it("stores undefined data as null and refuses data JSON cannot hold without consuming a seq", async () => {
    const { log } = await openLog();
    assert.throws(() => log.append("event", { n: 1n }), /BigInt/);
    assert.throws(() => log.append("", {}), /kind/);
    const a = log.append("event", undefined);
    assert.equal(a.seq, 1);
    assert.equal((await log.read(a.offset)).data, null);
  });

  it("resolves durable only once the record is written and synced", async () => {
    const { log } = await openLog({ sync: true });
    const a = log.append("approval.requested", { id: "ap_1" });
    assert.equal(readFileSync(file, "utf8"), "", "nothing is written synchronously");
    assert.equal(log.stats.syncs, 0);
    await a.durable;
    assert.equal(log.stats.syncs, 1);
    assert.equal(JSON.parse(lines()[0]!).data.id, "ap_1", "another reader sees the record once durable resolved");
  });

  it("group-commits every append of one tick into one write and one fdatasync", async () => {
    const { log } = await openLog({ sync: true });
    const appended = Array.from({ length: 1000 }, (_, i) => log.append("event", { i }));
    assert.deepEqual([appended[0]!.seq, appended[999]!.seq], [1, 1000]);
    assert.ok(appended.every((a) => a.durable === appended[0]!.durable), "one batch, one promise");
    await appended[999]!.durable;
    assert.deepEqual(log.stats, { appends: 1000, writes: 1, syncs: 1, bytes: statSync(file).size });
  });

  it("a lazy append waits up to LAZY_FLUSH_MS for company; a durable append takes it along at once", async () => {
    const { log } = await openLog({ sync: true });
    const lazy = log.append("decision", { allow: true }, { lazy: true });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(log.stats.writes, 0, "nothing written on the next turn");
    const urgent = log.append("event", { ack: true });
    assert.equal(urgent.durable, lazy.durable, "the durable append joins the lazy one's batch");
    await urgent.durable;
    assert.deepEqual([log.stats.writes, log.stats.syncs], [1, 1]);

    const alone = log.append("decision", { allow: true }, { lazy: true });
    const started = Date.now();
    await alone.durable;
    assert.ok(Date.now() - started >= LAZY_FLUSH_MS - 5, "written by the timer");
    assert.deepEqual([log.stats.writes, log.stats.syncs], [2, 1], "a lazy-only batch is written, not synced");
    const last = log.append("decision", { allow: true }, { lazy: true });
    await log.close();
    await last.durable;
    assert.equal((await verifyLog(file)).records, 4, "close writes what was still waiting");
    assert.equal(log.stats.syncs, 2, "and syncs what was only written");
  });

  it("LAZY_FLUSH_RECORDS lazy records are written from the turn that appends the last one: no timer needed (busy event loop)", async () => {
    const { log } = await openLog({ sync: true });
    for (let i = 0; i < LAZY_FLUSH_RECORDS - 1; i++) log.append("decision", { allow: i }, { lazy: true });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(statSync(file).size, 0, "fewer than LAZY_FLUSH_RECORDS wait for company");
    const last = log.append("decision", { allow: LAZY_FLUSH_RECORDS - 1 }, { lazy: true });
    assert.equal(last.backlog, undefined, "up to LAZY_FLUSH_RECORDS may be acknowledged unwritten");
    // From here the event loop is blocked: no timer and no I/O callback can run, only the write already
    // handed to libuv's thread pool. (Bounded: on failure this spins 5 s, then the assertion says so.)
    const until = Date.now() + 5_000;
    while (statSync(file).size <= last.offset && Date.now() < until) {
      // busy, like a sidecar deciding guard calls back to back
    }
    assert.ok(statSync(file).size > last.offset, "the batch's bytes reached the file while the event loop was busy");
    await last.durable;
    assert.deepEqual([log.stats.writes, log.stats.syncs], [1, 0], "one write, no sync: lazy records only");
    assert.equal((await verifyLog(file)).records, LAZY_FLUSH_RECORDS);
  });

  it("beyond LAZY_FLUSH_RECORDS unwritten lazy records, an append gets a backlog that resolves once it is written", async () => {
    const { log } = await openLog({ sync: true });
    const first = Array.from({ length: LAZY_FLUSH_RECORDS }, (_, i) => log.append("decision", { allow: i }, { lazy: true }));
    assert.ok(first.every((a) => a.backlog === undefined));
    // Their write is in flight; the next ones must not be acknowledged before they are written.
    const more = Array.from({ length: 3 }, (_, i) => log.append("decision", { more: i }, { lazy: true }));
    assert.ok(more.every((a) => a.backlog !== undefined));
    assert.ok(statSync(file).size <= more[0]!.offset, "not written yet");
    await more[2]!.backlog;
    assert.ok(statSync(file).size > more[2]!.offset, "written when backlog resolves");
    assert.equal(log.append("decision", { calm: true }, { lazy: true }).backlog, undefined, "once written, lazy records are free again");
  });

  it("awaited lazy records (acknowledged only once written) go in one write when the caller waits for them, however many turns they span", async () => {
    const { log } = await openLog({ sync: true });
    const appended = [];
    // As the reported-decisions route appends a batch: a slice per turn of the event loop.
    for (let turn = 0; turn < 30; turn++) {
      for (let i = 0; i < LAZY_FLUSH_RECORDS; i++) appended.push(log.append("decision", { turn, i }, { lazy: true, awaited: true }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(log.stats.writes, 0, `${appended.length} awaited records start no write by their count`);
    assert.ok(appended.every((a) => a.backlog === undefined));
    assert.equal(log.append("decision", { plain: true }, { lazy: true }).backlog, undefined, "nor do they use up the bound of acknowledged lazy records");
    await log.allWritten();
    await log.allWritten(); // nothing left: at once
    assert.ok(statSync(file).size > appended.at(-1)!.offset, "written before allWritten resolved");
    assert.deepEqual([log.stats.writes, log.stats.syncs], [1, 0], "one write, no sync");
    assert.equal((await verifyLog(file)).records, appended.length + 1);

    const forgotten = log.append("decision", { alone: true }, { lazy: true, awaited: true });
    const started = Date.now();
    await forgotten.durable;
    assert.ok(Date.now() - started >= LAZY_FLUSH_MS - 5, "nobody waiting: the timer writes them");
  });

  it("batches settle in order: lazy ones written during an earlier batch's fdatasync resolve after it", async () => {
    const { log } = await openLog({ sync: true });
    const order: string[] = [];
    const durable = log.append("event", { ack: true });
    void durable.durable.then(() => order.push("durable"));
    await new Promise((resolve) => setImmediate(resolve)); // its write is in flight
    const lazies = Array.from({ length: LAZY_FLUSH_RECORDS }, (_, i) => log.append("decision", { allow: i }, { lazy: true }));
    void lazies[0]!.durable.then(() => order.push("lazy"));
    await Promise.all([durable.durable, ...lazies.map((a) => a.durable)]);
    assert.deepEqual(order, ["durable", "lazy"]);
    assert.equal(log.stats.writes, 2);
    assert.equal((await verifyLog(file)).records, LAZY_FLUSH_RECORDS + 1);
  });

  it("appends made while a batch is being written share the next write", async () => {
    const { log } = await openLog({ sync: true });
    const first = log.append("event", { first: true });
    await new Promise((resolve) => setImmediate(resolve)); // the first flush has started: its write is in flight
    const later = Array.from({ length: 50 }, (_, i) => log.append("event", { i }));
    assert.notEqual(later[0]!.durable, first.durable);
    await Promise.all([first.durable, ...later.map((a) => a.durable)]);
    assert.equal(log.stats.writes, 2);
    assert.equal(log.stats.syncs, 2);
    assert.deepEqual((await verifyLog(file)).ok && (await verifyLog(file)).records, 51);
  });

  it("reopening replays records in order with offsets read() accepts, and continues the chain", async () => {
    const appended = await writeRecords(5);
    const { log, recovery, seen } = await reopen();
    assert.deepEqual(recovery, { records: 5, truncatedBytes: 0, problems: [] });
    assert.deepEqual(seen.map((s) => [s.record.seq, s.offset]), appended.map((a) => [a.seq, a.offset]));
    assert.deepEqual(await log.readMany(seen.map((s) => s.offset)), seen.map((s) => s.record));
    assert.equal(log.lastSeq, 5);
    assert.equal(log.lastHash, appended[4]!.hash);
    const next = log.append("run.started", { run: "r1" });
    assert.equal(next.seq, 6);
    await next.durable;
    assert.equal((await log.read(next.offset)).prev, appended[4]!.hash);
    await log.close();
    assert.deepEqual(await verifyLog(file), { ok: true, records: 6, lastHash: next.hash });
  });

  it("readMany pages any set of records, in the order asked, across read windows", async () => {
    await writeRecords(2000, (i) => ({ i, pad: "p".repeat(i % 700) })); // ~1 MB, records of varying length
    const { log, seen } = await reopen();
    const picked = seen.filter((_, i) => i % 7 !== 3).reverse();
    assert.deepEqual(await log.readMany(picked.map((s) => s.offset)), picked.map((s) => s.record));
    assert.deepEqual(await log.readMany([]), []);
  });

  it("fails to open, closing the file, when onRecord throws", async () => {
    await writeRecords(2);
    await assert.rejects(EventLog.open(file, { onRecord: () => { throw new Error("projection broke"); } }), /projection broke/);
  });

  it("cuts a torn last record (no newline) and continues cleanly from the last intact one", async () => {
    await writeRecords(3);
    const intact = statSync(file).size;
    appendFileSync(file, '{"seq":4,"ts":"2026-01-01T00:00:00.000Z","kind":"ev'); // crashed mid-write
    const { log, recovery, seen } = await reopen();
    assert.equal(recovery.records, 3);
    assert.equal(recovery.truncatedBytes, 51);
    assert.match(recovery.problems.join("\n"), /^line 4: torn last record \(no newline\): 51 bytes truncated$/);
    assert.equal(statSync(file).size, intact);
    assert.equal(seen.length, 3);
    assert.equal(log.append("event", { after: "crash" }).seq, 4);
    await log.close();
    assert.deepEqual(await verifyLog(file).then((r) => r.ok && r.records), 4);
  });

  it("cuts a last record whose write stopped mid-line, and a last line that is not JSON", async () => {
    await writeRecords(4);
    const fourth = Buffer.byteLength(lines()[3]!) + 1;
    truncateSync(file, statSync(file).size - 10);
    let { log, recovery } = await reopen();
    assert.deepEqual([recovery.records, recovery.truncatedBytes], [3, fourth - 10]);
    assert.equal(log.lastSeq, 3, "the torn record was never acknowledged: its seq is reused");
    await log.close();

    appendFileSync(file, "garbage\n");
    ({ log, recovery } = await reopen());
    assert.deepEqual([recovery.records, recovery.truncatedBytes], [3, 8]);
    assert.match(recovery.problems[0]!, /line 4: unreadable last record \(not valid JSON\)/);
    await log.append("event", {}).durable;
    await log.close();
    assert.equal((await verifyLog(file)).ok, true);
  });

  it("a record modified in the middle is reported and skipped; appends continue so verify names it", async () => {
    await writeRecords(5);
    const bytes = readFileSync(file);
    const at = bytes.indexOf("record 3");
    bytes[at] = "R".charCodeAt(0); // one byte
    writeFileSync(file, bytes);
    const { log, recovery, seen } = await reopen();
    assert.deepEqual(recovery.problems, ["line 3 (seq 3): hash mismatch (record was modified) (skipped)"]);
    assert.equal(recovery.truncatedBytes, 0);
    assert.deepEqual(seen.map((s) => s.record.seq), [1, 2, 4, 5], "the modified record is not replayed; the rest are");
    assert.equal(log.append("event", {}).seq, 6);
    await log.close();
    const result = await verifyLog(file);
    assert.ok(!result.ok);
    assert.deepEqual([result.firstBroken.line, result.firstBroken.seq, result.firstBroken.reason, result.records], [3, 3, "hash mismatch (record was modified)", 2]);
  });

  it("a deleted line is reported as a gap; the records after it are still replayed", async () => {
    await writeRecords(5);
    const all = lines();
    writeFileSync(file, [...all.slice(0, 2), ...all.slice(3)].join("\n"));
    const { log, recovery, seen } = await reopen();
    assert.deepEqual(recovery.problems, ["line 3 (seq 4): seq 4 follows 2 (record kept)"]);
    assert.deepEqual(seen.map((s) => s.record.seq), [1, 2, 4, 5]);
    assert.equal(log.lastSeq, 5);
    await log.close();
    const result = await verifyLog(file);
    assert.ok(!result.ok);
    assert.equal(result.firstBroken.reason, "seq 4 follows 2");
  });

  it("a duplicated line is not replayed twice", async () => {
    await writeRecords(3);
    const all = lines();
    writeFileSync(file, [all[0], all[1], all[1], all[2], ""].join("\n"));
    const { recovery, seen } = await reopen();
    assert.deepEqual(seen.map((s) => s.record.seq), [1, 2, 3]);
    assert.match(recovery.problems[0]!, /^line 3 \(seq 2\): seq 2 follows 2 \(skipped/);
  });

  it("starts on a file full of junk, listing a bounded number of problems", async () => {
    writeFileSync(file, "junk\n".repeat(MAX_REPORTED_PROBLEMS + 50));
    const { log, recovery } = await reopen();
    assert.equal(recovery.records, 0);
    assert.equal(recovery.problems.length, MAX_REPORTED_PROBLEMS + 1);
    assert.equal(recovery.problems[0], "line 1: not valid JSON (skipped)");
    assert.equal(recovery.problems.at(-1), "… and 50 more problems");
    assert.equal(recovery.truncatedBytes, 5, "the last junk line is treated as a torn write");
    assert.equal(log.append("event", {}).seq, 1);
  });

  it("rejects reads of offsets where no record starts", async () => {
    const [a] = await writeRecords(2);
    const { log } = await openLog();
    await assert.rejects(log.read(a!.offset + 3), /record at offset 3: not valid JSON/);
    await assert.rejects(log.read(statSync(file).size + 100), /no record at offset/);
  });

  it("detects a record modified on disk after it was recovered when reading it back", async () => {
    const [a] = await writeRecords(1);
    const { log } = await openLog();
    const fd = openSync(file, "r+");
    writeSync(fd, "9", Buffer.from(lines()[0]!).indexOf("record 1") + 7);
    closeSync(fd);
    await assert.rejects(log.read(a!.offset), /hash mismatch/);
  });

  it("throws on append and read after close", async () => {
    const { log } = await openLog();
    const a = log.append("event", {});
    const closing = log.close();
    assert.equal(log.close(), closing);
    assert.throws(() => log.append("event", {}), /closed/);
    await closing;
    await a.durable; // close waited for it
    await assert.rejects(log.read(a.offset), /closed/);
  });

  it("a failed write rejects the batch and poisons the log (real ENOSPC from /dev/full)", async function () {
    if (!existsSync("/dev/full")) this.skip();
    const { log } = await EventLog.open("/dev/full", { sync: true });
    const a = log.append("event", { lost: true });
    const b = log.append("event", { lost: true });
    await assert.rejects(a.durable, /ENOSPC/);
    assert.equal(b.durable, a.durable);
    assert.throws(() => log.append("event", {}), /stopped after a write failure.*ENOSPC/);
    await log.close();
  });

  it("recovers a 50 MB log streaming, without holding the file in memory", async () => {
    // Written as strings following the documented format, so building the file leaves no Buffers behind.
    const fd = openSync(file, "w");
    const filler = "x".repeat(64 * 1024);
    let prev = GENESIS_HASH;
    const count = 800;
    for (let seq = 1; seq <= count; seq++) {
      const body = JSON.stringify({ seq, ts: "2026-01-01T00:00:00.000Z", kind: "event", data: { filler }, prev });
      prev = createHash("sha256").update(body).digest("hex");
      writeSync(fd, `${body.slice(0, -1)},"hash":"${prev}"}\n`);
    }
    closeSync(fd);
    assert.ok(statSync(file).size > 50e6);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let lastOffset = -1;
    const { log, recovery } = await openLog({
      onRecord: (_record, offset) => {
        lastOffset = offset;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      },
    });
    assert.deepEqual(recovery, { records: count, truncatedBytes: 0, problems: [] });
    assert.ok(peak < 8 * 1024 * 1024, `recovery held ${(peak / 1e6).toFixed(1)} MB of buffers`);
    assert.equal(log.lastHash, prev);
    assert.equal((await log.read(lastOffset)).seq, count);
  });
});
