import type { CapabilityRegistry } from "./boundary";
import type { CompiledPolicy } from "./compile";
import { EvaluationContext, type CompiledRule, type RunTaint } from "./context";
import type { PathContext } from "./paths";
import { secretAccess } from "./templates";
import { buildFacts, type ToolDefinition } from "./facts";
import {
  DECISION_RANK,
  type Decision,
  type EnforcementAction,
  type GuardDecision,
  type GuardRequest,
  type MatchedGuardrail,
  type Mode,
  type PolicyState,
} from "./types";

/** Everything evaluate() needs besides the policy; the engine owns it, tests can build it directly. */
export interface EvaluationEnvironment {
  decisionId: string;
  /** The workspace's mode (status bar / apie.mode / policy); the agent's own enforce still wins. */
  workspaceMode: Mode;
  capabilities: CapabilityRegistry;
  toolDefinitions: ReadonlyMap<string, ToolDefinition>;
  policyState: PolicyState;
  policyMessage: string | null;
  /** The host's workspace, home and temp directories (paths.ts); without them paths are judged as written. */
  paths?: PathContext | undefined;
  /**
   * The record that gave this call's run a secret (looked up by run id by the engine's owner), or "unknown"
   * in a replica that cannot know: secret-then-network then matches every network call, so the replica
   * leaves it to the sidecar. Undefined: the run has read no secret (or the call names no run).
   */
  runTaint?: RunTaint | "unknown" | undefined;
}

const ENFORCEMENT: Record<Decision, EnforcementAction> = {
  allow: "proceed",
  warn: "warn",
  block: "block",
  require_approval: "wait_for_approval",
};

/**
 * Decide one tool call. Pure: no I/O, no clock; the same inputs give the same decision. Every matching
 * guardrail is reported; the most restrictive decides (block > require_approval > warn > allow).
 */
export function evaluate(policy: CompiledPolicy, req: GuardRequest, env: EvaluationEnvironment): GuardDecision {
  const { facts, inferred } = buildFacts(req, policy.autoInfer, env.toolDefinitions);
  const environment = facts["resource.environment"];
  const isProduction = environment !== undefined && policy.productionEnvironments.has(environment.toLowerCase());
  const ctx = new EvaluationContext(facts, req.arguments, req.metadata, isProduction, env.capabilities, env.paths, env.runTaint);

  // What matched, collected without closures or arrays until something does: most calls match nothing, and
  // the MCP proxy's replica decides every one of them in a process woken per call.
  let hits: { rule: CompiledRule; reason: string }[] | undefined;
  for (const position of policy.index.candidates(facts)) {
    const rule = policy.rules[position]!;
    const reason = rule.test(ctx);
    if (reason !== null) (hits ??= []).push({ rule, reason });
  }
  const tally = new Tally();
  if (hits !== undefined) {
    // An allow guardrail with `overrides` lifts the require_approval / warn of the guardrails it names for the
    // calls it matches (the editor's "Always allow…"); they are still reported, marked, but do not decide.
    let lifted: Map<string, string> | undefined;
    for (const { rule } of hits) {
      if (rule.decision !== "allow" || rule.overrides === undefined) continue;
      lifted ??= new Map();
      for (const key of rule.overrides) if (!lifted.has(key)) lifted.set(key, rule.key);
    }
    for (const { rule, reason } of hits) {
      const m: MatchedGuardrail = { key: rule.key, name: rule.name, decision: rule.decision, reason, source: rule.source };
      const by = lifted !== undefined && (rule.decision === "require_approval" || rule.decision === "warn") ? lifted.get(rule.key) : undefined;
      if (by === undefined) tally.record(m, rule.approvalTimeoutMs);
      else tally.matched.push({ ...m, overridden_by: by });
    }
  }

  const driftWarnings = env.capabilities.drift(facts, policy.boundary);
  if (driftWarnings.length > 0) {
    const reason = driftWarnings.map((w) => w.message).join("; ");
    tally.record({ key: "boundary-drift", name: "Boundary drift", decision: "warn", reason, source: "boundary" }, undefined);
  }
  if ((env.policyState === "stale" || env.policyState === "invalid") && env.policyMessage !== null) {
    tally.record({ key: "policy-error", name: "apie.policy.json has errors", decision: "warn", reason: env.policyMessage, source: "policy" }, undefined);
  }

  const { top } = tally;
  const policyDecision: Decision = top?.decision ?? "allow";
  const mode: Mode = env.workspaceMode === "enforce" || req.mode === "enforce" ? "enforce" : "monitor";
  const restricted = policyDecision === "block" || policyDecision === "require_approval";
  const effectiveDecision: Decision = mode === "monitor" && restricted ? "allow" : policyDecision;
  const decision: GuardDecision = {
    decision_id: env.decisionId,
    policy_decision: policyDecision,
    effective_decision: effectiveDecision,
    mode,
    enforcement_action: ENFORCEMENT[effectiveDecision],
    reason: top?.reason ?? "no guardrail matched",
    annotation: mode === "monitor" && restricted ? (policyDecision === "block" ? "would_block" : "would_require_approval") : null,
    matched_guardrails: tally.matched,
    inferred,
    drift_warnings: driftWarnings,
    approval_timeout_ms: policyDecision === "require_approval" ? (tally.approvalTimeoutMs ?? policy.approvalTimeoutMs) : null,
    policy: { state: env.policyState, message: env.policyMessage },
  };
  // Only worth the scan when a template acts on it; the sidecar taints the run if the call proceeds.
  const secret = policy.enabledTemplates.includes("secret-then-network") ? secretAccess(ctx) : null;
  if (secret !== null) decision.secret_access = secret;
  return decision;
}

/** The guardrails that matched, in order, and the most restrictive of them (which decides). */
class Tally {
  readonly matched: MatchedGuardrail[] = [];
  top: MatchedGuardrail | undefined;
  /** The shortest approval timeout of the require_approval guardrails that set one. */
  approvalTimeoutMs: number | undefined;

  record(m: MatchedGuardrail, timeout: number | undefined): void {
    this.matched.push(m);
    if (this.top === undefined || DECISION_RANK[m.decision] > DECISION_RANK[this.top.decision]) this.top = m;
    if (m.decision === "require_approval" && timeout !== undefined) {
      this.approvalTimeoutMs = this.approvalTimeoutMs === undefined ? timeout : Math.min(this.approvalTimeoutMs, timeout);
    }
  }
}

/** Key of the guard's own guardrail for a request nested past MAX_NESTING_DEPTH (see tooDeepDecision). */
export const TOO_DEEP_GUARDRAIL = "request-too-deep";

/**
 * `decision` (made on a request whose too-deep parts were replaced by placeholders) with the guard's own
 * block for what it could not inspect: a guardrail `request-too-deep` at `block` (source `policy`: a rule of
 * the guard itself, like `policy-error`), which as the most restrictive decides. The mode applies as to any
 * block (DESIGN.md "Mode"): enforce → block; monitor → allow, annotated `would_block`, so monitor mode keeps
 * its promise of never stopping an agent while the record says what enforce would have done. Never
 * require_approval: a human cannot review what nobody can display, so no approval is opened for it.
 */
export function tooDeepDecision(decision: GuardDecision, reason: string): GuardDecision {
  return guardOwnBlock(decision, { key: TOO_DEEP_GUARDRAIL, name: "Request too deeply nested to inspect" }, reason);
}

/** Key of the guard's own guardrail for an approval past MAX_PENDING_APPROVALS (see tooManyPendingDecision). */
export const TOO_MANY_PENDING_GUARDRAIL = "too-many-pending-approvals";

/**
 * An enforced require_approval when `pending` approvals already wait for a human (the cap): blocked instead
 * of opening one more. Nobody answers hundreds of prompts; opening them anyway would let any holder of the
 * agent key flood the editor and grow the sidecar's memory without bound. Blocking fails closed: the agent
 * is told why and may ask again once the queue is answered.
 */
export function tooManyPendingDecision(decision: GuardDecision, pending: number): GuardDecision {
  const reason = `${pending} approvals are already waiting for a human: answer or cancel some, then retry (${decision.reason})`;
  return guardOwnBlock(decision, { key: TOO_MANY_PENDING_GUARDRAIL, name: "Too many approvals waiting" }, reason);
}

/**
 * `decision` with a block of the guard itself (source `policy`, like `policy-error`) in front of what matched,
 * deciding as the most restrictive. The mode applies as to any block (DESIGN.md "Mode"): enforce → block;
 * monitor → allow annotated `would_block`.
 */
function guardOwnBlock(decision: GuardDecision, guardrail: { key: string; name: string }, reason: string): GuardDecision {
  const effective: Decision = decision.mode === "enforce" ? "block" : "allow";
  const matched: MatchedGuardrail = { ...guardrail, decision: "block", reason, source: "policy" };
  return {
    ...decision,
    policy_decision: "block",
    effective_decision: effective,
    enforcement_action: ENFORCEMENT[effective],
    reason,
    annotation: effective === "allow" ? "would_block" : null,
    matched_guardrails: [matched, ...decision.matched_guardrails],
    approval_timeout_ms: null,
  };
}
