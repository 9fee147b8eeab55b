import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { verifyLog } from "../../sidecar/store/auditVerify";
import { EVENT_LOG_FILE, EventLog } from "../../sidecar/store/eventLog";

/** Runs the built CLI (dist/cli.js) as a real process, the way a user's shell does. */
const CLI = path.resolve(__dirname, "../../dist/cli.js");
const REPO = path.resolve(__dirname, "../..");

function apie(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("apie audit verify (built CLI, real process)", () => {
  let dir: string;
  let stateDir: string;
  let file: string;
  let lastHash: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-audit-"));
    stateDir = path.join(dir, ".apie");
    mkdirSync(stateDir);
    file = path.join(stateDir, EVENT_LOG_FILE);
    const { log } = await EventLog.open(file);
    log.append("run.started", { run: { id: "run_1" } });
    log.append("decision", { tool: "deploy", decision: "require_approval" });
    log.append("approval.requested", { id: "ap_1", reason: "production deploy" });
    log.append("approval.resolved", { id: "ap_1", status: "approved" });
    await log.append("run.completed", { id: "run_1" }).durable;
    lastHash = log.lastHash;
    await log.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 for an intact log and prints the last hash", () => {
    const r = apie(["audit", "verify", "--state-dir", stateDir], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${file}: ok: 5 records, chain intact (last hash ${lastHash})\n`);
    // Default: .apie/events.jsonl under the current directory.
    const byDefault = apie(["audit", "verify"], dir);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stdout, /^\.apie\/events\.jsonl: ok: 5 records/);
  });

  it("exits 1 naming the line and seq of a record with one byte changed", () => {
    const bytes = readFileSync(file);
    bytes[bytes.indexOf("ap_1")] = "A".charCodeAt(0);
    writeFileSync(file, bytes);
    const r = apie(["audit", "verify", "--state-dir", stateDir], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3 \(seq 3\): hash mismatch \(record was modified\)/);
    assert.match(r.stderr, /the 2 record\(s\) before it are intact/);
    const json = apie(["audit", "verify", "--file", file, "--json"], dir);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), {
      file,
      ok: false,
      records: 2,
      firstBroken: { line: 3, seq: 3, offset: bytes.indexOf('{"seq":3'), reason: "hash mismatch (record was modified)" },
    });
  });

  it("exits 1 naming a deleted record's gap", () => {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.splice(1, 1);
    writeFileSync(file, lines.join("\n"));
    const r = apie(["audit", "verify", "--file", file], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 2 \(seq 3\): seq 3 follows 1/);
  });

  it("exits 1 with a clear message when there is no log, 2 for usage errors", () => {
    const missing = apie(["audit", "verify", "--state-dir", path.join(dir, "elsewhere")], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /elsewhere\/events\.jsonl: no event log here \(file not found\)/);
    for (const args of [["audit"], ["audit", "check"], ["audit", "verify", "--file", file, "--state-dir", stateDir], ["audit", "verify", "--frobnicate"]]) {
      const r = apie(args, dir);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /Usage:\n {2}apie audit verify/);
    }
    assert.match(apie(["audit", "verify", "--file", file, "--state-dir", stateDir], dir).stderr, /--file: give either --file or --state-dir, not both/);
    const help = apie(["audit", "--help"], dir);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--json/);
  });

  it("after kill -9 of a process appending, every acknowledged record is recovered and the chain verifies", async () => {
    // A real writer process: 8 concurrent appenders, each printing the seq once `durable` resolved.
    const script = `
      const { EventLog } = require(${JSON.stringify(path.join(REPO, "sidecar/store/eventLog.ts"))});
      EventLog.open(${JSON.stringify(file)}).then(({ log }) => {
        for (let w = 0; w < 8; w++) (async () => {
          for (;;) { const a = log.append("event", { w, pad: "x".repeat(300) }); await a.durable; process.stdout.write(a.seq + "\\n"); }
        })();
      });`;
    const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let acked = 0;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        acked = Math.max(acked, Number(line));
        if (acked >= 300) resolve();
      });
      child.once("exit", (code) => reject(new Error(`writer exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await exited;
    const { log, recovery } = await EventLog.open(file);
    await log.close();
    assert.deepEqual(recovery.problems.filter((p) => !p.includes("torn last record")), []);
    assert.ok(log.lastSeq >= acked, `acknowledged seq ${acked} but only ${log.lastSeq} recovered`);
    const verified = await verifyLog(file);
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.equal(apie(["audit", "verify", "--state-dir", stateDir], dir).code, 0);
  });
});
