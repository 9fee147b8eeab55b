import { z } from "zod";
import { DecisionSchema, ModeSchema } from "../guard/policySchema";
import type {
  Decision,
  DriftWarning,
  EnforcementAction,
  InferenceReport,
  MatchedGuardrail,
  Mode,
  PolicyState,
} from "../guard/types";
import type { EvaluateResponse } from "../protocol/v1";

/**
 * The guard decision as the SDK hands it to agents: the wire answer of POST /v1/guardrails/evaluate in
 * camelCase. `guardUnavailable` is set when the sidecar could not be asked and `guardFailureMode` made the
 * decision locally.
 */
export interface ApieDecision {
  decisionId: string | null;
  /** What the policy says, before the mode is applied. */
  policyDecision: Decision;
  /** What happens: in monitor mode block/require_approval become allow. */
  effectiveDecision: Decision;
  mode: Mode;
  enforcementAction: EnforcementAction;
  reason: string;
  /** `would_block` / `would_require_approval` when monitor mode let a restricted call through. */
  annotation: "would_block" | "would_require_approval" | null;
  matchedGuardrails: MatchedGuardrail[];
  driftWarnings: DriftWarning[];
  inferred: InferenceReport | null;
  approvalTimeoutMs: number | null;
  policy: { state: PolicyState; message: string | null };
  /** The approval the sidecar opened for this call (enforced require_approval), if any. */
  approvalRequest: { id: string; status: "pending" | "approved"; expiresAt: string } | null;
  /** Same as `approvalRequest?.id` (the Python SDK's `approval_id`). */
  approvalId: string | null;
  guardUnavailable: { failureMode: GuardFailureMode; message: string } | null;
}

export type GuardFailureMode = "fail_open" | "fail_closed" | "throw";

const MatchedGuardrailSchema = z.object({
  key: z.string(),
  name: z.string().catch(""),
  decision: DecisionSchema,
  reason: z.string().catch(""),
  source: z.enum(["template", "custom", "boundary", "policy"]).catch("custom"),
});

/**
 * What the SDK accepts as an evaluate answer. The decision fields must be there and valid (a body that is
 * not a decision is a guard failure, not an allow); the descriptive extras default when absent so an older
 * or official server still parses.
 */
export const EvaluateResponseSchema = z.object({
  decision_id: z.string().nullish(),
  policy_decision: DecisionSchema,
  effective_decision: DecisionSchema,
  mode: ModeSchema,
  enforcement_action: z.enum(["proceed", "warn", "block", "wait_for_approval"]),
  reason: z.string().nullish(),
  annotation: z.enum(["would_block", "would_require_approval"]).nullish(),
  matched_guardrails: z.array(MatchedGuardrailSchema).default([]),
  drift_warnings: z.array(z.object({ code: z.string(), message: z.string() })).nullish(),
  inferred: z
    .object({ fields: z.array(z.string()), confidence: z.enum(["low", "medium", "high"]), reasons: z.array(z.string()) })
    .nullish()
    .catch(null),
  approval_timeout_ms: z.number().nullish(),
  policy: z.object({ state: z.enum(["ok", "none", "stale", "invalid"]), message: z.string().nullable() }).nullish(),
  approval_request: z
    .object({ id: z.string().min(1), status: z.enum(["pending", "approved"]), expires_at: z.string() })
    .nullish(),
});

// Compile-time contract check: every answer the sidecar's type allows must parse here.
const _sidecarAnswersParse = (answer: EvaluateResponse): z.input<typeof EvaluateResponseSchema> => answer;
void _sidecarAnswersParse;

export function toApieDecision(wire: z.output<typeof EvaluateResponseSchema>): ApieDecision {
  const approvalRequest = wire.approval_request
    ? { id: wire.approval_request.id, status: wire.approval_request.status, expiresAt: wire.approval_request.expires_at }
    : null;
  return {
    decisionId: wire.decision_id ?? null,
    policyDecision: wire.policy_decision,
    effectiveDecision: wire.effective_decision,
    mode: wire.mode,
    enforcementAction: wire.enforcement_action,
    reason: wire.reason ?? "",
    annotation: wire.annotation ?? null,
    matchedGuardrails: wire.matched_guardrails,
    driftWarnings: (wire.drift_warnings ?? []) as DriftWarning[],
    inferred: (wire.inferred ?? null) as InferenceReport | null,
    approvalTimeoutMs: wire.approval_timeout_ms ?? null,
    policy: wire.policy ?? { state: "ok", message: null },
    approvalRequest,
    approvalId: approvalRequest?.id ?? null,
    guardUnavailable: null,
  };
}

/** A decision made without the sidecar: `fail_open` (allow) or `fail_closed` (block). */
export function localDecision(
  failureMode: Exclude<GuardFailureMode, "throw">,
  mode: Mode,
  message: string,
): ApieDecision {
  const decision: Decision = failureMode === "fail_open" ? "allow" : "block";
  return {
    decisionId: null,
    policyDecision: decision,
    effectiveDecision: decision,
    mode,
    enforcementAction: decision === "allow" ? "proceed" : "block",
    reason: `guard unavailable (${failureMode}): ${message}`,
    annotation: null,
    matchedGuardrails: [],
    driftWarnings: [],
    inferred: null,
    approvalTimeoutMs: null,
    policy: { state: "ok", message: null },
    approvalRequest: null,
    approvalId: null,
    guardUnavailable: { failureMode, message },
  };
}

/** What a disabled client (`enabled: false`) answers: allow, nothing asked. */
export function disabledDecision(mode: Mode): ApieDecision {
  return { ...localDecision("fail_open", mode, "disabled"), reason: "Apie is disabled (enabled: false)", guardUnavailable: null };
}

/** The guardrails responsible for a restrictive decision, for messages: the ones at that decision, else all. */
export function responsibleGuardrails(decision: ApieDecision, level: Decision): string[] {
  const at = decision.matchedGuardrails.filter((g) => g.decision === level).map((g) => g.key);
  return at.length > 0 ? at : decision.matchedGuardrails.map((g) => g.key);
}
