import type { ApprovalScope } from "../../sidecar/protocol/approvals";
import type { RecordDataByKind, SessionGrantRef } from "../../sidecar/protocol/records";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { callLabel, type Places } from "./callLabel";
import { happenedAt } from "./timeline";
import type { DecisionStep, ToolCall } from "./toolCalls";

/**
 * How a tool call reads in the Runs view: its final state (icon and word), its description (the guardrail
 * that decided, how long it took) and its children — the decision, the approval and the outcome, in people's
 * words. Pure functions over {@link ToolCall}; the tree only maps them onto TreeItems.
 */

export const CALL_STATES = ["allowed", "warned", "would_block", "blocked", "waiting", "approved", "rejected", "expired", "cancelled", "completed", "failed", "started"] as const;
export type CallState = (typeof CALL_STATES)[number];

/** Codicon and theme color of each state (colors by meaning: passed, warning, error, muted). */
export const CALL_STATE_ICON: Readonly<Record<CallState, { icon: string; color?: string }>> = {
  allowed: { icon: "pass", color: "testing.iconPassed" },
  warned: { icon: "warning", color: "list.warningForeground" },
  would_block: { icon: "eye", color: "list.warningForeground" },
  blocked: { icon: "circle-slash", color: "errorForeground" },
  waiting: { icon: "watch", color: "charts.yellow" },
  approved: { icon: "check", color: "testing.iconPassed" },
  rejected: { icon: "close", color: "errorForeground" },
  expired: { icon: "history", color: "disabledForeground" },
  cancelled: { icon: "debug-stop", color: "disabledForeground" },
  completed: { icon: "pass-filled", color: "testing.iconPassed" },
  failed: { icon: "error", color: "errorForeground" },
  started: { icon: "circle-outline" },
};

const CALL_STATE_LABEL: Readonly<Record<CallState, string>> = {
  allowed: "allowed",
  warned: "warned",
  would_block: "would block",
  blocked: "blocked",
  waiting: "waiting for approval",
  approved: "approved",
  rejected: "rejected",
  expired: "expired",
  cancelled: "cancelled",
  completed: "completed",
  failed: "failed",
  started: "started",
};

export function callStateLabel(state: CallState): string {
  return CALL_STATE_LABEL[state];
}

/** The sidecar's final word on the call (the decision that spent a grant, if any), else the SDK's own. */
function lastDecision(call: ToolCall): DecisionStep | undefined {
  return call.decisions[call.decisions.length - 1];
}

function sessionGrantOf(step: DecisionStep | undefined): SessionGrantRef | undefined {
  return step?.data.session_grant;
}

const VERDICT: Readonly<Record<string, CallState>> = { allow: "allowed", warn: "warned", block: "blocked", require_approval: "waiting" };

/** What the guard let happen, before any approval or outcome: allowed, warned, would block, blocked, waiting. */
export function verdictOf(call: ToolCall): CallState | undefined {
  const step = lastDecision(call);
  if (step !== undefined) return decisionVerdict(step);
  const local = call.local;
  if (local === undefined) return undefined;
  if (local.annotation === "would_block" || local.annotation === "would_require_approval") return "would_block";
  return VERDICT[local.effectiveDecision ?? ""];
}

function decisionVerdict(step: DecisionStep): CallState {
  const d = step.data.decision;
  if (step.data.late !== undefined) return "cancelled";
  if (sessionGrantOf(step) !== undefined) return "approved";
  if (d.annotation === "would_block" || d.annotation === "would_require_approval") return "would_block";
  return VERDICT[d.effective_decision]!;
}

/**
 * The call's final state, the most telling of what happened: a failure; else the human's answer (waiting,
 * approved, rejected, expired, cancelled); else a refusal or a warning of the guard (blocked, would block,
 * warned); else the outcome (completed) or what the guard allowed.
 */
export function callState(call: ToolCall): CallState {
  if (call.outcome?.status === "failed") return "failed";
  const approval = call.approval?.approval.status;
  if (approval !== undefined) return approval === "pending" ? "waiting" : approval;
  const verdict = verdictOf(call);
  // A host that asks in its own prompt (hooks.approvals: host) says yes by running the call.
  if (verdict === "waiting" && call.outcome?.status === "completed") return "completed";
  if (verdict !== undefined && verdict !== "allowed") return verdict;
  if (call.outcome?.status === "completed") return "completed";
  return verdict ?? "started";
}

/** Every state a filter can find the call by: its final state, the guard's verdict and its outcome. */
export function callFacets(call: ToolCall): Set<CallState> {
  const facets = new Set<CallState>([callState(call)]);
  const verdict = verdictOf(call);
  if (verdict !== undefined && !(verdict === "waiting" && call.approval !== undefined && call.approval.approval.status !== "pending")) facets.add(verdict);
  if (call.outcome !== undefined) facets.add(call.outcome.status);
  return facets;
}

export function matchesStates(call: ToolCall, states: ReadonlySet<CallState> | undefined): boolean {
  if (states === undefined || states.size === 0) return true;
  for (const facet of callFacets(call)) if (states.has(facet)) return true;
  return false;
}

/** The guardrails that made the decision (those at the policy's decision, else every one that objected), by name. */
export function decidingGuardrails(call: ToolCall): { key: string; name: string }[] {
  const first = call.decisions[0]?.data.decision;
  if (first !== undefined) {
    const at = first.matched_guardrails.filter((g) => g.decision === first.policy_decision);
    return (at.length > 0 ? at : first.matched_guardrails.filter((g) => g.decision !== "allow")).map((g) => ({ key: g.key, name: g.name || g.key }));
  }
  return (call.local?.matchedGuardrails ?? []).filter((g) => g.decision !== "allow").map((g) => ({ key: g.key, name: g.key }));
}

/** From the call's first record to its end (outcome, answer, last record); the hook's own measure when it sent one. */
export function callDurationMs(call: ToolCall): number | undefined {
  if (call.outcome?.durationMs !== null && call.outcome?.durationMs !== undefined) return call.outcome.durationMs;
  if (call.records.length < 2) return undefined;
  const start = Math.min(...call.records.map(happenedAt));
  const end = Math.max(...call.records.map(happenedAt));
  return Math.max(0, end - start);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

export interface CallRow {
  label: string;
  description: string;
  state: CallState;
}

/** The call's row: `deploy.release · production`, "approved · Production deploys · 3.2 s". */
export function presentCall(call: ToolCall, places: Places = {}): CallRow {
  const state = callState(call);
  const label = callLabel(call.request, places);
  const guardrails = decidingGuardrails(call).map((g) => g.name);
  // A call still waiting has no duration yet (its records so far say nothing about how long it will take).
  const duration = state === "waiting" ? undefined : callDurationMs(call);
  const description = [callStateLabel(state), ...(guardrails.length ? [guardrails.join(", ")] : []), ...(duration === undefined ? [] : [formatDuration(duration)])].join(" · ");
  return { label, description, state };
}

/** The call's hover: its state, the guard's reason and the error it ended with. */
export function callTooltip(call: ToolCall, row: CallRow): string {
  const reason = lastDecision(call)?.data.decision.reason ?? call.local?.reason;
  return [`${row.label}: ${callStateLabel(row.state)}`, ...(reason ? [reason] : []), ...(call.outcome?.error ? [`error: ${call.outcome.error}`] : [])].join("\n");
}

export interface StepRow {
  /** Which part of the call: one row each. */
  part: "decision" | "approval" | "outcome";
  label: string;
  description: string;
  icon: string;
  color?: string | undefined;
  /** The records the row stands for (a story link to any of them reveals this row). */
  seqs: number[];
}

/**
 * The call's children: one row for the guard's decision (the first and the one that spent a grant together),
 * one for the approval (asked, answered), one for the outcome — never one per record.
 */
export function callSteps(call: ToolCall): StepRow[] {
  const rows: StepRow[] = [];
  const decisionRow = decisionStep(call);
  if (decisionRow !== undefined) rows.push(decisionRow);
  const trail = call.approval;
  if (trail !== undefined) {
    const a = trail.approval;
    const state: CallState = a.status === "pending" ? "waiting" : a.status;
    const scope = scopeOf(call);
    const by = a.resolved_by === null || a.resolved_by === "expiry" ? "" : ` by ${a.resolved_by}`;
    const label = a.status === "pending" ? "Approval: waiting for an answer" : a.status === "expired" ? "Approval: nobody answered in time" : `Approval: ${a.status}${by}`;
    const description = a.status === "pending" ? `asked ${clock(a.created_at)}, expires ${clock(a.expires_at)}` : [scope === "session" ? "for this session" : undefined, a.resolution_reason ?? undefined, a.resolved_at ? `answered ${clock(a.resolved_at)}` : undefined].filter(Boolean).join(" · ");
    rows.push({ part: "approval", label, description, ...iconOf(state), seqs: seqsOf(call, (r) => r.kind.startsWith("approval.")) });
  }
  if (call.outcome !== undefined) {
    const o = call.outcome;
    const duration = callDurationMs(call);
    rows.push({
      part: "outcome",
      label: o.status === "completed" ? "Outcome: completed" : "Outcome: failed",
      description: o.status === "failed" ? (o.error ?? "") : duration === undefined ? "" : `after ${formatDuration(duration)}`,
      ...iconOf(o.status),
      seqs: seqsOf(call, (r) => r.kind === "event" && /^agent\.(action\.(completed|failed)|error)$/.test((r.data as RecordDataByKind["event"]).event.type)),
    });
  }
  if (call.outcome === undefined && call.agentError !== undefined) {
    rows.push({ part: "outcome", label: "Outcome: not run", description: `the agent got: ${call.agentError}`, ...iconOf(callState(call)), seqs: seqsOf(call, (r) => r.kind === "event") });
  }
  return rows;
}

function decisionStep(call: ToolCall): StepRow | undefined {
  const first = call.decisions[0];
  const verdict = first === undefined ? verdictOf(call) : decisionVerdict(first);
  if (verdict === undefined) return undefined;
  const grant = sessionGrantOf(first);
  const guardrails = decidingGuardrails(call).map((g) => g.key);
  const spent = call.decisions.length > 1 ? " · grant spent" : "";
  const words: Partial<Record<CallState, string>> = { allowed: "allowed", warned: "warned", would_block: "would block in enforce", blocked: "blocked", waiting: "approval required", cancelled: "decided after the caller gave up", approved: "allowed by a session approval" };
  const by = first === undefined ? " (by the agent's SDK)" : first.data.reported !== undefined ? " (by the MCP proxy)" : "";
  const reason = first?.data.decision.reason ?? call.local?.reason ?? "";
  const description = [guardrails.join(", "), grant ? `approved by ${grant.resolved_by ?? "?"}` : "", reason].filter(Boolean).join(" · ") + spent;
  return {
    part: "decision",
    label: `Decision: ${words[verdict] ?? verdict}${by}`,
    description,
    ...iconOf(verdict),
    seqs: seqsOf(call, (r) => r.kind === "decision" || (r.kind === "event" && /^agent\.(tool\.called|action\.requested|guardrail\.evaluated)$/.test((r.data as RecordDataByKind["event"]).event.type))),
  };
}

/** `once` / `session` when the approval was answered with a scope (absent before approval scopes existed). */
export function scopeOf(call: ToolCall): ApprovalScope | undefined {
  return call.approval?.approval.scope ?? undefined;
}

function iconOf(state: CallState): { icon: string; color?: string } {
  return CALL_STATE_ICON[state];
}

function seqsOf(call: ToolCall, test: (r: StreamRecord) => boolean): number[] {
  return call.records.filter(test).map((r) => r.seq);
}

function clock(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(11, 19);
}

/**
 * A record that is not a tool call, as a quiet row in words: an SDK's own event ("workflow step started ·
 * Validate inputs"), a handoff, an error; never the raw record kind alone.
 */
export function presentNote(record: StreamRecord): { label: string; description: string; icon: string } {
  if (record.kind === "event") {
    const e = (record.data as RecordDataByKind["event"]).event;
    const words = e.type.replace(/^agent\./, "").replace(/[._]+/g, " ");
    const error = (e as { error?: { message?: unknown } }).error?.message;
    const step = (e as { step_name?: unknown }).step_name;
    const detail = typeof error === "string" ? error : typeof step === "string" ? step : (e.tool?.name ?? "");
    return { label: words.charAt(0).toUpperCase() + words.slice(1), description: String(detail), icon: typeof error === "string" ? "error" : "circle-small" };
  }
  if (record.kind === "handoff") {
    const d = record.data as RecordDataByKind["handoff"];
    return { label: "Handoff", description: d.reason ?? "", icon: "arrow-swap" };
  }
  if (record.kind === "approval.resolved") {
    const d = record.data as RecordDataByKind["approval.resolved"];
    return { label: `Approval ${d.status}`, description: `by ${d.resolved_by}`, icon: CALL_STATE_ICON[d.status].icon };
  }
  return { label: record.kind.replace(/[._]+/g, " "), description: "", icon: "circle-small" };
}
