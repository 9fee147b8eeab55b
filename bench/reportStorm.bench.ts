import { Agent, request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeDecisionLog } from "../test/support/decisionLog";
import { spawnUntilReady, type ReadyProcess } from "../test/support/readyProcess";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { formatTable, summarize } from "./stats";

/**
 * Guard latency while boundary reports are generated (issue 11 item 3): a sidecar whose log holds 100 000
 * decisions gets 128 concurrent POST /v1/boundary-reports while one agent asks the guard, one call after
 * the other, about `rm -rf /` (blocked by prod-shell in enforce). Prints the guard's p50/p99/max alone and
 * during the storm, and how the reports were answered (200, or 503 reports_busy past the queue).
 * Goal: the storm does not move the guard's p99 beyond a few ms; never near the SDK's 2 s guard deadline.
 */

const DECISIONS = 100_000;
const REPORTS = 128;
const BASELINE_CALLS = 300;

const BLOCKED_CALL = JSON.stringify({ agent_key: "storm-agent", tool: { name: "run_in_terminal" }, arguments: { command: "rm -rf /" } });

function post(agent: Agent, baseUrl: string, key: string, urlPath: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${urlPath}`, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${key}` } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function guardOnce(agent: Agent, baseUrl: string, key: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { status, text } = await post(agent, baseUrl, key, "/v1/guardrails/evaluate", BLOCKED_CALL);
  const ns = Number(process.hrtime.bigint() - t0);
  if (status !== 200 || JSON.parse(text).enforcement_action !== "block") throw new Error(`guard answered ${status}: ${text.slice(0, 200)}`);
  return ns;
}

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-report-storm-"));
  let sidecar: ReadyProcess | undefined;
  const guardAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const reportAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-shell": true } }));
    await writeDecisionLog(path.join(workspace, ".apie"), DECISIONS);
    sidecar = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
    const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };

    const baseline = new Float64Array(BASELINE_CALLS);
    for (let i = 0; i < 50; i++) await guardOnce(guardAgent, baseUrl, apiKey);
    for (let i = 0; i < BASELINE_CALLS; i++) baseline[i] = await guardOnce(guardAgent, baseUrl, apiKey);

    const statuses = new Map<number, number>();
    let answered = 0;
    const started = performance.now();
    const reports = Array.from({ length: REPORTS }, () =>
      post(reportAgent, baseUrl, apiKey, "/v1/boundary-reports", JSON.stringify({ window: "30d" })).then(({ status }) => {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        answered++;
      }),
    );
    const during: number[] = [];
    while (answered < REPORTS) during.push(await guardOnce(guardAgent, baseUrl, apiKey));
    await Promise.all(reports);
    const stormMs = performance.now() - started;

    const rows = [
      ["alone", summarize(baseline)],
      [`during ${REPORTS} reports`, summarize(Float64Array.from(during))],
    ] as const;
    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    report(`log: ${DECISIONS} decisions; guard: POST /v1/guardrails/evaluate rm -rf / (blocked), one at a time`);
    report(
      formatTable(
        ["guard", "calls", "p50 ms", "p99 ms", "max ms"],
        rows.map(([label, s]) => [label, String(s.samples), ms(s.p50), ms(s.p99), ms(label === "alone" ? Math.max(...baseline) : Math.max(...during))]),
      ),
    );
    report(`reports: ${[...statuses].map(([status, n]) => `${n} × HTTP ${status}`).join(", ")}; storm lasted ${(stormMs / 1000).toFixed(1)} s`);
  } finally {
    guardAgent.destroy();
    reportAgent.destroy();
    if (sidecar !== undefined) {
      sidecar.child.kill("SIGTERM");
      await sidecar.exited;
    }
    rmSync(workspace, { recursive: true, force: true });
  }
}
