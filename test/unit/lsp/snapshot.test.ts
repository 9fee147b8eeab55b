import { strict as assert } from "node:assert";
import type { Capability } from "../../../sidecar/guard/policySchema";
import type { Decision } from "../../../sidecar/guard/types";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";
import type { RecordDataByKind, RecordKind, TimelineRecord } from "../../../sidecar/protocol/records";
import type { RunView } from "../../../sidecar/protocol/runs";
import { agentBoundaries, buildSnapshot, mostRecent, SNAPSHOT_LIMITS, type SnapshotSources } from "../../../sidecar/lsp/snapshot";
import { Projection } from "../../../sidecar/store/projection";

const T0 = Date.parse("2025-06-01T12:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** Builds a Projection the way the journal does: records applied in log order. */
class Log {
  readonly state = new Projection();
  private seq = 0;
  add<K extends RecordKind>(kind: K, data: RecordDataByKind[K], ts = at(this.seq)): void {
    const record: TimelineRecord<K> = { seq: ++this.seq, ts, kind, data };
    this.state.apply(record as TimelineRecord, this.seq * 100);
  }
}

const run = (id: string, startedAt: string): RunView => ({
  id,
  session_id: null,
  agent_key: "release-gate",
  status: "running",
  environment: null,
  input_summary: null,
  output_summary: null,
  started_at: startedAt,
  completed_at: null,
  event_count: 0,
});

const approval = (id: string, createdAt: string): ApprovalView => ({
  id,
  status: "pending",
  action_hash: "h",
  agent_key: "release-gate",
  run_id: null,
  decision_id: `dec_${id}`,
  tool: { name: "deploy.release", provider: null },
  action: { type: "execute", name: null },
  resource: { type: "deployment_event", environment: "production", external_id: null },
  risk_level: null,
  arguments: null,
  reason: "",
  matched_guardrails: [],
  created_at: createdAt,
  expires_at: at(100_000),
  resolved_at: null,
  resolved_by: null,
  resolution_reason: null,
  scope: null,
});

const decision = (agent: string, tool: string, effective: Decision, annotation: "would_block" | null = null): RecordDataByKind["decision"] => ({
  request: {
    agent_key: agent,
    run_id: null,
    tool: { name: tool, provider: "cicd", risk_level: null },
    action: { type: "execute", name: tool },
    resource: { type: null, environment: null, external_id: null },
    arguments: null,
  },
  decision: {
    decision_id: "d",
    policy_decision: effective,
    effective_decision: effective,
    mode: "enforce",
    enforcement_action: "proceed",
    reason: "",
    annotation,
    matched_guardrails: [],
    inferred: null,
    drift_warnings: [],
    approval_timeout_ms: null,
    policy: { state: "ok", message: null },
  },
  approval_id: null,
});

const cap = (name: string): Capability => ({ tool: { name }, actions: ["execute"], resources: [] });

function sources(log: Log, extra: Partial<SnapshotSources> = {}): SnapshotSources {
  return {
    state: log.state,
    baseUrl: "http://127.0.0.1:1234",
    apiKey: "apie_agent",
    status: { mode: "enforce", policy: { state: "ok", message: null } },
    declaredCapabilities: (key) => log.state.agents.get(key)?.capabilities ?? [],
    policyAgentKeys: [],
    ...extra,
  };
}

describe("lsp snapshot", () => {
  it("carries the agent key, mode, policy status and log position", () => {
    const log = new Log();
    log.add("mode.changed", { mode: "enforce", by: "editor" });
    const snapshot = buildSnapshot(sources(log, { status: { mode: "monitor", policy: { state: "stale", message: "apie.policy.json:1:1: broken" } } }));
    assert.equal(snapshot.baseUrl, "http://127.0.0.1:1234");
    assert.equal(snapshot.apiKey, "apie_agent");
    assert.equal(snapshot.mode, "monitor");
    assert.deepEqual(snapshot.policy, { state: "stale", message: "apie.policy.json:1:1: broken" });
    assert.equal(snapshot.lastSeq, 1);
    assert.ok(!JSON.stringify(snapshot).includes("admin"));
  });

  it("keeps every pending approval and only the 50 most recently resolved, pending first", () => {
    const log = new Log();
    for (let i = 0; i < 70; i++) log.add("approval.requested", { approval: approval(`apr_${i}`, at(i)) });
    // Resolve 60 of them, in an order unlike their creation order: resolved_at decides recency.
    for (let i = 0; i < 60; i++) {
      const id = `apr_${(i * 7) % 60}`;
      log.add("approval.resolved", { id, status: i % 2 ? "approved" : "rejected", resolved_at: at(1000 + i), resolved_by: "editor", resolution_reason: null });
    }
    const { approvals } = buildSnapshot(sources(log));
    const pending = approvals.filter((a) => a.status === "pending");
    const resolved = approvals.filter((a) => a.status !== "pending");
    assert.equal(pending.length, 10);
    assert.deepEqual(pending.map((a) => a.id), Array.from({ length: 10 }, (_, i) => `apr_${69 - i}`));
    assert.equal(resolved.length, SNAPSHOT_LIMITS.resolvedApprovals);
    assert.deepEqual(approvals.slice(0, 10), pending);
    // The newest resolution first; the 10 oldest resolutions (i = 0..9) are left out.
    assert.equal(resolved[0]!.id, `apr_${(59 * 7) % 60}`);
    assert.equal(resolved.at(-1)!.id, `apr_${(10 * 7) % 60}`);
  });

  it("has the 200 most recent runs and sessions by start time, newest first", () => {
    const log = new Log();
    // Started out of log order: the start time decides, not the order they were recorded.
    for (let i = 0; i < 250; i++) {
      const t = (i * 37) % 250;
      log.add("run.started", { run: run(`run_${t}`, at(t)), parent_run_id: null, step_key: null, step_name: null, role: null });
      log.add("session.started", {
        session: { id: `ses_${t}`, kind: null, status: "running", environment: null, input_summary: null, output_summary: null, started_at: at(t), completed_at: null, run_ids: [] },
        orchestrator_agent_key: null,
      });
    }
    const snapshot = buildSnapshot(sources(log));
    assert.equal(snapshot.runs.length, SNAPSHOT_LIMITS.runs);
    assert.equal(snapshot.sessions.length, SNAPSHOT_LIMITS.sessions);
    assert.deepEqual(snapshot.runs.slice(0, 3).map((r) => r.id), ["run_249", "run_248", "run_247"]);
    assert.equal(snapshot.runs.at(-1)!.id, "run_50");
    assert.equal(snapshot.sessions.at(-1)!.id, "ses_50");
  });

  it("copies what the projection keeps changing", () => {
    const log = new Log();
    log.add("run.started", { run: run("run_1", at(0)), parent_run_id: null, step_key: null, step_name: null, role: null });
    log.add("approval.requested", { approval: approval("apr_1", at(1)) });
    const snapshot = buildSnapshot(sources(log));
    log.add("run.completed", { id: "run_1", status: "completed", output_summary: null, completed_at: at(2) });
    log.add("approval.resolved", { id: "apr_1", status: "approved", resolved_at: at(3), resolved_by: "editor", resolution_reason: null });
    assert.equal(snapshot.runs[0]!.status, "running");
    assert.equal(snapshot.approvals[0]!.status, "pending");
  });

  it("compares declared capabilities with observed tools using the engine's name matching (globs)", () => {
    const log = new Log();
    log.add("agent.identified", { agent_id: "agt_1", agent_key: "release-gate", name: "Release gate" });
    log.add("capabilities.declared", { agent_key: "release-gate", capabilities: [cap("deploy.*")] });
    log.add("decision", decision("release-gate", "deploy.release", "require_approval"));
    log.add("decision", decision("release-gate", "deploy.release", "allow"));
    log.add("decision", decision("release-gate", "shell.exec", "allow", "would_block"));
    log.add("decision", decision("undeclared-bot", "fs.read", "allow"));
    const policyDeclared: Record<string, Capability[]> = { "release-gate": [cap("db.query")], "policy-only": [cap("fs.read")] };
    const agents = agentBoundaries({
      state: log.state,
      // What engine.declaredCapabilities returns: runtime declarations merged with the policy's.
      declaredCapabilities: (key) => [...(policyDeclared[key] ?? []), ...(log.state.agents.get(key)?.capabilities ?? [])],
      policyAgentKeys: Object.keys(policyDeclared),
    });
    assert.deepEqual(agents.map((a) => a.key), ["release-gate", "undeclared-bot", "policy-only"]);
    const gate = agents[0]!;
    assert.equal(gate.id, "agt_1");
    assert.equal(gate.name, "Release gate");
    assert.deepEqual(gate.declared.map((c) => c.tool.name), ["db.query", "deploy.*"]);
    const deploy = gate.observed.find((t) => t.name === "deploy.release")!;
    assert.equal(deploy.declared, true);
    assert.equal(deploy.calls, 2);
    assert.deepEqual(deploy.decisions, { allow: 1, warn: 0, require_approval: 1, block: 0 });
    const shell = gate.observed.find((t) => t.name === "shell.exec")!;
    assert.equal(shell.declared, false);
    assert.equal(shell.wouldBlock, 1);
    assert.equal(agents[1]!.observed[0]!.declared, false);
    assert.deepEqual(agents[1]!.declared, []);
    assert.deepEqual(agents[2]!, { key: "policy-only", id: "", name: null, declared: [cap("fs.read")], observed: [] });
  });

  it("mostRecent orders by time, later-added first on ties, and ignores unparsable times", () => {
    const items = [{ t: at(1), n: "a" }, { t: at(2), n: "b" }, { t: at(1), n: "c" }, { t: "garbage", n: "d" }];
    assert.deepEqual(mostRecent(items, (i) => i.t, 3).map((i) => i.n), ["b", "c", "a"]);
  });
});
