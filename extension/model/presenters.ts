import type { Decision, GuardDecision, Mode } from "../../sidecar/guard/types";
import { hookHostOfAgentKey } from "../../sidecar/hooks/hosts";
import type { ApprovalView } from "../../sidecar/protocol/approvals";
import type { DecisionRequestSummary, RecordDataByKind } from "../../sidecar/protocol/records";
import type { StreamRecord } from "../../sidecar/protocol/stream";

/**
 * How things read in the editor: labels, codicons and one-line descriptions for records, approvals and the
 * status bar. Pure functions over protocol types; the views only map these onto TreeItems.
 */

/** The outcome categories the Runs view shows and filters by. */
export type Outcome = "allow" | "warn" | "would_block" | "would_require_approval" | "blocked" | "pending" | "approved" | "rejected" | "expired" | "cancelled";

export const OUTCOME_ICON: Readonly<Record<Outcome, string>> = {
  allow: "pass",
  warn: "warning",
  would_block: "eye",
  would_require_approval: "eye",
  blocked: "circle-slash",
  pending: "watch",
  approved: "check",
  rejected: "close",
  expired: "history",
  cancelled: "debug-stop",
};

const OUTCOME_LABEL: Readonly<Record<Outcome, string>> = {
  allow: "allowed",
  warn: "warned",
  would_block: "would block",
  would_require_approval: "would require approval",
  blocked: "blocked",
  pending: "waiting for approval",
  approved: "approved",
  rejected: "rejected",
  expired: "expired",
  cancelled: "cancelled",
};

export function outcomeLabel(outcome: Outcome): string {
  return OUTCOME_LABEL[outcome];
}

/** A decision as the user sees it: what happened, not what the policy said. */
export function decisionOutcome(decision: Pick<GuardDecision, "effective_decision" | "annotation">): Outcome {
  if (decision.annotation === "would_block") return "would_block";
  if (decision.annotation === "would_require_approval") return "would_require_approval";
  const map: Record<Decision, Outcome> = { allow: "allow", warn: "warn", block: "blocked", require_approval: "pending" };
  return map[decision.effective_decision];
}

export function toolLabel(request: Pick<DecisionRequestSummary, "tool" | "action">): string {
  return request.tool.name ?? request.action.name ?? request.action.type ?? "(unnamed tool)";
}

export function resourceLabel(resource: { type: string | null; environment: string | null; external_id?: string | null }): string {
  const what = resource.external_id ? `${resource.type ?? "resource"} ${resource.external_id}` : (resource.type ?? "");
  return resource.environment ? `${what || "resource"} in ${resource.environment}` : what;
}

export interface RecordPresentation {
  label: string;
  description: string;
  icon: string;
  /** For the decision filter; undefined for records that are not decisions or approvals. */
  outcome?: Outcome;
  /** Plain-text detail lines (matched guardrails, reasons, arguments) for tooltips and the details view. */
  details: string[];
}

/**
 * A decision the MCP proxy made with its replica of the engine (a plain allow), as the sidecar journaled it:
 * the sidecar decided it again; `diverged` means its own answer (the one shown) differs — the call had already
 * run, on a replica a policy change had not reached yet.
 */
function reportedLine(diverged: boolean): string {
  return diverged
    ? "decided in the MCP proxy as a plain allow, before a guard change reached it; the call ran — the sidecar's own decision is shown"
    : "decided in the MCP proxy (its copy of this policy); the sidecar decided the same";
}

/** A decision made after its caller's deadline (the `late` of the record): the call did not run under it. */
function lateLine(gaveUpAt: string): string {
  return `decided after the caller stopped waiting (its deadline was ${gaveUpAt}): the call did not run under this decision`;
}

/** One timeline row. Unknown record kinds still get a readable row (the log may be newer than the editor). */
export function presentRecord(record: StreamRecord): RecordPresentation {
  switch (record.kind) {
    case "decision": {
      const d = record.data as RecordDataByKind["decision"];
      const outcome = decisionOutcome(d.decision);
      const guardrails = d.decision.matched_guardrails.length ? ` · ${d.decision.matched_guardrails.map((g) => g.key).join(", ")}` : "";
      return {
        label: toolLabel(d.request),
        description: `${outcomeLabel(outcome)}${d.late ? " (caller gave up)" : ""}${guardrails}${d.reported?.diverged ? " · after the fact" : ""}`,
        icon: OUTCOME_ICON[outcome],
        outcome,
        details: [
          `decision ${d.decision.decision_id}: policy ${d.decision.policy_decision}, effective ${d.decision.effective_decision} (${d.decision.mode})`,
          ...(d.reported === undefined ? [] : [reportedLine(d.reported.diverged)]),
          ...(d.late === undefined ? [] : [lateLine(d.late.caller_gave_up_at)]),
          d.decision.reason,
          ...d.decision.matched_guardrails.map((g) => `${g.key} (${g.decision}): ${g.reason}`),
          ...d.decision.drift_warnings.map((w) => `drift: ${w.message}`),
          ...(d.request.arguments === null ? [] : [`arguments: ${JSON.stringify(d.request.arguments)}`]),
        ],
      };
    }
    case "approval.requested": {
      const a = (record.data as RecordDataByKind["approval.requested"]).approval;
      return { label: a.tool.name ?? a.action.name ?? "approval", description: `approval requested · ${a.id}`, icon: OUTCOME_ICON.pending, outcome: "pending", details: [approvalPrompt(a)] };
    }
    case "approval.resolved": {
      const d = record.data as RecordDataByKind["approval.resolved"];
      const outcome = d.status as Outcome;
      return {
        label: `approval ${outcomeLabel(outcome)}`,
        description: `by ${d.resolved_by}${d.resolution_reason ? ` · ${d.resolution_reason}` : ""} · ${d.id}`,
        icon: OUTCOME_ICON[outcome],
        outcome,
        details: [],
      };
    }
    case "event": {
      const e = (record.data as RecordDataByKind["event"]).event;
      const failed = e.type.endsWith(".failed") || e.type === "agent.error";
      const tool = e.tool?.name ?? e.action?.name ?? "";
      const error = (e as { error?: { message?: string } }).error?.message;
      return {
        label: tool || e.type,
        description: tool ? e.type.replace(/^agent\./, "") : "",
        icon: failed ? "error" : e.type.endsWith(".completed") ? "check-all" : "circle-small",
        details: error ? [`error: ${error}`] : [],
      };
    }
    case "run.started":
      return { label: "run started", description: (record.data as RecordDataByKind["run.started"]).run.input_summary ?? "", icon: "play", details: [] };
    case "run.completed": {
      const d = record.data as RecordDataByKind["run.completed"];
      return { label: `run ${d.status}`, description: d.output_summary ?? "", icon: d.status === "completed" ? "pass-filled" : "error", details: [] };
    }
    default:
      return { label: record.kind, description: "", icon: "circle-small", details: [] };
  }
}

/**
 * "release-gate wants to run deploy.release (execute) on deployment_event in production: <reason>". A coding
 * agent's hook names the host and what it runs: "Claude Code wants to run `cat ~/.ssh/id_rsa` (Bash) …".
 */
export function approvalPrompt(a: ApprovalView): string {
  const { who, what, where, guardrails } = approvalParts(a);
  return `${who} wants to run ${what}${where}${guardrails.length ? ` [${guardrails.join(", ")}]` : ""}: ${a.reason}`;
}

/**
 * The pieces of an approval's prompt: who asks (the host for a coding agent's hook, "Claude Code (Explore)" for
 * a subagent; else the agent key), what exactly runs (the command or path in a code span, else the tool), where
 * (" (execute) on deployment_event in production") and the guardrails that asked for the approval.
 */
export function approvalParts(a: ApprovalView): { who: string; what: string; where: string; guardrails: string[] } {
  const action = a.action.type ? ` (${a.action.type})` : "";
  const resource = resourceLabel(a.resource);
  const where = `${action}${resource ? ` on ${resource}` : ""}`;
  const guardrails = a.matched_guardrails.filter((g) => g.decision === "require_approval").map((g) => g.key);
  const host = hookHostOfAgentKey(a.agent_key);
  if (host !== undefined) {
    const sub = a.agent_key.includes("/") ? ` (${a.agent_key.slice(a.agent_key.indexOf("/") + 1)})` : "";
    const summary = hookCallSummary(a);
    const tool = a.tool.name ?? "a tool";
    const what = summary === undefined ? tool : summary.startsWith(`${tool} `) ? `\`${summary}\`` : `\`${summary}\` (${tool})`;
    return { who: `${host.displayName}${sub}`, what, where, guardrails };
  }
  return { who: a.agent_key, what: a.tool.name ?? a.action.name ?? "a tool", where, guardrails };
}

/**
 * What a hook's tool call does, in one line: the shell command, else the path or URL it touches (the
 * arguments are already redacted by the sidecar). Backticks and line breaks are flattened so the text stays
 * one code span; long text is cut.
 */
function hookCallSummary(a: ApprovalView): string | undefined {
  const args = typeof a.arguments === "object" && a.arguments !== null ? (a.arguments as Record<string, unknown>) : {};
  const paths = Array.isArray(args.paths) ? args.paths.filter((p) => typeof p === "string").join(" ") : undefined;
  const first = [args.command, args.cmd, args.file_path, args.path, args.filePath, args.url, args.pattern, paths].find((v): v is string => typeof v === "string" && v.trim() !== "");
  if (first === undefined) return undefined;
  const flat = first.replace(/[`\s]+/g, " ").trim();
  const text = typeof args.command === "string" || typeof args.cmd === "string" ? flat : `${a.tool.name ?? ""} ${flat}`.trim();
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * How an agent is named in the views: a coding agent's hook by its host ("Claude Code", "Claude Code ·
 * Explore" for a subagent), others by the name they identified with, else their key.
 */
export function agentLabel(key: string, name?: string | null): string {
  const host = hookHostOfAgentKey(key);
  if (host === undefined) return name ?? key;
  const slash = key.indexOf("/");
  return slash === -1 ? host.displayName : `${host.displayName} · ${key.slice(slash + 1)}`;
}

/** High and critical risk deserve a warning-level notification. */
export function isHighRisk(a: ApprovalView): boolean {
  return a.risk_level === "high" || a.risk_level === "critical";
}

export function timeLeft(expiresAt: string, now: number): string {
  const ms = Date.parse(expiresAt) - now;
  if (ms <= 0) return "expiring";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s left`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s left` : `${Math.floor(m / 60)}h ${m % 60}m left`;
}

export type SidecarHealth = "starting" | "running" | "restarting" | "stopped";

/** `$(shield) Apie: Enforce · 2 pending`, or the sidecar's trouble instead of a count. */
export function statusBarText(mode: Mode, pending: number, health: SidecarHealth): string {
  const icon = health === "running" ? (mode === "enforce" ? "$(shield)" : "$(eye)") : health === "stopped" ? "$(error)" : "$(sync~spin)";
  const name = mode === "enforce" ? "Enforce" : "Monitor";
  const tail = health === "stopped" ? " · sidecar stopped" : health !== "running" ? ` · ${health}` : pending > 0 ? ` · ${pending} pending` : "";
  return `${icon} Apie: ${name}${tail}`;
}

/** Time left as an approval's notification says it when raised: whole minutes (rounded up), then seconds. */
export function expiresIn(expiresAt: string, now: number): string {
  const s = Math.ceil((Date.parse(expiresAt) - now) / 1000);
  if (s <= 0) return "expiring";
  return s < 60 ? `expires in ${s} s` : `expires in ${Math.ceil(s / 60)} min`;
}
