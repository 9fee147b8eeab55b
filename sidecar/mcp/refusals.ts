import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { responsibleGuardrails, type ApieDecision } from "../sdk/decision";
import type { ApprovalWaitStatus } from "../sdk/types";
import { ErrorCodes, errorResponse, type JSONRPCMessage, type RequestId } from "./messages";

/**
 * How the proxy says no to a `tools/call`. Two refusals, each with a fixed code, message and `data`:
 * - blocked: **-32001** "Guardrail blocked the tool call", `data` {reason, decision_id, matched_guardrail,
 *   policy_decision, effective_decision, mode} — a block decision, `fail_closed` without a sidecar, an
 *   enforced require_approval with no approval to wait for, or an approval grant that could not be redeemed;
 * - approval: **-32002** "Approval required: <status>", `data` {approval_id, status, reason} — the approval
 *   was rejected, expired or cancelled, or the proxy's wait (`approvalTimeoutMs`) ended first (`timeout`).
 * Delivered as a JSON-RPC error (`refusal: "jsonrpc_error"`, the default) or, with `refusal: "tool_error"`,
 * as a CallToolResult with `isError: true` carrying the same facts as text and `structuredContent` (left out
 * for tools that declare an `outputSchema`: a client validates structured content against it).
 * A guard failure under `guardFailureMode: "throw"` is no refusal but an error: always JSON-RPC -32603.
 */

export interface BlockedData {
  reason: string;
  decision_id: string | null;
  /** The guardrail responsible (the first one at `block`), null when none matched (e.g. guard unavailable). */
  matched_guardrail: string | null;
  policy_decision: string;
  effective_decision: string;
  mode: string;
}

export interface ApprovalData {
  approval_id: string;
  status: Exclude<ApprovalWaitStatus, "approved">;
  reason: string;
}

export type Refusal = { kind: "blocked"; data: BlockedData } | { kind: "approval"; data: ApprovalData };

export type RefusalStyle = "jsonrpc_error" | "tool_error";

export const BLOCKED_MESSAGE = "Guardrail blocked the tool call";

export function blocked(decision: ApieDecision, reason: string = decision.reason): Refusal {
  return {
    kind: "blocked",
    data: {
      reason,
      decision_id: decision.decisionId,
      matched_guardrail: responsibleGuardrails(decision, "block")[0] ?? responsibleGuardrails(decision, "require_approval")[0] ?? null,
      policy_decision: decision.policyDecision,
      effective_decision: decision.effectiveDecision,
      mode: decision.mode,
    },
  };
}

export function approvalRefused(approvalId: string, status: ApprovalData["status"], reason: string): Refusal {
  return { kind: "approval", data: { approval_id: approvalId, status, reason } };
}

export function refusalCode(refusal: Refusal): number {
  return refusal.kind === "blocked" ? ErrorCodes.guardrailBlocked : ErrorCodes.approvalRequired;
}

export function refusalMessage(refusal: Refusal): string {
  return refusal.kind === "blocked" ? BLOCKED_MESSAGE : `Approval required: ${refusal.data.status}`;
}

/** One line for a model or a human: the message, the reason, and the ids to look the decision up by. */
export function refusalText(refusal: Refusal): string {
  if (refusal.kind === "blocked") {
    const d = refusal.data;
    const refs = [d.matched_guardrail && `guardrail ${d.matched_guardrail}`, d.decision_id && `decision ${d.decision_id}`].filter(Boolean);
    return `${BLOCKED_MESSAGE}: ${d.reason}${refs.length > 0 ? ` (${refs.join(", ")})` : ""}`;
  }
  const d = refusal.data;
  return `Approval required: ${d.status}: ${d.reason} (approval ${d.approval_id})`;
}

/** The JSON-RPC error or the error CallToolResult answering request `id`. */
export function refusalResponse(id: RequestId, refusal: Refusal, style: RefusalStyle, options: { structuredContent: boolean } = { structuredContent: true }): JSONRPCMessage {
  if (style === "jsonrpc_error") return errorResponse(id, refusalCode(refusal), refusalMessage(refusal), refusal.data);
  return { jsonrpc: "2.0", id, result: refusalToolResult(refusal, options.structuredContent) };
}

export function refusalToolResult(refusal: Refusal, structuredContent: boolean): CallToolResult {
  const result: CallToolResult = { content: [{ type: "text", text: refusalText(refusal) }], isError: true };
  if (structuredContent) result.structuredContent = { code: refusalCode(refusal), message: refusalMessage(refusal), ...refusal.data };
  return result;
}

/**
 * The guard could not decide and `guardFailureMode` is `throw` (or the sidecar refused the guard request
 * itself, e.g. a wrong key): -32603 whose message names the cause (`guard unavailable: sidecar unreachable …`).
 */
export function guardErrorResponse(id: RequestId, cause: string, data: Record<string, unknown> = {}): JSONRPCMessage {
  return errorResponse(id, ErrorCodes.internalError, cause, { reason: cause, ...data });
}
