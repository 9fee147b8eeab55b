/**
 * The guard engine's contract: what a tool call looks like when it asks "may I run?", and the decision that
 * answers it. The decision is produced directly in the Apie v1 wire shape (snake_case), so the sidecar, the
 * SDKs and the MCP proxy all read the same object; nothing re-maps it on the hot path.
 */

export const DECISIONS = ["allow", "warn", "require_approval", "block"] as const;
export type Decision = (typeof DECISIONS)[number];

export const MODES = ["monitor", "enforce"] as const;
export type Mode = (typeof MODES)[number];

export const RISK_LEVELS = ["low", "medium", "high", "critical"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export type EnforcementAction = "proceed" | "warn" | "block" | "wait_for_approval";

/** Severity order used to combine decisions: the most restrictive wins. */
export const DECISION_RANK: Readonly<Record<Decision, number>> = {
  allow: 0,
  warn: 1,
  require_approval: 2,
  block: 3,
};

export const RISK_RANK: Readonly<Record<RiskLevel, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export function isRiskLevel(value: unknown): value is RiskLevel {
  return typeof value === "string" && Object.hasOwn(RISK_RANK, value);
}

/** One tool call asking to run. Every field but the agent key may be missing; missing ones are inferred. */
export interface GuardRequest {
  agentKey: string;
  runId?: string | undefined;
  /** The agent's own mode. It can only tighten the workspace mode (enforce wins). */
  mode?: Mode | undefined;
  tool?: { name?: string | undefined; provider?: string | undefined; riskLevel?: RiskLevel | undefined } | undefined;
  action?: { type?: string | undefined; name?: string | undefined } | undefined;
  resource?:
    | {
        type?: string | undefined;
        environment?: string | undefined;
        externalId?: string | undefined;
        provider?: string | undefined;
      }
    | undefined;
  /** Top-level risk level, as the official Python SDK sends it (`risk_level`). */
  riskLevel?: RiskLevel | undefined;
  /** The tool call's arguments (any JSON). Matched by argument rules, scanned for shell commands and secrets. */
  arguments?: unknown;
  metadata?: Record<string, unknown> | undefined;
}

/** The fields the engine matches on, after inference has filled the gaps. */
export interface Facts {
  "agent.key": string;
  "run.id": string | undefined;
  "tool.name": string | undefined;
  "tool.provider": string | undefined;
  "tool.riskLevel": RiskLevel | undefined;
  "action.type": string | undefined;
  "action.name": string | undefined;
  "resource.type": string | undefined;
  "resource.environment": string | undefined;
  "resource.externalId": string | undefined;
  "resource.provider": string | undefined;
}

export type FactField = keyof Facts;

export const FACT_FIELDS: readonly FactField[] = [
  "agent.key",
  "run.id",
  "tool.name",
  "tool.provider",
  "tool.riskLevel",
  "action.type",
  "action.name",
  "resource.type",
  "resource.environment",
  "resource.externalId",
  "resource.provider",
];

export type GuardrailSource = "template" | "custom" | "boundary" | "policy";

export interface MatchedGuardrail {
  key: string;
  name: string;
  decision: Decision;
  reason: string;
  source: GuardrailSource;
  /**
   * Set when an allow guardrail's `overrides` lifted this one for this call (the key of that guardrail): it
   * matched and is reported, but did not decide. Only ever on a require_approval or warn; a block is never lifted.
   */
  overridden_by?: string;
}

export type InferenceConfidence = "low" | "medium" | "high";

export interface InferenceReport {
  /** Which fact fields were filled by the engine rather than given by the caller. */
  fields: FactField[];
  confidence: InferenceConfidence;
  /** Where the inferred values came from, e.g. `tool name contains "deploy"`. */
  reasons: string[];
}

export type DriftCode =
  | "undeclared_tool"
  | "undeclared_action"
  | "undeclared_resource"
  | "undeclared_environment"
  | "unknown_resource_type"
  | "risk_above_declared";

export interface DriftWarning {
  code: DriftCode;
  message: string;
}

export type PolicyState = "ok" | "none" | "stale" | "invalid";

/** The answer to a GuardRequest, in the Apie v1 wire shape. */
export interface GuardDecision {
  decision_id: string;
  /** What the policy says, before the mode is applied. */
  policy_decision: Decision;
  /** What actually happens: in monitor mode block/require_approval become allow. */
  effective_decision: Decision;
  mode: Mode;
  enforcement_action: EnforcementAction;
  reason: string;
  /** "would_block" / "would_require_approval" when monitor mode let a restricted call through. */
  annotation: "would_block" | "would_require_approval" | null;
  matched_guardrails: MatchedGuardrail[];
  inferred: InferenceReport | null;
  drift_warnings: DriftWarning[];
  /** How long an approval should wait, when the policy decision is require_approval. */
  approval_timeout_ms: number | null;
  /** Health of apie.policy.json behind this decision (see docs/policy.md, "Bad input"). */
  policy: { state: PolicyState; message: string | null };
  /**
   * Present only while the `secret-then-network` template is on, on a call that gives the agent a secret
   * (a credential file, a shell credential read, a secret resource, a credential in the arguments): what it
   * read. When the call proceeds, the sidecar marks its run as having read a secret (store/projection.ts).
   */
  secret_access?: string;
}
