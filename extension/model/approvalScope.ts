import type { CustomGuardrail } from "../../sidecar/guard/policySchema";
import { PATH_KEYS } from "../../sidecar/guard/argumentKeys";
import type { ApprovalView } from "../../sidecar/protocol/approvals";
import { commandRegex } from "../../sidecar/protocol/commandText";

/**
 * The wider answers to an approval (issue 13, "less approval fatigue"), as the editor words and builds them.
 * Pure (no vscode): the notifier and Ctx only show these and apply the edit.
 *
 * - "Approve for Session" is the sidecar's: the grant pattern it computed (ApprovalView.grant_pattern) is what
 *   {@link sessionScopeText} describes.
 * - "Always allow…" never changes the policy itself: {@link alwaysAllowGuardrail} builds a custom guardrail the
 *   editor inserts, unsaved, into apie.policy.json for the human to review and save. An allow guardrail alone
 *   cannot lift a template's require_approval (the most restrictive decision wins: guard/evaluate.ts), so the
 *   proposal names the guardrails that asked in `overrides` — the one field that lifts them, for the calls the
 *   guardrail matches only, and never a block.
 */

/** What "Approve for Session" covers, in words: "`npm test` (Bash) in /w", "Edit of /w/src/app.ts". */
export function sessionScopeText(a: ApprovalView): string {
  const tool = a.tool.name ?? a.action.name ?? "this tool";
  const p = a.grant_pattern;
  if (p?.kind === "command" && p.command !== undefined) return `\`${flat(p.command)}\` (${tool})${p.cwd ? ` in ${p.cwd}` : ""}`;
  if (p?.kind === "path" && p.paths !== undefined) return `${tool} of ${p.paths.join(", ")}`;
  return `${tool} with exactly these arguments`;
}

/** Whether "Approve for Session" can apply: the sidecar refuses it for a call outside a run. */
export function canApproveForSession(a: ApprovalView): boolean {
  return a.grant_pattern !== undefined && a.run_id !== null;
}

/** "approved for this session" / "approved" (once, or a log before scopes) / "denied" …, for the stale and details texts. */
export function approvedHow(a: Pick<ApprovalView, "status" | "scope">): string {
  if (a.status !== "approved") return a.status === "rejected" ? "denied" : a.status;
  return a.scope === "session" ? "approved for this session" : "approved";
}

export interface AlwaysAllowProposal {
  guardrail: CustomGuardrail;
  /** One line saying what the guardrail allows and what it lifts, for the message shown with the edit. */
  summary: string;
}

/**
 * The guardrail "Always allow…" proposes for this approval: decision allow, matching the same tool and
 * - a shell command: the command by a regex that accepts exactly the spellings that normalize the same
 *   (protocol/commandText.ts), in the same working directory (`metadata.cwd`) when the call gave one;
 * - one file: that path, as written or resolved;
 * - anything else: the tool's action and resource (and environment), with any arguments — said so in
 *   `summary`, since that is wider than the call asked about.
 * `overrides` lists the require_approval / warn guardrails that asked (what lets the rule do what it says).
 * `existingKeys`: keys already in the policy; the new key is made unique against them.
 */
export function alwaysAllowGuardrail(a: ApprovalView, existingKeys: readonly string[]): AlwaysAllowProposal {
  const tool = a.tool.name ?? a.action.name ?? "tool";
  const slug = tool.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "tool";
  let n = 1;
  while (existingKeys.includes(`always-allow-${slug}-${n}`)) n++;
  const key = `always-allow-${slug}-${n}`;
  const overrides = [...new Set(a.matched_guardrails.filter((g) => (g.decision === "require_approval" || g.decision === "warn") && (g.source === "template" || g.source === "custom")).map((g) => g.key))];
  const base: Record<string, unknown> = {};
  if (a.tool.name !== null) base["tool.name"] = a.tool.name;
  if (a.tool.provider !== null) base["tool.provider"] = a.tool.provider;
  const p = a.grant_pattern;
  const args = typeof a.arguments === "object" && a.arguments !== null && !Array.isArray(a.arguments) ? (a.arguments as Record<string, unknown>) : {};
  let match: CustomGuardrail["match"];
  let what: string;
  const pathKey = p?.kind === "path" && p.paths?.length === 1 ? PATH_KEYS.find((k) => typeof args[k] === "string") : undefined;
  if (p?.kind === "command" && p.command !== undefined && p.argument !== undefined && !p.command.includes("[REDACTED]")) {
    match = { ...base, arguments: { [p.argument]: { regex: commandRegex(p.command) } }, ...(p.cwd ? { metadata: { "$.cwd": p.cwd } } : {}) };
    what = `\`${flat(p.command)}\` (${tool})${p.cwd ? ` in ${p.cwd}` : ""}, however it is spaced`;
  } else if (pathKey !== undefined) {
    const written = args[pathKey] as string;
    const resolved = p!.paths![0]!;
    match = { ...base, arguments: { [`$.${pathKey}`]: written === resolved ? written : { in: [written, resolved] } } };
    what = `${tool} of ${resolved}`;
  } else {
    const wider: Record<string, unknown> = { ...base };
    if (a.action.name !== null) wider["action.name"] = a.action.name;
    if (a.resource.type !== null) wider["resource.type"] = a.resource.type;
    if (a.resource.environment !== null) wider["resource.environment"] = a.resource.environment;
    match = wider as CustomGuardrail["match"];
    what = `${tool}${a.resource.environment ? ` in ${a.resource.environment}` : ""} with ANY arguments (wider than this call: narrow \`match\` before saving)`;
  }
  const guardrail: CustomGuardrail = {
    key,
    name: `Always allow ${tool}`,
    decision: "allow",
    reason: `always allowed in the editor (proposed from approval ${a.id})`,
    match,
    ...(overrides.length > 0 ? { overrides } : {}),
  };
  const lifts = overrides.length > 0 ? `; it lifts the approval of ${overrides.join(", ")} for these calls (a block still blocks)` : "";
  return { guardrail, summary: `allows ${what}${lifts}` };
}

function flat(text: string): string {
  const one = text.replace(/[`\s]+/g, " ").trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}
