import { strict as assert } from "node:assert";
import { GuardEngine } from "../../../sidecar/guard/engine";
import { EvaluateBodySchema, toGuardRequest, type EvaluateResponse } from "../../../sidecar/protocol/v1";
import { DEMO_REQUEST, demoResult, demoStep } from "../../../extension/model/demoCall";

/** The walkthrough's "Try it safely" call (extension/model/demoCall.ts) against the real guard engine. */

function decide(policy: string | undefined, workspaceMode: "monitor" | "enforce"): EvaluateResponse {
  const engine = new GuardEngine();
  engine.setWorkspaceMode(workspaceMode);
  if (policy !== undefined) assert.deepEqual(engine.loadPolicyText(policy), []);
  else engine.clearPolicy();
  const d = engine.evaluate(toGuardRequest(EvaluateBodySchema.parse(DEMO_REQUEST)));
  // The sidecar opens the approval for exactly this answer (approvalBroker); here, its id is the decision's.
  const approval_request = d.enforcement_action === "wait_for_approval" ? { id: `apr_${d.decision_id}`, status: "pending" as const, expires_at: "" } : null;
  return { ...d, approval_request };
}

describe("walkthrough demo call", () => {
  it("is a valid v1 evaluate body that enforces this call only", () => {
    assert.equal(EvaluateBodySchema.parse(DEMO_REQUEST).mode, "enforce");
  });

  it("raises an approval with prod-deploys on, even in a monitor workspace", () => {
    const d = decide('{ "templates": { "prod-deploys": true } }', "monitor");
    assert.equal(d.effective_decision, "require_approval");
    assert.deepEqual(demoStep(d), { kind: "approval", approvalId: `apr_${d.decision_id}` });
  });

  it("with no policy nothing matches: it offers prod-deploys instead of pretending", () => {
    const step = demoStep(decide(undefined, "enforce"));
    assert.equal(step.kind, "needs_template");
    assert.match((step as { message: string }).message, /prod-deploys/);
  });

  it("any other answer of the policy is said as is (here a custom block)", () => {
    const policy = JSON.stringify({ templates: { "prod-deploys": true }, guardrails: [{ key: "no-releases", decision: "block", reason: "release freeze", match: { "tool.name": "deploy.release" } }] });
    const step = demoStep(decide(policy, "enforce"));
    assert.equal(step.kind, "decided");
    assert.match((step as { message: string }).message, /"block" \(.*no-releases \(block\)/);
  });

  it("says what an agent would do after each answer", () => {
    assert.match(demoResult("approved", "editor"), /approved by editor\. An agent would now run deploy\.release/);
    assert.match(demoResult("rejected", "editor"), /ApieError approval_rejected/);
    assert.match(demoResult("expired", "expiry"), /expired/);
  });
});
