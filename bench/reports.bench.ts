import { Agent, request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnUntilReady, type ReadyProcess } from "../test/support/readyProcess";
import { BENCH_TEMPLATES, cpuMs } from "./mcpStdio";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { formatRatio, formatTable } from "./stats";

/**
 * What a decision the MCP proxy's replica made costs the sidecar (issue 14: a stream of calls that never
 * pauses has the sidecar journal the reports while the calls run, on the same two cores). Sidecar CPU per
 * call, read from /proc: POST /v1/guardrails/decisions in batches of 500 (as ReportOutbox sends them, each
 * with its outcome: a decision and an outcome event journaled per call) against the baseline of the sidecar
 * deciding the same call itself (POST /v1/guardrails/evaluate, 4 in flight). Rounds alternate the two.
 *
 * The sidecar first takes FILL reports, so its bounded memories (reported ids: 10 000, logged event ids:
 * 50 000) are full as in a sidecar that has run for a while. `SIDECAR_CLI=<dist>/cli.js` measures another build.
 */

const BATCH = 500;
const FILL = 60_000;
const ROUNDS = 6;
const REPORTS_PER_ROUND = 40 * BATCH;
const EVALUATES_PER_ROUND = 8_000;
const IN_FLIGHT = 4;

/** The evaluate body the proxy builds for server-everything's `echo` (as LocalGuard reports it). */
const ECHO_BODY = {
  agent_key: "bench-mcp",
  run_id: "mcp_bench",
  mode: "monitor",
  risk_level: null,
  tool: { name: "echo", provider: "everything", riskLevel: null },
  action: { type: null, name: "echo" },
  resource: null,
  metadata: { mcp: { server: "everything" } },
  arguments: { message: "how do I rotate keys" },
};
const EVALUATE_JSON = JSON.stringify(ECHO_BODY);

let reported = 0;
/** A batch of reports as ReportOutbox sends it: fresh decision ids, each call completed. */
function reportBatch(): string {
  const at = new Date().toISOString();
  const decisions = Array.from({ length: BATCH }, () => ({ decision_id: `dec_bench_${reported++}`, body: ECHO_BODY, decided_at: at, outcome: { status: "completed", at } }));
  return JSON.stringify({ decisions });
}

function post(agent: Agent, baseUrl: string, key: string, urlPath: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${urlPath}`, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${key}` } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`${urlPath} answered ${res.statusCode}: ${text.slice(0, 300)}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Sidecar CPU (µs) per call of `work`, which makes `calls` calls; idle before and after so nothing spills over. */
async function cpuPerCall(pid: number, calls: number, work: () => Promise<void>): Promise<number> {
  await new Promise((r) => setTimeout(r, 200));
  const before = cpuMs(pid);
  await work();
  // Lazily journaled records are written within ~10 ms of the answer; their write is part of the cost.
  await new Promise((r) => setTimeout(r, 200));
  const after = cpuMs(pid);
  if (before === undefined || after === undefined) throw new Error("this bench reads /proc/<pid>/stat (Linux only)");
  return ((after - before) * 1000) / calls;
}

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-reports-bench-"));
  let sidecar: ReadyProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  try {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "monitor", templates: BENCH_TEMPLATES }));
    sidecar = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
    const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };
    const pid = sidecar.child.pid!;
    const sendReports = async (count: number) => {
      for (let i = 0; i < count / BATCH; i++) await post(agent, baseUrl, apiKey, "/v1/guardrails/decisions", reportBatch());
    };
    const evaluate = async (count: number) => {
      let next = 0;
      const lane = async () => {
        while (next++ < count) await post(agent, baseUrl, apiKey, "/v1/guardrails/evaluate", EVALUATE_JSON);
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    };
    await sendReports(FILL);
    await evaluate(2_000);

    const perReport: number[] = [];
    const perEvaluate: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so a drift in the machine's load falls on both alike.
      const reports = () => cpuPerCall(pid, REPORTS_PER_ROUND, () => sendReports(REPORTS_PER_ROUND)).then((us) => void perReport.push(us));
      const evaluates = () => cpuPerCall(pid, EVALUATES_PER_ROUND, () => evaluate(EVALUATES_PER_ROUND)).then((us) => void perEvaluate.push(us));
      if (round % 2 === 0) await reports().then(evaluates);
      else await evaluates().then(reports);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const us = (x: number) => `${x.toFixed(1)} µs`;
    const rows = [
      ["decided by the sidecar (evaluate, baseline)", us(median(perEvaluate)), `${us(Math.min(...perEvaluate))}–${us(Math.max(...perEvaluate))}`, "1.0x"],
      ["reported by the proxy (decision + outcome)", us(median(perReport)), `${us(Math.min(...perReport))}–${us(Math.max(...perReport))}`, formatRatio(median(perReport) / median(perEvaluate))],
    ];
    report(`sidecar CPU per call after ${FILL} reports; ${ROUNDS} alternating rounds of ${REPORTS_PER_ROUND} reports (batches of ${BATCH}) and ${EVALUATES_PER_ROUND} evaluates (${IN_FLIGHT} in flight)`);
    report(formatTable(["path", "median", "range", "vs baseline"], rows));
  } finally {
    agent.destroy();
    if (sidecar !== undefined) {
      sidecar.child.kill("SIGTERM");
      await sidecar.exited;
    }
    rmSync(workspace, { recursive: true, force: true });
  }
}
