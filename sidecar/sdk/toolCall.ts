import { resolveRunId } from "./context";
import { responsibleGuardrails, type ApieDecision } from "./decision";
import { ApieError } from "./errors";
import * as events from "./events";
import type { GuardOutcome } from "./guardClient";
import type { WaitResult } from "./approvalWaiter";
import type { ApieLogger, Approval, GuardInput, ToolCallInput } from "./types";

/**
 * `withTool`: ask the guard, enforce its answer, then run the callback and record what happened (python-sdk
 * `tool_context`). Enforcement follows the sidecar's `enforcement_action` — the effective mode is decided
 * there (an agent can only tighten the workspace's), so a monitor-mode agent in an enforce workspace is
 * still stopped:
 * - `block` → throw `blocked` before the callback (also `fail_closed` without a sidecar);
 * - `wait_for_approval` → wait for the approval the sidecar opened; approved → redeem the grant (evaluate
 *   again with `approval_id`) and run the callback once; rejected/expired/cancelled → throw that; the wait's
 *   own end → cancel the approval, throw `approval_timeout`;
 * - `warn`, and monitor's would-block/would-require-approval → log through `logger`, run the callback.
 */

export interface ToolCallDeps {
  evaluate(input: GuardInput & { runId?: string | undefined }): Promise<GuardOutcome>;
  waitForApproval(approvalId: string, timeoutMs: number): Promise<WaitResult>;
  /** Best effort; resolves with the approval's final view when it could be read. */
  cancelApproval(approvalId: string, reason: string): Promise<void>;
  getApproval(approvalId: string): Promise<Approval | undefined>;
  record(build: (envelope: events.EventEnvelope) => events.SdkEvent, runId: string | undefined): void;
  /** Starts sending what is queued without waiting for it. */
  kickFlush(): void;
  logger: ApieLogger;
  approvalTimeoutMs: number;
}

export async function runToolCall<T>(deps: ToolCallDeps, input: ToolCallInput, fn: (decision: ApieDecision | null) => T | Promise<T>): Promise<T> {
  const runId = resolveRunId(input.runId);
  const refs: events.ToolEventInput = {
    tool: input.tool,
    action: input.action ?? { type: "execute", name: input.tool.name },
    resource: input.resource ?? { type: "unknown" },
    metadata: input.metadata,
    riskLevel: input.riskLevel,
  };
  let decision: ApieDecision | null = null;
  if (input.guard !== false) {
    decision = await guardCall(deps, { ...input, runId }, refs, runId, true);
  }
  // The sidecar journals every decision it makes (with the tool, action, resource and arguments), so a
  // guarded call adds one event, its outcome, linked by decision_id. An unguarded call, or one decided
  // locally because the sidecar was unreachable, is reported in full as the Python SDK does.
  const decisionId = decision?.decisionId ?? null;
  if (decisionId === null) {
    deps.record((env) => events.toolCalledEvent(env, refs), runId);
    deps.record((env) => events.actionRequestedEvent(env, refs), runId);
  }
  const outcome = decisionId === null ? refs : { ...refs, metadata: { ...refs.metadata, decision_id: decisionId } };
  try {
    const result = await fn(decision);
    deps.record((env) => events.actionCompletedEvent(env, outcome), runId);
    return result;
  } catch (error) {
    deps.record((env) => events.actionFailedEvent(env, { ...outcome, error }), runId);
    deps.record((env) => events.errorEvent(env, error, input.metadata), runId);
    deps.kickFlush();
    throw error;
  }
}

type EvaluateInput = GuardInput & { runId?: string | undefined };

/** Evaluates, records, enforces; returns the decision the callback runs under. */
async function guardCall(deps: ToolCallDeps, request: EvaluateInput, refs: events.ToolEventInput, runId: string | undefined, mayWait: boolean): Promise<ApieDecision> {
  const outcome = await deps.evaluate(request);
  const { decision, failure } = outcome;
  // Decided locally (guard unavailable, or disabled): the sidecar has no record of it, so this event is it.
  if (decision.decisionId === null) deps.record((env) => events.guardrailEvaluatedEvent(env, { ...refs, decision }), runId);
  switch (decision.enforcementAction) {
    case "block":
      throw blockedError(decision, failure);
    case "wait_for_approval":
      if (!mayWait) {
        // Approved once, asked again: the grant was refused (another call spent it, or the action changed).
        if (decision.approvalRequest) await deps.cancelApproval(decision.approvalRequest.id, "superseded: the grant for this call was refused");
        throw new ApieError("blocked", `Blocked: the approval for this call could not be redeemed: ${decision.reason}`, { decision, approvalId: request.approvalId });
      }
      return awaitApproval(deps, request, refs, runId, decision);
    case "warn":
      deps.logger.warn(`guardrail warning${named(decision, "warn")}: ${decision.reason}`);
      return decision;
    case "proceed":
      if (decision.annotation === "would_block") {
        deps.logger.warn(`would block in enforce mode${named(decision, "block")}: ${decision.reason}`);
      } else if (decision.annotation === "would_require_approval") {
        deps.logger.warn(`would require approval in enforce mode${named(decision, "require_approval")}: ${decision.reason}`);
      }
      return decision;
  }
}

export function blockedError(decision: ApieDecision, failure?: Error): ApieError {
  if (decision.guardUnavailable) {
    return new ApieError("blocked", `Blocked: guard unavailable (fail_closed): ${decision.guardUnavailable.message}`, { decision, cause: failure });
  }
  const keys = responsibleGuardrails(decision, "block");
  const by = keys.length === 0 ? "Blocked" : `Blocked by guardrail${keys.length > 1 ? "s" : ""} ${keys.join(", ")}`;
  return new ApieError("blocked", `${by}: ${decision.reason}`, { decision });
}

/**
 * Waits for the approval the sidecar opened. Once approved, the call is evaluated again presenting the
 * grant (`approval_id`): the sidecar spends it exactly once, for exactly this action, and the decision the
 * callback runs under reflects the policy at that moment.
 */
async function awaitApproval(
  deps: ToolCallDeps,
  request: EvaluateInput,
  refs: events.ToolEventInput,
  runId: string | undefined,
  decision: ApieDecision,
): Promise<ApieDecision> {
  const opened = decision.approvalRequest;
  const keys = responsibleGuardrails(decision, "require_approval").join(", ");
  if (opened === null) {
    // Fail safe: an enforced require_approval with nothing to wait for must not run.
    throw new ApieError("blocked", `Blocked: approval required${keys ? ` by ${keys}` : ""} but the sidecar opened no approval: ${decision.reason}`, { decision });
  }
  if (opened.status === "approved") return decision;
  const approvalId = opened.id;
  // The sidecar journals the approval's opening and resolution itself; no SDK events duplicate them.
  deps.logger.warn(
    `waiting for approval ${approvalId}${keys ? ` (${keys})` : ""}: ${decision.reason} — approve or reject it in the editor or with \`apie approvals approve|reject ${approvalId}\``,
  );
  const status = await deps.waitForApproval(approvalId, deps.approvalTimeoutMs);
  const common = { decision, approvalId };
  switch (status) {
    case "approved":
      return guardCall(deps, { ...request, approvalId }, refs, runId, false);
    case "timeout":
      await deps.cancelApproval(approvalId, `the agent stopped waiting after ${deps.approvalTimeoutMs} ms`);
      throw new ApieError("approval_timeout", `No answer to approval ${approvalId} within ${deps.approvalTimeoutMs} ms; the approval was cancelled`, common);
    case "aborted":
      await deps.cancelApproval(approvalId, "the agent's Apie client shut down while waiting");
      throw new ApieError("approval_cancelled", `Approval ${approvalId} abandoned: the client shut down while waiting`, common);
    default: {
      const because = (await deps.getApproval(approvalId))?.resolutionReason;
      const code = status === "rejected" ? "approval_rejected" : status === "expired" ? "approval_expired" : "approval_cancelled";
      throw new ApieError(code, `Approval ${approvalId}${keys ? ` (${keys})` : ""} was ${status}${because ? `: ${because}` : ""}`, common);
    }
  }
}

function named(decision: ApieDecision, level: ApieDecision["policyDecision"]): string {
  const keys = responsibleGuardrails(decision, level);
  return keys.length === 0 ? "" : ` [${keys.join(", ")}]`;
}
