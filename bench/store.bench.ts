import { spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventLog } from "../sidecar/store/eventLog";
import { collectGarbage, formatMicros, formatRate, formatRatio, formatTable, summarize, timeConcurrent, type LatencySummary } from "./stats";

/**
 * The event log's cost of durability: append → `durable` (write + fdatasync, group committed) with 1 and 64
 * concurrent appenders, against the floor measured in the same run on the same disk — a raw
 * `fs.writeSync` + `fs.fdatasyncSync` per record, and per batch of 64 records (what perfect group commit at
 * c=64 could reach). Records are ~400 bytes, shaped like a decision record. Then the CPU cost of an append
 * without sync, and recovery (`EventLog.open` replaying 100 000 records) in a fresh process, with its RSS.
 */

const SEQUENTIAL = 2_000;
const CONCURRENCY = 64;
const CONCURRENT_TOTAL = 64_000;
const CPU_APPENDS = 100_000;
const RECOVERY_RECORDS = 100_000;

/** A decision-like record; `note` is padded so the whole line (seq, ts, kind, prev, hash included) is RECORD_BYTES. */
const RECORD_BYTES = 400;
const DATA = {
  agent_key: "bench-agent",
  run_id: "run_7f3a9c2e1b",
  tool: { name: "search.docs", provider: "internal" },
  decision: "allow",
  note: "",
};
DATA.note = "x".repeat(RECORD_BYTES - sampleLine().length);

function sampleLine(): Buffer {
  return Buffer.from(`{"seq":1000,"ts":"${new Date().toISOString()}","kind":"decision","data":${JSON.stringify(DATA)},"prev":"${"0".repeat(64)}","hash":"${"0".repeat(64)}"}\n`);
}

interface Row {
  label: string;
  lat: LatencySummary;
  rate: number;
}

async function eventLogSequential(file: string): Promise<Row> {
  const { log } = await EventLog.open(file);
  for (let i = 0; i < 200; i++) await log.append("decision", DATA).durable;
  const samples = new Float64Array(SEQUENTIAL);
  const started = process.hrtime.bigint();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = process.hrtime.bigint();
    await log.append("decision", DATA).durable;
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  const rate = SEQUENTIAL / (Number(process.hrtime.bigint() - started) / 1e9);
  await log.close();
  return { label: "EventLog append→durable, c=1", lat: summarize(samples), rate };
}

async function eventLogConcurrent(file: string): Promise<Row & { batch: number }> {
  const { log } = await EventLog.open(file);
  await Promise.all(Array.from({ length: CONCURRENCY }, () => log.append("decision", DATA).durable));
  const before = log.stats;
  const { lat, rate } = await timeConcurrent(() => log.append("decision", DATA).durable, CONCURRENT_TOTAL, CONCURRENCY);
  const after = log.stats;
  await log.close();
  return { label: `EventLog append→durable, c=${CONCURRENCY}`, lat, rate, batch: (after.appends - before.appends) / (after.syncs - before.syncs) };
}

/** Raw floor: one writeSync + fdatasyncSync per `perSync` records; latency is per sync (each record waits for its batch). */
function rawWrites(file: string, line: Buffer, perSync: number, records: number): Row {
  const fd = openSync(file, "w", 0o600);
  const batch = Buffer.concat(Array.from({ length: perSync }, () => line));
  for (let i = 0; i < 100; i++) {
    writeSync(fd, batch);
    fdatasyncSync(fd);
  }
  const syncs = Math.ceil(records / perSync);
  const samples = new Float64Array(syncs);
  const started = process.hrtime.bigint();
  for (let i = 0; i < syncs; i++) {
    const t0 = process.hrtime.bigint();
    writeSync(fd, batch);
    fdatasyncSync(fd);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  const rate = (syncs * perSync) / (Number(process.hrtime.bigint() - started) / 1e9);
  closeSync(fd);
  return { label: perSync === 1 ? "raw writeSync+fdatasync per record" : `raw writeSync+fdatasync per ${perSync} records`, lat: summarize(samples), rate };
}

/** Appends without sync: the CPU side (encode, hash, batching, one write per tick's worth). Leaves the file for recovery. */
async function eventLogCpu(file: string): Promise<{ appendRate: number; writtenRate: number; bytes: number }> {
  const { log } = await EventLog.open(file, { sync: false });
  const started = process.hrtime.bigint();
  let last;
  for (let i = 0; i < CPU_APPENDS; i++) {
    last = log.append("decision", DATA);
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve)); // let batches go out, as a server would
  }
  const appended = Number(process.hrtime.bigint() - started) / 1e9;
  await last!.durable;
  const written = Number(process.hrtime.bigint() - started) / 1e9;
  await log.close();
  return { appendRate: CPU_APPENDS / appended, writtenRate: CPU_APPENDS / written, bytes: statSync(file).size };
}

const RECOVERY_CHILD = `
const { EventLog } = require(process.env.APIE_EVENTLOG_MODULE);
const { verifyLog } = require(process.env.APIE_VERIFY_MODULE);
(async () => {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let records = 0;
  let t0 = process.hrtime.bigint();
  const { log, recovery } = await EventLog.open(process.env.APIE_FILE, { onRecord: () => records++ });
  const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const rssAfter = process.memoryUsage().rss;
  await log.close();
  t0 = process.hrtime.bigint();
  const verified = await verifyLog(process.env.APIE_FILE);
  const verifyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ records, recovered: recovery.records, problems: recovery.problems.length, openMs, rssBefore, rssAfter, rssPeak: process.resourceUsage().maxRSS * 1024, verifyMs, verified: verified.ok }));
})();`;

function recoveryInFreshProcess(file: string): { records: number; openMs: number; verifyMs: number; rssBefore: number; rssAfter: number; rssPeak: number } {
  const r = spawnSync(process.execPath, ["--expose-gc", "--require", "tsx/cjs", "-e", RECOVERY_CHILD], {
    cwd: path.resolve(__dirname, ".."),
    encoding: "utf8",
    env: {
      ...process.env,
      APIE_FILE: file,
      APIE_EVENTLOG_MODULE: path.resolve(__dirname, "../sidecar/store/eventLog.ts"),
      APIE_VERIFY_MODULE: path.resolve(__dirname, "../sidecar/store/auditVerify.ts"),
    },
  });
  if (r.status !== 0) throw new Error(`recovery child failed (${r.status}):\n${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  if (result.records !== RECOVERY_RECORDS || result.problems !== 0 || !result.verified) throw new Error(`recovery child: ${r.stdout}`);
  return result;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function run(report: (line: string) => void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "apie-bench-store-"));
  try {
    const line = sampleLine();
    report(`records of ${line.length} bytes; ${SEQUENTIAL} sequential appends, ${CONCURRENT_TOTAL} at concurrency ${CONCURRENCY}; files in ${tmpdir()}`);

    collectGarbage();
    const rawOne = rawWrites(path.join(dir, "raw1.jsonl"), line, 1, SEQUENTIAL);
    collectGarbage();
    const rawBatch = rawWrites(path.join(dir, "raw64.jsonl"), line, CONCURRENCY, CONCURRENT_TOTAL);
    collectGarbage();
    const seq = await eventLogSequential(path.join(dir, "seq.jsonl"));
    collectGarbage();
    const conc = await eventLogConcurrent(path.join(dir, "conc.jsonl"));
    const rows = [rawOne, rawBatch, seq, conc];
    report(
      formatTable(
        ["", "p50", "p99", "records/s"],
        rows.map((r) => [r.label, formatMicros(r.lat.p50), formatMicros(r.lat.p99), formatRate(r.rate)]),
      ),
    );
    report(`(raw rows: latency of one write+fdatasync, which every record of that batch waits for)`);
    report(
      `c=1: EventLog p50 is ${formatRatio(seq.lat.p50 / rawOne.lat.p50)} the raw per-record p50; ` +
        `c=${CONCURRENCY}: group commit (${conc.batch.toFixed(1)} records per fdatasync on average) gives ${formatRatio(conc.rate / rawOne.rate)} the raw per-record throughput, ` +
        `${formatRatio(conc.rate / rawBatch.rate)} of raw batches of ${CONCURRENCY}`,
    );

    collectGarbage();
    const cpuFile = path.join(dir, "recovery.jsonl");
    const cpu = await eventLogCpu(cpuFile);
    report(`append without sync (encode + sha256 + batching): ${formatRate(cpu.appendRate)} appended, ${formatRate(cpu.writtenRate)} including the writes`);

    const recovery = recoveryInFreshProcess(cpuFile);
    report(
      `recovery of ${RECOVERY_RECORDS.toLocaleString("en-US")} records (${mb(cpu.bytes)}) in a fresh process: open ${recovery.openMs.toFixed(0)} ms ` +
        `(${formatRate((RECOVERY_RECORDS / recovery.openMs) * 1000)}), RSS ${mb(recovery.rssBefore)} before → ${mb(recovery.rssAfter)} after (peak ${mb(recovery.rssPeak)}); ` +
        `audit verify ${recovery.verifyMs.toFixed(0)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
