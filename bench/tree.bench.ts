import Module from "node:module";
import path from "node:path";
import type { GuardDecision } from "../sidecar/guard/types";
import type { StreamRecord } from "../sidecar/protocol/stream";
import { formatTable } from "./stats";

/**
 * The Runs view with 10 000 records: the real TimelineModel and RunsTreeProvider (extension/), with a
 * stand-in `vscode` module (bench/fixtures/vscodeStub.ts: plain TreeItem/ThemeIcon holders — the editor API
 * cannot run here). Measured: applying 10 000 live records as the sidecar pushes them, and a full refresh of
 * one run holding all of them — getChildren (the records folded into one row per tool call) plus getTreeItem
 * for every row, which is what VS Code asks for.
 * Baseline in the same run: JSON.parse of the same records (what merely receiving them costs).
 * Goal (issue 5): tree refresh with 10 000 events ≤ 50 ms.
 */

const RECORDS = 10_000;

function installVscodeStub(): void {
  const stub = path.resolve(__dirname, "fixtures/vscodeStub.ts");
  const resolve = (Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string })._resolveFilename;
  (Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string })._resolveFilename = (request, ...rest) =>
    request === "vscode" ? stub : resolve(request, ...rest);
}

function decision(i: number): GuardDecision {
  const blocked = i % 10 === 0;
  return {
    decision_id: `dec_${i}`,
    policy_decision: blocked ? "block" : "allow",
    effective_decision: blocked ? "block" : "allow",
    mode: "enforce",
    enforcement_action: blocked ? "block" : "proceed",
    reason: blocked ? "deployment in production" : "no guardrail matched",
    annotation: null,
    matched_guardrails: blocked ? [{ key: "prod-deploys", name: "Production deploys", decision: "block", reason: "deployment in production", source: "template" }] : [],
    inferred: null,
    drift_warnings: [],
    approval_timeout_ms: null,
    policy: { state: "ok", message: null },
  };
}

function records(): StreamRecord[] {
  return Array.from({ length: RECORDS }, (_, i) => ({
    seq: i + 1,
    ts: new Date(Date.UTC(2026, 10, 24, 12, 0, 0, i)).toISOString(),
    kind: "decision",
    data: {
      request: { agent_key: "bench", run_id: "run_1", tool: { name: `tool.${i % 50}`, provider: null, risk_level: null }, action: { type: "read", name: null }, resource: { type: "doc", environment: "production", external_id: null }, arguments: { i } },
      decision: decision(i),
      approval_id: null,
    },
  }));
}

function time(fn: () => void, repeat: number): number {
  fn(); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}

async function timeAsync(fn: () => Promise<void>, repeat: number): Promise<number> {
  await fn(); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}

export async function run(report: (line: string) => void): Promise<void> {
  installVscodeStub();
  const { TimelineModel } = await import("../extension/model/timeline");
  const { RunsTreeProvider } = await import("../extension/views/runsTree");
  const all = records();
  const wire = all.map((r) => JSON.stringify(r));
  const run = { id: "run_1", session_id: null, agent_key: "bench", status: "running" as const, environment: null, input_summary: "bench", output_summary: null, started_at: all[0]!.ts, completed_at: null, event_count: 0 };
  const snapshot = { baseUrl: "", apiKey: "", mode: "enforce" as const, policy: { state: "ok" as const, message: null }, lastSeq: 0, approvals: [], sessions: [], runs: [run], agents: [] };

  const parseMs = time(() => void wire.map((w) => JSON.parse(w)), 5);
  const applyMs = time(() => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot);
    model.setRunRecords("run_1", []);
    for (const r of all) model.applyRecord(r);
  }, 5);
  const model = new TimelineModel();
  model.applySnapshot(snapshot);
  model.setRunRecords("run_1", []);
  for (const r of all) model.applyRecord(r);
  const tree = new RunsTreeProvider(model, async () => undefined);
  const [groupNode] = await tree.getChildren();
  const [runNode] = await tree.getChildren(groupNode);
  let refreshMs = 0;
  {
    const samples: number[] = [];
    for (let r = 0; r < 6; r++) {
      const t0 = process.hrtime.bigint();
      const rows = await tree.getChildren(runNode);
      for (const row of rows) tree.getTreeItem(row);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    refreshMs = samples.slice(1).sort((a, b) => a - b)[2]!;
  }
  // The first expansion of the run: nothing folded yet (a fresh provider each time).
  const firstMs = await timeAsync(async () => {
    const fresh = new RunsTreeProvider(model, async () => undefined);
    const [group] = await fresh.getChildren();
    const [runRow] = await fresh.getChildren(group);
    for (const row of await fresh.getChildren(runRow)) fresh.getTreeItem(row);
    fresh.dispose();
  }, 5);
  // The live case: one more record arrives, then the run is refreshed (only the new record is folded).
  let next = RECORDS;
  const liveMs = await timeAsync(async () => {
    next++;
    model.applyRecord({ ...all[next % RECORDS]!, seq: next, ts: new Date(Date.UTC(2026, 10, 24, 12, 1, 0, next)).toISOString() });
    for (const row of await tree.getChildren(runNode)) tree.getTreeItem(row);
  }, 5);
  tree.dispose();
  report(
    formatTable(
      ["10 000 records", "ms (median)"],
      [
        ["baseline: JSON.parse of the records", parseMs.toFixed(1)],
        ["apply as live records (TimelineModel)", applyMs.toFixed(1)],
        ["full refresh of the run (getChildren + getTreeItem for every row)", refreshMs.toFixed(1)],
        ["first expansion (every record folded into calls, every row)", firstMs.toFixed(1)],
        ["refresh after one more live record", liveMs.toFixed(1)],
      ],
    ),
  );
  report(`goal: tree refresh with 10 000 events <= 50 ms: ${refreshMs <= 50 ? "PASS" : "FAIL"} (${refreshMs.toFixed(1)} ms; ${(refreshMs / parseMs).toFixed(1)}x the parse baseline)`);
}
