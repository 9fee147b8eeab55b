import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { verifyLog, type VerifyResult } from "../../../sidecar/store/auditVerify";
import { EVENT_LOG_FILE, EventLog, GENESIS_HASH, type LogRecord } from "../../../sidecar/store/eventLog";

let dir: string;
let file: string;

async function writeRecords(n: number): Promise<string> {
  const { log } = await EventLog.open(file, { sync: false });
  for (let i = 1; i <= n; i++) log.append(i % 3 === 0 ? "decision" : "event", { i, note: `record ${i}` });
  await log.close();
  return log.lastHash;
}

const lines = () => readFileSync(file, "utf8").split("\n").slice(0, -1);
const writeLines = (ls: readonly string[]) => writeFileSync(file, ls.map((l) => l + "\n").join(""));
const offsetOfLine = (n: number) => lines().slice(0, n - 1).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);

function broken(result: VerifyResult) {
  assert.ok(!result.ok, `expected a broken chain, got ${JSON.stringify(result)}`);
  return { ...result.firstBroken, records: result.records };
}

/** Rewrites a record with a valid hash of its own, as someone who knows the format would. */
function rehash(record: Omit<LogRecord, "hash">): string {
  const body = JSON.stringify({ seq: record.seq, ts: record.ts, kind: record.kind, data: record.data, prev: record.prev });
  return `${body.slice(0, -1)},"hash":"${createHash("sha256").update(body).digest("hex")}"}`;
}

describe("verifyLog (apie audit verify)", () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-verify-"));
    file = path.join(dir, EVENT_LOG_FILE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts an intact log and reports its last hash", async () => {
    const lastHash = await writeRecords(10);
    assert.deepEqual(await verifyLog(file), { ok: true, records: 10, lastHash });
  });

  it("accepts an empty log", async () => {
    writeFileSync(file, "");
    assert.deepEqual(await verifyLog(file), { ok: true, records: 0, lastHash: GENESIS_HASH });
  });

  it("names the record in which one byte of data was changed", async () => {
    await writeRecords(6);
    const bytes = readFileSync(file);
    bytes[bytes.indexOf("record 4") + 7] = "5".charCodeAt(0);
    writeFileSync(file, bytes);
    assert.deepEqual(broken(await verifyLog(file)), { line: 4, seq: 4, offset: offsetOfLine(4), reason: "hash mismatch (record was modified)", records: 3 });
  });

  it("names a record whose hash field was changed, or which was reformatted with the same content", async () => {
    await writeRecords(3);
    const ls = lines();
    const original = ls[1]!;
    ls[1] = original.replace(/"hash":"(.)/, (_m, c: string) => `"hash":"${c === "a" ? "b" : "a"}`);
    writeLines(ls);
    assert.equal(broken(await verifyLog(file)).reason, "hash mismatch (record was modified)");
    ls[1] = original.replace('"kind":', '"kind": '); // same JSON value, different bytes
    writeLines(ls);
    assert.deepEqual(broken(await verifyLog(file)), { line: 2, seq: 2, offset: offsetOfLine(2), reason: "hash mismatch (record was modified)", records: 1 });
  });

  it("names the gap a deleted record leaves", async () => {
    await writeRecords(5);
    const ls = lines();
    ls.splice(2, 1);
    writeLines(ls);
    assert.deepEqual(broken(await verifyLog(file)), { line: 3, seq: 4, offset: offsetOfLine(3), reason: "seq 4 follows 2", records: 2 });
  });

  it("names swapped records", async () => {
    await writeRecords(4);
    const ls = lines();
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    writeLines(ls);
    assert.equal(broken(await verifyLog(file)).reason, "seq 3 follows 1");
  });

  it("names the next record when a modified record was re-hashed (its successor's prev no longer matches)", async () => {
    await writeRecords(5);
    const ls = lines();
    const third = JSON.parse(ls[2]!) as LogRecord;
    ls[2] = rehash({ ...third, data: { i: 3, note: "something else" } });
    writeLines(ls);
    assert.deepEqual(broken(await verifyLog(file)), { line: 4, seq: 4, offset: offsetOfLine(4), reason: "prev does not match the hash of record 3", records: 3 });
  });

  it("names a first record that does not start from the genesis hash", async () => {
    await writeRecords(1);
    const first = JSON.parse(lines()[0]!) as LogRecord;
    writeLines([rehash({ ...first, prev: "f".repeat(64) })]);
    assert.match(broken(await verifyLog(file)).reason, /genesis/);
  });

  it("names a line that is not JSON, and a JSON line that is not a record", async () => {
    await writeRecords(3);
    const ls = lines();
    writeLines([ls[0]!, "{not json", ls[1]!]);
    assert.deepEqual(broken(await verifyLog(file)), { line: 2, seq: null, offset: offsetOfLine(2), reason: "not valid JSON", records: 1 });
    writeLines([ls[0]!, JSON.stringify({ seq: 2, hello: "world" })]);
    assert.match(broken(await verifyLog(file)).reason, /^not a log record \(ts is not a string\)$/);
  });

  it("names a torn last record", async () => {
    await writeRecords(3);
    const ls = lines();
    writeFileSync(file, `${ls[0]}\n${ls[1]}\n${ls[2]!.slice(0, 40)}`);
    assert.deepEqual(broken(await verifyLog(file)), { line: 3, seq: 3, offset: offsetOfLine(3), reason: "torn last record (no newline)", records: 2 });
    appendFileSync(file, "\n");
    assert.equal(broken(await verifyLog(file)).reason, "not valid JSON");
  });

  it("rejects with ENOENT for a missing file", async () => {
    await assert.rejects(verifyLog(path.join(dir, "nope.jsonl")), { code: "ENOENT" });
  });
});
