import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Capability } from "../../../sidecar/guard/policySchema";
import type { Decision, GuardDecision } from "../../../sidecar/guard/types";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";
import type { RecordDataByKind, TimelineRecord } from "../../../sidecar/protocol/records";
import { BoundaryTally, buildBoundaryReport, generateBoundaryReport, type AgentInfo, type ReportFilter } from "../../../sidecar/store/boundaryReport";
import { Journal } from "../../../sidecar/store/journal";

const T0 = Date.parse("2025-06-01T12:00:00.000Z");
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * HOUR).toISOString();
const window24h: ReportFilter["window"] = { label: "24h", start: T0 - 24 * HOUR, end: T0 };

let seq = 0;
function decisionData(
  agent: string,
  tool: string,
  effective: Decision,
  extra: { annotation?: GuardDecision["annotation"]; env?: string; approval?: string; drift?: GuardDecision["drift_warnings"] } = {},
): RecordDataByKind["decision"] {
  return {
    request: {
      agent_key: agent,
      run_id: null,
      tool: { name: tool, provider: null, risk_level: null },
      action: { type: "execute", name: tool },
      resource: { type: null, environment: extra.env ?? null, external_id: null },
      arguments: null,
    },
    decision: {
      decision_id: `dec_${++seq}`,
      policy_decision: extra.annotation === "would_block" ? "block" : effective,
      effective_decision: effective,
      mode: extra.annotation ? "monitor" : "enforce",
      enforcement_action: effective === "block" ? "block" : effective === "require_approval" ? "wait_for_approval" : effective === "warn" ? "warn" : "proceed",
      reason: "",
      annotation: extra.annotation ?? null,
      matched_guardrails: [],
      inferred: null,
      drift_warnings: extra.drift ?? [],
      approval_timeout_ms: null,
      policy: { state: "ok", message: null },
    },
    approval_id: extra.approval ?? null,
  };
}

const decision = (hours: number, ...args: Parameters<typeof decisionData>): TimelineRecord => ({ seq: ++seq, ts: at(hours), kind: "decision", data: decisionData(...args) });

const toolEvent = (hours: number, agent: string, tool: string, type = "agent.tool.called"): TimelineRecord => ({
  seq: ++seq,
  ts: at(hours),
  kind: "event",
  data: { event: { type, agent_key: agent, tool: { name: tool }, run_id: undefined } as RecordDataByKind["event"]["event"] },
});

const cap = (name: string, extra: Partial<Capability> = {}): Capability => ({ tool: { name }, actions: ["execute"], resources: [], ...extra });
const agent = (key: string, capabilities: Capability[] = [], id: string | null = `agt_${key}`): AgentInfo => ({ key, id, name: null, capabilities });
const meta = { reportId: "rpt_test", generatedAt: at(0) };

describe("boundary report builder", () => {
  it("compares declared with observed tools: calls, decisions by kind, drift, unused declarations", () => {
    const records = [
      decision(-1, "release-gate", "deploy.release", "require_approval", { env: "production", approval: "apr_1" }),
      decision(-2, "release-gate", "deploy.release", "allow", { env: "staging" }),
      decision(-3, "release-gate", "shell.exec", "warn", { drift: [{ code: "undeclared_tool", message: "x" }] }),
      decision(-4, "release-gate", "shell.exec", "block"),
      decision(-5, "release-gate", "fs.read", "allow"),
    ];
    const report = buildBoundaryReport({
      filter: { window: window24h },
      records,
      agents: [agent("release-gate", [cap("deploy.release"), cap("fs.*"), cap("db.query")])],
      meta,
    });
    assert.equal(report.agents.length, 1);
    const a = report.agents[0]!;
    assert.equal(a.has_contract, true);
    assert.deepEqual(a.undeclared_tools, ["shell.exec"]);
    assert.deepEqual(a.unused_declared_tools, ["db.query"]);
    const deploy = a.observed.find((t) => t.name === "deploy.release")!;
    assert.equal(deploy.declared, true);
    assert.equal(deploy.calls, 2);
    assert.deepEqual(deploy.decisions, { allow: 1, warn: 0, require_approval: 1, block: 0 });
    assert.equal(deploy.approvals_requested, 1);
    assert.deepEqual(deploy.environments, ["production", "staging"]);
    const shell = a.observed.find((t) => t.name === "shell.exec")!;
    assert.equal(shell.declared, false);
    assert.equal(shell.blocked, 1);
    assert.deepEqual(shell.drift, ["undeclared_tool"]);
    // A glob capability covers the tools it matches.
    assert.equal(a.observed.find((t) => t.name === "fs.read")!.declared, true);
    assert.equal(a.declared.find((d) => d.tool === "fs.*")!.calls, 1);
    assert.deepEqual(a.totals.decisions, { allow: 2, warn: 1, require_approval: 1, block: 1 });
    assert.equal(report.totals.undeclared_tools, 1);
    assert.equal(report.totals.blocked, 1);
    assert.equal(report.totals.calls, 5);
  });

  it("does not count a decision made after its caller had stopped waiting (late) as a call", () => {
    const late = decision(-1, "release-gate", "deploy.release", "allow");
    (late.data as RecordDataByKind["decision"]).late = { caller_gave_up_at: at(-1) };
    const report = buildBoundaryReport({ filter: { window: window24h }, records: [late, decision(-2, "release-gate", "deploy.release", "allow")], agents: [agent("release-gate", [cap("deploy.release")])], meta });
    const deploy = report.agents[0]!.observed.find((t) => t.name === "deploy.release")!;
    assert.equal(deploy.calls, 1);
    assert.deepEqual(deploy.decisions, { allow: 1, warn: 0, require_approval: 0, block: 0 });
  });

  it("keeps only the window", () => {
    const report = buildBoundaryReport({
      filter: { window: window24h },
      records: [decision(-1, "a", "t", "allow"), decision(-30, "a", "old", "block"), decision(1, "a", "future", "allow")],
      agents: [],
      meta,
    });
    assert.deepEqual(
      report.agents[0]!.observed.map((t) => t.name),
      ["t"],
    );
    assert.equal(report.window.start, at(-24));
    assert.equal(report.window.end, at(0));
  });

  it("counts monitor-mode would-block and would-require-approval calls separately from effective decisions", () => {
    const report = buildBoundaryReport({
      filter: { window: window24h },
      records: [decision(-1, "a", "deploy", "allow", { annotation: "would_block" }), decision(-2, "a", "deploy", "allow", { annotation: "would_require_approval" })],
      agents: [],
      meta,
    });
    const t = report.agents[0]!.observed[0]!;
    assert.equal(t.decisions.allow, 2);
    assert.equal(t.would_block, 1);
    assert.equal(t.would_require_approval, 1);
    assert.equal(t.blocked, 0);
  });

  it("an agent without declarations has no contract and no drift", () => {
    const report = buildBoundaryReport({ filter: { window: window24h }, records: [decision(-1, "free", "anything", "allow")], agents: [agent("free")], meta });
    const a = report.agents[0]!;
    assert.equal(a.has_contract, false);
    assert.equal(a.observed[0]!.declared, null);
    assert.deepEqual(a.undeclared_tools, []);
  });

  it("counts reported tool-call events without double counting guarded ones", () => {
    const records = [
      decision(-1, "a", "deploy", "allow"),
      toolEvent(-1, "a", "deploy"),
      toolEvent(-2, "a", "test_tool"),
      toolEvent(-2, "a", "test_tool", "agent.action.requested"), // not a call
    ];
    const a = buildBoundaryReport({ filter: { window: window24h }, records, agents: [agent("a", [cap("deploy")])], meta }).agents[0]!;
    const deploy = a.observed.find((t) => t.name === "deploy")!;
    assert.equal(deploy.guarded_calls, 1);
    assert.equal(deploy.reported_calls, 1);
    assert.equal(deploy.calls, 1);
    const unguarded = a.observed.find((t) => t.name === "test_tool")!;
    assert.equal(unguarded.calls, 1);
    assert.equal(unguarded.declared, false);
    assert.deepEqual(a.undeclared_tools, ["test_tool"]);
    assert.equal(a.totals.calls, 2);
  });

  it("lists agents with a contract but no activity (everything unused), and filters by agent and environment", () => {
    const records = [decision(-1, "a", "deploy", "allow", { env: "production" }), decision(-1, "a", "deploy", "allow", { env: "dev" }), decision(-1, "b", "x", "allow")];
    const agents = [agent("a"), agent("b"), agent("idle", [cap("backup.run")])];
    const all = buildBoundaryReport({ filter: { window: window24h }, records, agents, meta });
    assert.deepEqual(
      all.agents.map((a) => a.agent_key),
      ["a", "b", "idle"],
    );
    assert.deepEqual(all.agents[2]!.unused_declared_tools, ["backup.run"]);

    const onlyA = buildBoundaryReport({ filter: { window: window24h, agentKey: "a", environments: ["Production"] }, records, agents, meta });
    assert.deepEqual(
      onlyA.agents.map((a) => a.agent_key),
      ["a"],
    );
    assert.equal(onlyA.agents[0]!.observed[0]!.calls, 1);
    assert.deepEqual(onlyA.filters, { agent_key: "a", environments: ["Production"], agent_version_id: null });
  });

  it("counts approvals opened in the window by their current status", () => {
    const approval = (id: string, hours: number, status: ApprovalView["status"]) => ({ id, agent_key: "a", created_at: at(hours), status, resource: { type: null, environment: null, external_id: null } }) as ApprovalView;
    const tally = new BoundaryTally({ window: window24h });
    for (const a of [approval("1", -1, "approved"), approval("2", -2, "pending"), approval("3", -48, "rejected")]) tally.addApproval(a);
    const report = tally.build([agent("a")], meta);
    assert.deepEqual(report.agents[0]!.approvals, { pending: 1, approved: 1, rejected: 0, expired: 0, cancelled: 0 });
    assert.deepEqual(report.totals.approvals, { pending: 1, approved: 1, rejected: 0, expired: 0, cancelled: 0 });
  });
});

describe("generateBoundaryReport (over a real journal on disk)", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "apie-report-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads decisions through the time index and tool events through the runs, also after a reopen", async () => {
    const file = path.join(dir, "events.jsonl");
    let { journal } = await Journal.open(file, { sync: false });
    journal.record("decision", decisionData("a", "deploy", "require_approval", { approval: "apr_1" }));
    journal.record("decision", decisionData("a", "shell.exec", "warn"));
    const run = { id: "run_1", session_id: null, agent_key: "a", status: "running" as const, environment: null, input_summary: null, output_summary: null, started_at: new Date().toISOString(), completed_at: null, event_count: 0 };
    journal.record("run.started", { run, parent_run_id: null, step_key: null, step_name: null, role: null });
    journal.record("event", { event: { type: "agent.tool.called", agent_key: "a", run_id: "run_1", tool: { name: "lookup" } } as RecordDataByKind["event"]["event"] });
    await journal.record("event", { event: { type: "agent.error", agent_key: "a", run_id: "run_1" } as RecordDataByKind["event"]["event"] }).durable;
    const now = Date.now();
    const options = { filter: { window: { label: "24h", start: now - 24 * HOUR, end: now + 1000 } }, agents: [agent("a", [cap("deploy")])], meta };

    const check = async () => {
      const report = await generateBoundaryReport(journal, options);
      const a = report.agents[0]!;
      assert.deepEqual(
        a.observed.map((t) => [t.name, t.calls]),
        [
          ["deploy", 1],
          ["lookup", 1],
          ["shell.exec", 1],
        ],
      );
      assert.deepEqual(a.undeclared_tools, ["lookup", "shell.exec"]);
      assert.equal(a.totals.approvals_requested, 1);
    };
    await check();
    await journal.close();
    ({ journal } = await Journal.open(file, { sync: false }));
    await check();
    const empty = await generateBoundaryReport(journal, { ...options, filter: { window: { label: "1h", start: now - 48 * HOUR, end: now - 47 * HOUR } } });
    assert.equal(empty.totals.calls, 0);
    await journal.close();
  });
});
