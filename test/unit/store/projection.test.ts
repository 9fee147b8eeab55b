import { strict as assert } from "node:assert";
import { Projection } from "../../../sidecar/store/projection";
import type { TimelineRecord } from "../../../sidecar/protocol/records";
import { decision, rec, request } from "../extension/fixtures";

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
