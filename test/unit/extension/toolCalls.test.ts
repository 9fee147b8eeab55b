import { strict as assert } from "node:assert";
import type { WireEvent } from "../../../sidecar/protocol/events";
import { callSteps, callState, presentCall } from "../../../extension/model/callPresenters";
import { callDetails } from "../../../extension/model/callDetails";
import { renderCallDetails } from "../../../extension/story/callDetailsHtml";
import { foldRun, RunFolds, type ToolCall } from "../../../extension/model/toolCalls";
import { approval, decision, rec, request, resetSeq } from "./fixtures";

/** A wire event as an SDK sends it: only the fields it has (the schema keeps the rest as sent). */
const wire = (e: Record<string, unknown>) => e as unknown as WireEvent;

const event = (type: string, extra: Record<string, unknown> = {}) =>
  rec("event", { event: wire({ type, agent_key: "release-gate", run_id: "run_1", tool: { name: "deploy.release" }, ...extra }) });

const requireApproval = decision({ decision_id: "dec_1", policy_decision: "require_approval", effective_decision: "require_approval", enforcement_action: "wait_for_approval", matched_guardrails: [{ key: "prod-deploys", name: "Production deploys", decision: "require_approval", reason: "deployment in production", source: "template" }] });
const granted = decision({ decision_id: "dec_2", policy_decision: "require_approval", effective_decision: "allow", enforcement_action: "proceed", reason: "approved (apr_1): deployment in production", matched_guardrails: requireApproval.matched_guardrails });

/** What the sidecar logs for the SDK's withTool on a call that needs approval, approved in the editor. */
function approvedDeploy() {
  return [
    rec("run.started", { run: { id: "run_1", session_id: null, agent_key: "release-gate", status: "running", environment: "production", input_summary: "Production deploy attempt", output_summary: null, started_at: "2026-11-24T12:00:00.000Z", completed_at: null, event_count: 0 }, parent_run_id: null, step_key: null, step_name: null, role: null }),
    rec("decision", { request: request(), decision: requireApproval, approval_id: "apr_1" }),
    rec("approval.requested", { approval: approval() }),
    rec("approval.resolved", { id: "apr_1", status: "approved", resolved_at: "2026-11-24T12:00:04.000Z", resolved_by: "editor", resolution_reason: null }),
    rec("decision", { request: request(), decision: granted, approval_id: null }),
    event("agent.action.completed", { metadata: { decision_id: "dec_2", result: { status: "completed" } } }),
    rec("run.completed", { id: "run_1", status: "completed", output_summary: null, completed_at: "2026-11-24T12:00:07.000Z" }),
  ];
}

const calls = (entries: ReturnType<typeof foldRun>): ToolCall[] => entries.flatMap((e) => (e.type === "call" ? [e.call] : []));

describe("tool calls: a run's records folded into one row per call", () => {
  beforeEach(() => resetSeq());

  it("folds an SDK call that needed approval into ONE call with 3 children: decision, approval, outcome", () => {
    const entries = foldRun("run_1", approvedDeploy());
    assert.equal(entries.length, 1, `one row, not one per record: ${JSON.stringify(entries.map((e) => e.type))}`);
    const [call] = calls(entries);
    assert.equal(call!.records.length, 5, "the run's start and end are the run row's, every other record is the call's");
    assert.equal(callState(call!), "approved");
    const row = presentCall(call!);
    assert.equal(row.label, "deploy.release · production");
    assert.match(row.description, /^approved · Production deploys · \d/);
    const steps = callSteps(call!);
    assert.deepEqual(steps.map((s) => s.part), ["decision", "approval", "outcome"]);
    assert.deepEqual(steps.map((s) => s.label), ["Decision: approval required", "Approval: approved by editor", "Outcome: completed"]);
    assert.match(steps[0]!.description, /prod-deploys/);
    assert.match(steps[0]!.description, /grant spent/);
    // No raw record kind or event type in any row a person reads.
    for (const text of [row.label, row.description, ...steps.flatMap((s) => [s.label, s.description])]) assert.doesNotMatch(text, /approval\.requested|agent\.|action\.completed|approval\.resolved/);
  });

  it("joins the decision that spent the grant by its record's spent_approval, whatever its reason says", () => {
    const reworded = decision({ ...granted, reason: "deployment in production (grant spent)" });
    const records = approvedDeploy().map((r) =>
      r.kind === "decision" && (r.data as { decision: { decision_id: string } }).decision.decision_id === "dec_2" ? rec("decision", { request: request(), decision: reworded, approval_id: null, spent_approval: "apr_1" }) : r,
    );
    const entries = foldRun("run_1", records);
    assert.equal(entries.length, 1, `one row: ${JSON.stringify(entries.map((e) => e.type))}`);
    const [call] = calls(entries);
    assert.equal(call!.decisions.length, 2);
    assert.equal(callState(call!), "approved");
  });

  it("says while the call waits, and when the answer was no, expired or cancelled", () => {
    const [decided, requested] = [rec("decision", { request: request(), decision: requireApproval, approval_id: "apr_1" }), rec("approval.requested", { approval: approval() })];
    const waiting = calls(foldRun("run_1", [decided, requested]))[0]!;
    assert.equal(callState(waiting), "waiting");
    assert.equal(presentCall(waiting).description, "waiting for approval · Production deploys", "no duration while it waits");
    for (const status of ["rejected", "expired", "cancelled"] as const) {
      const resolved = rec("approval.resolved", { id: "apr_1", status, resolved_at: "2026-11-24T12:00:09.000Z", resolved_by: status === "expired" ? "expiry" : "editor", resolution_reason: status === "rejected" ? "not on a Friday" : null });
      const [call] = calls(foldRun("run_1", [decided, requested, resolved]));
      assert.equal(callState(call!), status);
      const approvalRow = callSteps(call!).find((s) => s.part === "approval")!;
      if (status === "rejected") assert.deepEqual([approvalRow.label, approvalRow.description.startsWith("not on a Friday")], ["Approval: rejected by editor", true]);
      if (status === "expired") assert.equal(approvalRow.label, "Approval: nobody answered in time");
    }
    // The SDK's run ends with the ApieError the agent got: it is the rejected call's, not a row of its own.
    const rejected = rec("approval.resolved", { id: "apr_1", status: "rejected", resolved_at: "2026-11-24T12:00:09.000Z", resolved_by: "editor", resolution_reason: "not on a Friday" });
    const entries = foldRun("run_1", [decided, requested, rejected, event("agent.error", { tool: undefined, error: { message: "Approval apr_1 (prod-deploys) was rejected: not on a Friday" } })]);
    assert.deepEqual(entries.map((e) => e.type), ["call"]);
    assert.deepEqual(callSteps(calls(entries)[0]!).map((s) => s.label), ["Decision: approval required", "Approval: rejected by editor", "Outcome: not run"]);
  });

  it("keeps two calls apart, and joins each outcome to its own decision even when logged out of order", () => {
    const first = decision({ decision_id: "dec_a", effective_decision: "allow", policy_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] });
    const second = decision({ decision_id: "dec_b" });
    const records = [
      rec("decision", { request: { ...request(), tool: { name: "fs.read_file", provider: "local", risk_level: null }, arguments: { path: "README.md" } }, decision: first, approval_id: null }),
      rec("decision", { request: request(), decision: second, approval_id: null }),
      event("agent.action.completed", { tool: { name: "fs.read_file" }, metadata: { decision_id: "dec_a" } }),
    ];
    const [read, deploy] = calls(foldRun("run_1", records));
    assert.deepEqual([presentCall(read!).label, callState(read!)], ["fs.read_file · README.md", "completed"]);
    assert.deepEqual([presentCall(deploy!).label, callState(deploy!)], ["deploy.release · production", "blocked"]);
    // An outcome logged before its decision (an MCP proxy's replica reports both later) still joins it.
    resetSeq();
    const early = [event("agent.action.failed", { error: { message: "exit 1" }, metadata: { decision_id: "dec_a" } }), rec("decision", { request: request(), decision: first, approval_id: null })];
    const folded = calls(foldRun("run_1", early));
    assert.equal(folded.length, 1);
    assert.equal(callState(folded[0]!), "failed");
    assert.deepEqual(callSteps(folded[0]!).map((s) => `${s.label}: ${s.description}`).at(-1), "Outcome: failed: exit 1");
  });

  it("folds a call the agent's SDK reported itself (no sidecar decision) and its error into one call", () => {
    const records = [
      event("agent.guardrail.evaluated", { decision: { effectiveDecision: "allow", annotation: null, reason: "guard unavailable (fail_open)", matchedGuardrails: [], guardUnavailable: { message: "down" } } }),
      event("agent.tool.called"),
      event("agent.action.requested", { resource: { type: "deployment_event", environment: "staging" } }),
      event("agent.action.failed", { error: { message: "timeout" } }),
      event("agent.error", { error: { message: "timeout" } }),
      event("agent.workflow.step.started", { tool: undefined, step_name: "Validate inputs" }),
    ];
    const entries = foldRun("run_1", records);
    assert.deepEqual(entries.map((e) => e.type), ["call", "note"]);
    const [call] = calls(entries);
    assert.equal(call!.records.length, 5);
    assert.equal(callState(call!), "failed");
    assert.equal(presentCall(call!).label, "deploy.release · staging");
    assert.equal(callSteps(call!)[0]!.label, "Decision: allowed (by the agent's SDK)");
  });

  it("joins a coding agent's outcome to its decision by the host's tool-use id", () => {
    const hook = { host: "claude-code", session_id: "s1", tool_use_id: "toolu_1" };
    const bash = { agent_key: "claude-code", run_id: "run_1", tool: { name: "Bash", provider: "claude-code", risk_level: "high" as const }, action: { type: "execute", name: "Bash" }, resource: { type: "shell_command", environment: null, external_id: null }, arguments: { command: "npm test" } };
    const records = [
      rec("decision", { request: bash, decision: decision({ decision_id: "dec_h", effective_decision: "require_approval", policy_decision: "require_approval", reason: "shell; the host's own prompt asks instead (hooks.approvals: host)" }), approval_id: null, hook }),
      rec("event", { event: wire({ type: "agent.action.completed", agent_key: "claude-code", run_id: "run_1", metadata: { hook, duration_ms: 1500 } }) }),
    ];
    const [call] = calls(foldRun("run_1", records));
    assert.equal(calls(foldRun("run_1", records)).length, 1);
    assert.equal(callState(call!), "completed", "the host asked in its own prompt and the call ran");
    assert.match(presentCall(call!).description, /1\.5 s$/);
  });

  it("details: the redacted arguments, every guardrail, the approval's history (who, when, scope), the outcome and the decision ids", () => {
    const [call] = calls(foldRun("run_1", approvedDeploy()));
    const d = callDetails(call!, "Production deploy attempt");
    assert.equal(d.title, "deploy.release · production");
    assert.equal(d.stateLabel, "approved");
    assert.equal(d.arguments, JSON.stringify({ version: "1.4.2" }, null, 2));
    assert.deepEqual(d.guardrails.map((g) => g.key), ["prod-deploys"]);
    assert.deepEqual(d.decisions.map((x) => x.id), ["dec_1", "dec_2"]);
    assert.equal(d.approval?.id, "apr_1");
    assert.match(d.approval!.events[1]!.text, /^approved by editor · scope: this call only/);
    assert.equal(d.outcome?.text, "completed");
    assert.ok(d.timings.some((t) => t.name === "Waited for the answer"));
  });

  it("details page: agent-supplied text cannot add markup or script; each guardrail links by its key", () => {
    const hostile = { ...request(), tool: { name: "<img src=x onerror=alert(1)>", provider: null, risk_level: null }, arguments: { cmd: "</pre><script>alert(1)</script>" } };
    const [call] = calls(foldRun("run_1", [rec("decision", { request: hostile, decision: decision({ reason: "<b>bold</b>" }), approval_id: null })]));
    const html = renderCallDetails(callDetails(call!, "r"), "vscode-resource:", "NONCE");
    assert.doesNotMatch(html, /<img|<script>alert|<b>bold/);
    assert.equal(html.match(/<script/g)?.length, 1, "only the page's own script");
    assert.match(html, /<script nonce="NONCE">/);
    assert.match(html, /data-guardrail="prod-deploys"/);
  });

  it("details never show what the records do not carry: a redacted secret stays redacted", () => {
    const secret = { ...request(), arguments: { token: "[REDACTED]", version: "1.4.2" } };
    const [call] = calls(foldRun("run_1", [rec("decision", { request: secret, decision: decision(), approval_id: null })]));
    assert.match(callDetails(call!, "r").arguments!, /"token": "\[REDACTED\]"/);
  });

  it("an outcome logged before its decision shows as the same row on every refresh, then joins the decision's call", () => {
    const folds = new RunFolds();
    const live = [event("agent.action.completed", { metadata: { decision_id: "dec_late" } })];
    const [before] = calls(folds.entries("run_1", live));
    assert.equal(calls(folds.entries("run_1", live))[0], before, "the placeholder row was built again");
    live.push(rec("decision", { request: request(), decision: decision({ decision_id: "dec_late", policy_decision: "allow", effective_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] }), approval_id: null }));
    const after = calls(folds.entries("run_1", live));
    assert.equal(after.length, 1, "the outcome joined its decision's call");
    assert.equal(callState(after[0]!), "completed");
  });

  it("a call a session grant let through reads approved for this session, in its steps and its details", () => {
    const byGrant = decision({ decision_id: "dec_s", policy_decision: "require_approval", effective_decision: "allow", enforcement_action: "proceed", reason: "approved for this session (apr_9, by editor at 2026-11-24T12:00:04.000Z): deployment in production", matched_guardrails: requireApproval.matched_guardrails });
    const [call] = calls(foldRun("run_1", [rec("decision", { request: request(), decision: byGrant, approval_id: null, session_grant: { approval_id: "apr_9", resolved_by: "editor", resolved_at: "2026-11-24T12:00:04.000Z" } })]));
    assert.equal(callState(call!), "approved");
    assert.match(callDetails(call!, "r").decisions.map((d) => d.text).join("\n"), /approved for this session by editor \(apr_9\)/);
  });

  it("a run followed live folds only what came since, and the same as folding it whole; an insertion before the folded records folds it again", () => {
    const all = approvedDeploy();
    const folds = new RunFolds();
    const live: typeof all = [];
    const seen: string[] = [];
    let deploy: ToolCall | undefined;
    for (const record of all) {
      live.push(record);
      const entries = folds.entries("run_1", live);
      seen.push(entries.map((e) => (e.type === "call" ? callState(e.call) : "note")).join(","));
      // Folded once and changed in place: the row a refresh finds is the same call (the tree's caches key on it).
      const call = calls(entries)[0];
      if (deploy !== undefined) assert.equal(call, deploy, `record ${record.kind}: the call was folded again from scratch`);
      deploy ??= call;
    }
    assert.deepEqual(seen, ["", "waiting", "waiting", "approved", "approved", "approved", "approved"]);
    const whole = foldRun("run_1", all);
    const followed = folds.entries("run_1", live);
    assert.deepEqual(followed.map((e) => e.type === "call" && callSteps(e.call).map((s) => s.label)), whole.map((e) => e.type === "call" && callSteps(e.call).map((s) => s.label)));
    // An SDK outcome that happened before the last record: TimelineModel inserts it in place.
    const late = event("agent.action.failed", { error: { message: "exit 1" } });
    live.splice(1, 0, late);
    const refolded = folds.entries("run_1", live);
    assert.deepEqual(refolded.map((e) => e.type), foldRun("run_1", live).map((e) => e.type));
    assert.equal(refolded.length, 2, "the inserted outcome is a call of its own, as a whole fold has it");
  });
});
