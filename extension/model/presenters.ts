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
  const host = hookHostOfAgentKey(a.agent_key);
  if (host !== undefined) {
    const sub = a.agent_key.includes("/") ? ` (${a.agent_key.slice(a.agent_key.indexOf("/") + 1)})` : "";
    const what = hookCallSummary(a);
    const tool = a.tool.name ?? "a tool";
    const run = what === undefined ? tool : what.startsWith(`${tool} `) ? `\`${what}\`` : `\`${what}\` (${tool})`;
    return `${host.displayName}${sub} wants to run ${run}${approvalTail(a)}`;
  }
  const tool = a.tool.name ?? a.action.name ?? "a tool";
  return `${a.agent_key} wants to run ${tool}${approvalTail(a)}`;
}

function approvalTail(a: ApprovalView): string {
  const action = a.action.type ? ` (${a.action.type})` : "";
  const where = resourceLabel(a.resource);
  const guardrails = a.matched_guardrails.filter((g) => g.decision === "require_approval").map((g) => g.key);
  return `${action}${where ? ` on ${where}` : ""}${guardrails.length ? ` [${guardrails.join(", ")}]` : ""}: ${a.reason}`;
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

/**
 * Time left as a notification shows it: whole minutes (rounded up), then seconds in the last minute. Coarse on
 * purpose: the notifier re-sends its message only when this text changes, so a 5-minute wait costs ~65 updates.
 */
export function expiresIn(expiresAt: string, now: number): string {
  const s = Math.ceil((Date.parse(expiresAt) - now) / 1000);
  if (s <= 0) return "expiring";
  return s < 60 ? `expires in ${s} s` : `expires in ${Math.ceil(s / 60)} min`;
}

/**
 * A markdown link that runs one of the extension's commands when clicked in a notification; `args` travel as a
 * JSON array in the query. Parentheses and quotes are escaped too, since VS Code's link syntax ends at `)`.
 */
export function commandLink(label: string, command: string, args: unknown[] = []): string {
  const query = encodeURIComponent(JSON.stringify(args)).replace(/[()'!*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `[${label}](command:${command}${args.length ? `?${query}` : ""})`;
}

/**
 * The text of an approval's notification: the prompt, then Approve and Deny (the Approvals view's own commands,
 * given the approval's id), Details and the time left. The prompt's square brackets are turned round: the agent
 * names its tool and resource, and VS Code turns `[text](command:…)` in a notification into a link that runs
 * any command, so an agent must not be able to add one. The links come last, the prompt is read first.
 */
export function approvalNotice(a: ApprovalView, now: number): string {
  const prompt = approvalPrompt(a).replace(/\[/g, "(").replace(/\]/g, ")");
  const risk = isHighRisk(a) ? `⚠ ${a.risk_level!.toUpperCase()} RISK · ` : "";
  const links = [commandLink("Approve", "apie.approve", [a.id]), commandLink("Deny", "apie.deny", [a.id]), commandLink("Details", "apie.approvals.focus")];
  return `${risk}Apie: ${prompt} — ${links.join(" · ")} (${expiresIn(a.expires_at, now)})`;
}
