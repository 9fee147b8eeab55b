import { strict as assert } from "node:assert";
import { Projection } from "../../../sidecar/store/projection";
import type { TimelineRecord } from "../../../sidecar/protocol/records";
import { approval, decision, rec, request } from "../extension/fixtures";

describe("Projection", () => {
  it("counts a decision made after its caller gave up (`late`) as seen, not as a call of the tool", () => {
    const state = new Projection();
    const allow = decision({ effective_decision: "allow", policy_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] });
    state.apply(rec("decision", { request: request(), decision: allow, approval_id: null }) as TimelineRecord, 0);
    state.apply(rec("decision", { request: request(), decision: allow, approval_id: null, late: { caller_gave_up_at: "2026-11-24T12:00:00.300Z" } }) as TimelineRecord, 100);
    const tool = state.agentByKey("release-gate").observed.get("deploy.release")!;
    assert.equal(tool.calls, 1);
    assert.equal(tool.decisions.allow, 1);
    assert.equal(state.decisionIndex.offsets.length, 2, "both are in the timeline");
  });
});

describe("Projection: runs that have read a secret (secret-then-network)", () => {
  const READ = 'credential file "/home/dev/.aws/credentials"';
  const proceeded = (id: string, extra: Partial<Parameters<typeof decision>[0]> = {}) =>
    decision({ decision_id: id, effective_decision: "allow", policy_decision: "require_approval", enforcement_action: "proceed", annotation: "would_require_approval", secret_access: READ, ...extra });
  const inRun = (runId: string | null) => ({ ...request(), run_id: runId });

  it("a call that proceeded with secret_access taints its run, naming that decision; the first one stays", () => {
    const state = new Projection();
    state.apply(rec("decision", { request: inRun("run_a"), decision: proceeded("dec_read"), approval_id: null }) as TimelineRecord, 0);
    state.apply(rec("decision", { request: inRun("run_a"), decision: proceeded("dec_again"), approval_id: null }) as TimelineRecord, 10);
    assert.deepEqual(state.runTaints.get("run_a"), { decisionId: "dec_read", reason: READ });
    assert.equal(state.runTaints.get("run_b"), undefined);
  });

  it("a blocked, a late, a run-less or a secret-free call taints nothing", () => {
    const state = new Projection();
    const blocked = decision({ decision_id: "dec_b", secret_access: READ });
    state.apply(rec("decision", { request: inRun("run_a"), decision: blocked, approval_id: null }) as TimelineRecord, 0);
    state.apply(rec("decision", { request: inRun("run_a"), decision: proceeded("dec_late"), approval_id: null, late: { caller_gave_up_at: "2026-11-24T12:00:00.300Z" } }) as TimelineRecord, 10);
    state.apply(rec("decision", { request: inRun(null), decision: proceeded("dec_norun"), approval_id: null }) as TimelineRecord, 20);
    state.apply(rec("decision", { request: inRun("run_a"), decision: proceeded("dec_plain", { secret_access: undefined }), approval_id: null }) as TimelineRecord, 30);
    assert.equal(state.runTaints.size, 0);
  });

  it("a secret read that waited for approval taints its run once approved, not when rejected", () => {
    const state = new Projection();
    for (const [run, approvalId, status] of [["run_ok", "apr_ok", "approved"], ["run_no", "apr_no", "rejected"]] as const) {
      const waiting = decision({ decision_id: `dec_${run}`, policy_decision: "require_approval", effective_decision: "require_approval", enforcement_action: "wait_for_approval", secret_access: READ });
      state.apply(rec("decision", { request: inRun(run), decision: waiting, approval_id: approvalId }) as TimelineRecord, 0);
      state.apply(rec("approval.requested", { approval: approval({ id: approvalId, run_id: run, status: "pending" }) }) as TimelineRecord, 0);
      assert.equal(state.runTaints.get(run), undefined, "pending: not yet");
      state.apply(rec("approval.resolved", { id: approvalId, status, resolved_at: "2026-11-24T12:01:00.000Z", resolved_by: "editor", resolution_reason: null }) as TimelineRecord, 0);
    }
    assert.deepEqual(state.runTaints.get("run_ok"), { decisionId: "dec_run_ok", reason: `${READ}, approved in apr_ok` });
    assert.equal(state.runTaints.get("run_no"), undefined);
  });

  it("a secret read held back here (blocked, or asked by the host's own prompt) taints its run once its outcome shows it ran", () => {
    const state = new Projection();
    const asked = decision({ decision_id: "dec_asked", policy_decision: "require_approval", effective_decision: "require_approval", enforcement_action: "wait_for_approval", secret_access: READ });
    state.apply(rec("decision", { request: inRun("run_h"), decision: asked, approval_id: null }) as TimelineRecord, 0);
    state.apply(rec("decision", { request: inRun("run_i"), decision: { ...asked, decision_id: "dec_denied" }, approval_id: null }) as TimelineRecord, 0);
    assert.equal(state.runTaints.size, 0);
    const outcome = { type: "agent.action.completed", agent_key: "claude-code", event_id: "e1", run_id: "run_h", timestamp: "2026-11-24T12:02:00.000Z", metadata: { decision_id: "dec_asked" } };
    state.apply(rec("event", { event: outcome } as never) as TimelineRecord, 0);
    assert.deepEqual(state.runTaints.get("run_h"), { decisionId: "dec_asked", reason: `${READ}, which ran anyway (its outcome was reported)` });
    assert.equal(state.runTaints.get("run_i"), undefined, "no outcome: it never ran");
  });
});
