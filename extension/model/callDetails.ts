import type { RecordDataByKind } from "../../sidecar/protocol/records";
import { callLabel, type Places } from "./callLabel";
import { callDurationMs, callState, callStateLabel, formatDuration, scopeOf, type CallState } from "./callPresenters";
import { agentLabel, resourceLabel } from "./presenters";
import { happenedAt } from "./timeline";
import type { ToolCall } from "./toolCalls";

/**
 * Everything a person asks about one tool call, for its details panel: the request (arguments as the records
 * carry them: redacted by the sidecar or the SDK before they were logged; nothing here un-redacts), the
 * guardrails that matched (each a link to its line in apie.policy.json), every decision, the approval's
 * history (who, when, scope), the outcome and the timings. Pure: the panel renders it.
 */
export interface CallDetails {
  title: string;
  state: CallState;
  stateLabel: string;
  facts: { name: string; value: string }[];
  /** Pretty JSON of the redacted arguments; null when the records carried none. */
  arguments: string | null;
  guardrails: { key: string; name: string; decision: string; reason: string }[];
  decisions: { id: string; at: string; text: string }[];
  approval: { id: string; events: { at: string; text: string }[] } | null;
  outcome: { at: string; text: string } | null;
  timings: { name: string; value: string }[];
}

export function callDetails(call: ToolCall, runLabel: string, places: Places = {}): CallDetails {
  const r = call.request;
  const state = callState(call);
  const facts = [
    { name: "Agent", value: agentLabel(r.agentKey) === r.agentKey ? r.agentKey : `${agentLabel(r.agentKey)} (${r.agentKey})` },
    { name: "Run", value: `${runLabel} (${call.runId})` },
    { name: "Tool", value: `${r.tool.name ?? "?"}${r.tool.provider ? ` (${r.tool.provider})` : ""}` },
    ...(r.action.type ? [{ name: "Action", value: r.action.type }] : []),
    ...(resourceLabel(r.resource) ? [{ name: "Resource", value: resourceLabel(r.resource) }] : []),
    ...(call.hook ? [{ name: "Host call", value: `${call.hook.tool_use_id}${call.hook.session_id ? ` in session ${call.hook.session_id}` : ""}` }] : []),
  ];
  const seen = new Set<string>();
  const guardrails: CallDetails["guardrails"] = [];
  for (const step of call.decisions) {
    for (const g of step.data.decision.matched_guardrails) {
      if (seen.has(g.key)) continue;
      seen.add(g.key);
      guardrails.push({ key: g.key, name: g.name || g.key, decision: g.decision, reason: g.reason });
    }
  }
  for (const g of call.local?.matchedGuardrails ?? []) {
    if (!seen.has(g.key)) guardrails.push({ key: g.key, name: g.key, decision: g.decision, reason: "" });
  }
  const decisions = call.decisions.map(({ record, data }) => ({
    id: data.decision.decision_id,
    at: time(happenedAt(record)),
    text: decisionText(data),
  }));
  if (call.local !== undefined) {
    decisions.push({ id: "(none: decided by the agent's SDK)", at: time(happenedAt(call.local.record)), text: `${call.local.effectiveDecision ?? "?"}${call.local.guardUnavailable ? " — the guard was unavailable" : ""}${call.local.reason ? `: ${call.local.reason}` : ""}` });
  }
  return {
    title: callLabel(r, places),
    state,
    stateLabel: callStateLabel(state),
    facts,
    arguments: r.arguments === null || r.arguments === undefined ? null : JSON.stringify(r.arguments, null, 2),
    guardrails,
    decisions,
    approval: approvalHistory(call),
    outcome: call.outcome === undefined ? null : { at: time(happenedAt(call.outcome.record)), text: call.outcome.status === "completed" ? "completed" : `failed: ${call.outcome.error ?? "?"}` },
    timings: timings(call),
  };
}

function decisionText(d: RecordDataByKind["decision"]): string {
  const x = d.decision;
  const parts = [`${x.effective_decision.replace("_", " ")} (policy: ${x.policy_decision.replace("_", " ")}, ${x.mode})`];
  if (x.annotation) parts.push(x.annotation.replace(/_/g, " "));
  if (d.reported) parts.push(d.reported.diverged ? "made by the MCP proxy before a policy change reached it; the sidecar would have decided otherwise" : "made by the MCP proxy's copy of the policy");
  if (d.late) parts.push(`after the caller stopped waiting (${d.late.caller_gave_up_at}): the call did not run under it`);
  const grant = d.session_grant;
  if (grant) parts.push(`approved for this session by ${grant.resolved_by ?? "?"} (${grant.approval_id})`);
  return `${parts.join(" · ")} — ${x.reason}`;
}

function approvalHistory(call: ToolCall): CallDetails["approval"] {
  const trail = call.approval;
  if (trail === undefined) return null;
  const a = trail.approval;
  const events = [{ at: time(Date.parse(a.created_at)), text: `asked${a.risk_level ? ` (${a.risk_level} risk)` : ""}: ${a.reason}; expires ${time(Date.parse(a.expires_at))}` }];
  if (a.status !== "pending") {
    const who = a.resolved_by === "expiry" ? "nobody answered in time" : `by ${a.resolved_by ?? "?"}`;
    const scope = scopeOf(call);
    events.push({ at: a.resolved_at ? time(Date.parse(a.resolved_at)) : "?", text: `${a.status} ${who}${scope ? ` · scope: ${scope === "session" ? "this session" : "this call only"}` : ""}${a.resolution_reason ? ` — “${a.resolution_reason}”` : ""}` });
  }
  if (call.decisions.length > 1) events.push({ at: time(happenedAt(call.decisions[call.decisions.length - 1]!.record)), text: "the grant was spent on this call" });
  return { id: a.id, events };
}

function timings(call: ToolCall): CallDetails["timings"] {
  const rows: CallDetails["timings"] = [{ name: "Started", value: time(Math.min(...call.records.map(happenedAt))) }];
  const a = call.approval?.approval;
  if (a?.resolved_at) rows.push({ name: "Waited for the answer", value: formatDuration(Math.max(0, Date.parse(a.resolved_at) - Date.parse(a.created_at))) });
  if (call.outcome) rows.push({ name: "Ended", value: time(happenedAt(call.outcome.record)) });
  const total = callDurationMs(call);
  if (total !== undefined) rows.push({ name: "Total", value: formatDuration(total) });
  return rows;
}

function time(ms: number): string {
  return Number.isNaN(ms) ? "?" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
