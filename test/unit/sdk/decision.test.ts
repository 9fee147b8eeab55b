import { strict as assert } from "node:assert";
import { EvaluateResponseSchema, localDecision, responsibleGuardrails, toApieDecision } from "../../../sidecar/sdk/decision";
import { ApieError, isApieError } from "../../../sidecar/sdk/errors";
import { TransportError, isRetryable, toApieError } from "../../../sidecar/sdk/http";
import { blockedError } from "../../../sidecar/sdk/toolCall";
import { PACK_SCENARIOS, engineWith, only } from "../guard/helpers";

/** Real engine answers (the same object the sidecar sends), parsed the way the SDK parses the wire. */
function decide(policy: Parameters<typeof engineWith>[0], mode: "monitor" | "enforce", approval: { id: string } | null = null) {
  const engine = engineWith(policy);
  const wire = { ...engine.evaluate({ ...PACK_SCENARIOS.deploy, mode }), approval_request: approval && { ...approval, status: "pending" as const, expires_at: "2026-01-01T00:00:00.000Z" } };
  return toApieDecision(EvaluateResponseSchema.parse(JSON.parse(JSON.stringify(wire))));
}

describe("sdk decisions and errors", () => {
  it("turns the wire decision into camelCase, every field carried", () => {
    const d = decide(only("prod-deploys", "block"), "monitor");
    assert.equal(d.policyDecision, "block");
    assert.equal(d.effectiveDecision, "allow");
    assert.equal(d.enforcementAction, "proceed");
    assert.equal(d.annotation, "would_block");
    assert.equal(d.mode, "monitor");
    assert.match(d.decisionId!, /^dec_/);
    assert.deepEqual(d.matchedGuardrails.map((g) => [g.key, g.decision, g.source]), [["prod-deploys", "block", "template"]]);
    assert.deepEqual(d.policy, { state: "ok", message: null });
    assert.equal(d.approvalRequest, null);
    assert.equal(d.guardUnavailable, null);
  });

  it("carries the approval the sidecar opened", () => {
    const d = decide(only("prod-deploys"), "enforce", { id: "apr_1" });
    assert.equal(d.enforcementAction, "wait_for_approval");
    assert.deepEqual(d.approvalRequest, { id: "apr_1", status: "pending", expiresAt: "2026-01-01T00:00:00.000Z" });
    assert.equal(d.approvalId, "apr_1");
  });

  it("refuses a body that is not a decision (a guard failure, never an allow)", () => {
    for (const garbage of [{}, { decision: "allow" }, { policy_decision: "allow", effective_decision: "allow", mode: "enforce", enforcement_action: "maybe" }, "ok", null]) {
      assert.equal(EvaluateResponseSchema.safeParse(garbage).success, false, JSON.stringify(garbage));
    }
    const minimal = EvaluateResponseSchema.parse({ policy_decision: "warn", effective_decision: "warn", mode: "enforce", enforcement_action: "warn" });
    assert.equal(toApieDecision(minimal).reason, "", "descriptive fields default, so an older server still parses");
  });

  it("a blocked error names the blocking guardrail(s) and carries the decision", () => {
    const d = decide({ templates: { "prod-deploys": { decision: "block" } } }, "enforce");
    const e = blockedError(d);
    assert.equal(e.code, "blocked");
    assert.equal(e.message, "Blocked by guardrail prod-deploys: deployment in production");
    assert.equal(e.decision, d);
    const two = { ...d, matchedGuardrails: [...d.matchedGuardrails, { ...d.matchedGuardrails[0]!, key: "custom-1" }] };
    assert.match(blockedError(two).message, /^Blocked by guardrails prod-deploys, custom-1: /);
  });

  it("fail_closed decides block locally, with the failure as the error's cause", () => {
    const failure = new TransportError("unreachable", "POST /v1/guardrails/evaluate: ECONNREFUSED");
    const d = localDecision("fail_closed", "enforce", "sidecar unreachable");
    assert.equal(d.enforcementAction, "block");
    assert.deepEqual(d.guardUnavailable, { failureMode: "fail_closed", message: "sidecar unreachable" });
    const e = blockedError(d, failure);
    assert.equal(e.code, "blocked");
    assert.match(e.message, /guard unavailable \(fail_closed\)/);
    assert.equal(e.cause, failure);
    assert.equal(localDecision("fail_open", "monitor", "x").effectiveDecision, "allow");
    assert.match(localDecision("fail_open", "monitor", "x").reason, /guard unavailable \(fail_open\)/);
  });

  it("responsible guardrails: those at the level, else every match", () => {
    const d = decide(only("prod-deploys", "block"), "enforce");
    assert.deepEqual(responsibleGuardrails(d, "block"), ["prod-deploys"]);
    assert.deepEqual(responsibleGuardrails(d, "warn"), ["prod-deploys"]);
  });

  it("ApieError carries code, status, cause; transport failures map to http_error", () => {
    const cause = new TransportError("timeout", "no answer");
    const e = toApieError(cause, "GET /x");
    assert.ok(isApieError(e, "http_error"));
    assert.equal(e.cause, cause);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "ApieError");
    const refused = new ApieError("http_error", "bad", { status: 400, serverCode: "invalid_request", field: "tool.riskLevel" });
    assert.equal(toApieError(refused, "x"), refused);
    assert.equal(isRetryable(refused), false);
    assert.equal(isRetryable(cause), true);
    assert.equal(isRetryable(new ApieError("http_error", "x", { status: 502 })), true);
  });
});
