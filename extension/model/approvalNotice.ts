import type { ApprovalView } from "../../sidecar/protocol/approvals";
import { approvedHow, canApproveForSession, sessionScopeText } from "./approvalScope";
import { approvalParts, expiresIn, isHighRisk } from "./presenters";

/**
 * How an approval's notification reads, and what a click on it does once the approval is no longer pending.
 * Pure (no vscode): the notifier (extension/approvalNotifier.ts) only shows these.
 */

/**
 * The buttons of an approval's notification, in this order (VS Code shows the first as the primary one).
 * Four at most, so they stay on one row of the toast: "Approve for Session" is a button (it is the answer
 * that saves the most prompts), while Details and "Always allow…" (rarer, and the latter only proposes an
 * edit) sit behind More…, a quick pick. "Approve for Session" is left out for an approval the sidecar could
 * not grant for a session (a call outside any run).
 */
export const APPROVAL_BUTTONS = ["Approve", "Approve for Session", "Deny", "More…"] as const;
export type ApprovalButton = (typeof APPROVAL_BUTTONS)[number];

export function approvalButtons(a: ApprovalView): ApprovalButton[] {
  return APPROVAL_BUTTONS.filter((b) => b !== "Approve for Session" || canApproveForSession(a));
}

/** Local wall-clock time of an ISO timestamp, "14:05:09" (the notification is read now, on this machine). */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/**
 * Plain text for a notification: VS Code turns `[text](command:…)` (also `https:`, `file:`) in ANY
 * notification message into a link that runs when clicked — `showInformationMessage` included — and nothing
 * else of markdown (no bold, no code spans: backticks show as typed). The agent names its tool, resource and
 * arguments, so every square bracket is turned round: without `[` no link can form. Line breaks collapse to
 * one space (a message is one paragraph).
 */
export function plainNotificationText(text: string): string {
  return text.replace(/\[/g, "(").replace(/\]/g, ")").replace(/\s*[\r\n]+\s*/g, " ");
}

/**
 * An approval's notification: warning level for high and critical risk, info otherwise; the text says who
 * asks, what exactly would run, why (the guardrails that asked, and their reason) and until when the answer
 * is wanted. The time is written as a clock time too: a message notification cannot be updated, so "in 5 min"
 * alone would go stale on screen.
 */
export function approvalNotice(a: ApprovalView, now: number, clock: (iso: string) => string = clockTime): { level: "warning" | "info"; text: string } {
  const { who, what, where, guardrails } = approvalParts(a);
  const high = isHighRisk(a);
  const risk = high ? `${a.risk_level!.toUpperCase()} RISK · ` : "";
  const why = guardrails.length ? `guardrail ${guardrails.join(", ")}: ${a.reason}` : a.reason;
  const until = `Expires at ${clock(a.expires_at)} (${expiresIn(a.expires_at, now).replace(/^expires /, "")}).`;
  const session = canApproveForSession(a) ? ` Approve for Session also allows ${sessionScopeText(a)} until this session ends.` : "";
  return { level: high ? "warning" : "info", text: plainNotificationText(`${risk}Apie: ${who} wants to run ${what}${where}. Why: ${why}. ${until}${session}`) };
}

/** Who answered, as a person reads it ("by … at …"): resolved_by is "editor", "admin-key", "agent" or "expiry". */
function byWhom(resolvedBy: string | null): string {
  switch (resolvedBy) {
    case null:
      return "";
    case "editor":
      return " in the editor";
    case "admin-key":
      return " with the admin key (apie approvals or the API)";
    case "agent":
      return " by the agent";
    default:
      return ` by ${resolvedBy}`;
  }
}

/**
 * What a click on an approval's notification (or a pick of it) says when the approval is no longer pending,
 * or undefined when it still is and the click may act. `current` is the approval as this window last heard of
 * it (undefined: not known any more). Past its expiry an approval counts as expired even before the sidecar's
 * word arrives: the sidecar would refuse the answer anyway. A stale click does nothing but say this.
 */
export function staleApprovalMessage(id: string, current: ApprovalView | undefined, now: number, clock: (iso: string) => string = clockTime): string | undefined {
  if (current === undefined) return `Apie: approval ${id} no longer exists; nothing was done.`;
  const { who, what: call } = approvalParts(current);
  const what = plainNotificationText(`${call} (${who})`);
  if (current.status === "pending") {
    return Date.parse(current.expires_at) <= now ? `Apie: ${what} expired at ${clock(current.expires_at)}; nothing was done.` : undefined;
  }
  const at = current.resolved_at ? ` at ${clock(current.resolved_at)}` : "";
  if (current.status === "expired") return `Apie: ${what} expired${at}; nothing was done.`;
  const why = current.resolution_reason ? ` (${plainNotificationText(current.resolution_reason)})` : "";
  return `Apie: ${what} was already ${approvedHow(current)}${byWhom(current.resolved_by)}${at}${why}; nothing was done.`;
}

/** An approval's details as a markdown document (opened as text, so nothing in it is rendered or runs). */
export function approvalDetails(a: ApprovalView, clock: (iso: string) => string = clockTime): string {
  const { who, what, where } = approvalParts(a);
  const resolved = a.status === "pending" ? [] : [`- ${a.status === "approved" ? approvedHow(a) : a.status}${a.scope === "session" ? ` (${sessionScopeText(a)})` : ""}${byWhom(a.resolved_by)}${a.resolved_at ? ` at ${clock(a.resolved_at)}` : ""}${a.resolution_reason ? `: ${a.resolution_reason}` : ""}`];
  return [
    `# Approval ${a.id}: ${a.status}`,
    "",
    `${who} wants to run ${what}${where}.`,
    "",
    `- agent: ${a.agent_key}`,
    `- tool: ${a.tool.name ?? "?"}${a.tool.provider ? ` (${a.tool.provider})` : ""}`,
    `- action: ${a.action.type ?? "?"}${a.action.name ? ` ${a.action.name}` : ""}`,
    `- risk: ${a.risk_level ?? "—"}`,
    `- why: ${a.reason}`,
    ...a.matched_guardrails.map((g) => `- guardrail ${g.key} (${g.decision}): ${g.reason}`),
    `- asked at ${clock(a.created_at)}, expires at ${clock(a.expires_at)}`,
    ...resolved,
    `- run: ${a.run_id ?? "—"} · decision: ${a.decision_id}`,
    "",
    "## Arguments (redacted by the sidecar)",
    "",
    "```json",
    JSON.stringify(a.arguments, null, 2) ?? "null",
    "```",
    "",
  ].join("\n");
}
