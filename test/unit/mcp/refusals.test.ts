import { strict as assert } from "node:assert";
import { approvalRefused, blocked, guardErrorResponse, refusalResponse } from "../../../sidecar/mcp/refusals";
import { localDecision, type ApieDecision } from "../../../sidecar/sdk/decision";

const decision: ApieDecision = {
  ...localDecision("fail_closed", "enforce", "x"),
  decisionId: "dec_1",
  reason: "deployment in production",
  guardUnavailable: null,
  matchedGuardrails: [
    { key: "note-it", name: "", decision: "warn", reason: "", source: "custom" },
    { key: "prod-deploys", name: "", decision: "block", reason: "deployment in production", source: "template" },
  ],
};

describe("mcp: refusals", () => {
  it("blocked → JSON-RPC -32001 with reason, decision_id, matched_guardrail, policy/effective decision, mode", () => {
    assert.deepEqual(refusalResponse(7, blocked(decision), "jsonrpc_error"), {
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32001,
        message: "Guardrail blocked the tool call",
        data: { reason: "deployment in production", decision_id: "dec_1", matched_guardrail: "prod-deploys", policy_decision: "block", effective_decision: "block", mode: "enforce" },
      },
    });
  });

  it("guard unavailable under fail_closed: -32001, no guardrail, the reason says so", () => {
    const message = refusalResponse("a", blocked(localDecision("fail_closed", "monitor", "sidecar unreachable (ECONNREFUSED)")), "jsonrpc_error") as any;
    assert.equal(message.error.code, -32001);
    assert.equal(message.error.data.matched_guardrail, null);
    assert.equal(message.error.data.decision_id, null);
    assert.match(message.error.data.reason, /^guard unavailable \(fail_closed\): sidecar unreachable/);
  });

  it("approval → JSON-RPC -32002 \"Approval required: <status>\" with approval_id, status, reason", () => {
    for (const status of ["rejected", "expired", "cancelled", "timeout"] as const) {
      assert.deepEqual(refusalResponse(1, approvalRefused("apr_9", status, "because"), "jsonrpc_error"), {
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32002, message: `Approval required: ${status}`, data: { approval_id: "apr_9", status, reason: "because" } },
      });
    }
  });

  it('refusal "tool_error": the same facts as an isError CallToolResult, structuredContent only when allowed', () => {
    const withStructure = refusalResponse(3, blocked(decision), "tool_error") as any;
    assert.deepEqual(withStructure.result, {
      content: [{ type: "text", text: "Guardrail blocked the tool call: deployment in production (guardrail prod-deploys, decision dec_1)" }],
      isError: true,
      structuredContent: {
        code: -32001,
        message: "Guardrail blocked the tool call",
        reason: "deployment in production",
        decision_id: "dec_1",
        matched_guardrail: "prod-deploys",
        policy_decision: "block",
        effective_decision: "block",
        mode: "enforce",
      },
    });
    const approval = refusalResponse(4, approvalRefused("apr_2", "rejected", "not now"), "tool_error", { structuredContent: false }) as any;
    assert.deepEqual(approval.result, { content: [{ type: "text", text: "Approval required: rejected: not now (approval apr_2)" }], isError: true });
  });

  it("guard errors (guardFailureMode throw) are always JSON-RPC -32603 naming the cause", () => {
    assert.deepEqual(guardErrorResponse(5, "guard unavailable: sidecar unreachable (ECONNREFUSED)", { guard_failure_mode: "throw" }), {
      jsonrpc: "2.0",
      id: 5,
      error: { code: -32603, message: "guard unavailable: sidecar unreachable (ECONNREFUSED)", data: { reason: "guard unavailable: sidecar unreachable (ECONNREFUSED)", guard_failure_mode: "throw" } },
    });
  });
});
