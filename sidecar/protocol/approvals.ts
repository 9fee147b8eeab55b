import { z } from "zod";
import type { MatchedGuardrail, RiskLevel } from "../guard/types";
import type { RecordDataByKind } from "./records";
import { opt } from "./wire";

/**
 * Approvals: created by the sidecar when an enforced decision is `require_approval`, bound to the SHA-256 of
 * the canonical (agent, run, tool, action, resource, risk level, arguments, metadata) — see actionHash in
 * store/canonical.ts — resolved exactly once. `timeout` is never a stored status: it is what a waiter reports
 * when its own wait ends first.
 *
 * Who may see an approval: its id (`apr_` + 96 random bits) is the capability. The agent that opened it learns
 * the id from its evaluate answer; GET /v1/approvals/{id}, /wait and /cancel answer anyone holding the key
 * and the id; on /v1/stream an agent-key connection is pushed only the approvals it opened or names by id
 * (see protocol/stream.ts). Listing approvals (GET /v1/approvals) and resolving them need the admin key.
 */

export const ApprovalStatusSchema = z.enum(["pending", "approved", "rejected", "expired", "cancelled"]);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;
export type FinalApprovalStatus = Exclude<ApprovalStatus, "pending">;
export type ApprovalWaitStatus = FinalApprovalStatus | "timeout";

/**
 * How far an approval reaches (issue 13): `once` — the one call it was asked for (the default); `session` —
 * also every later call of the same agent, in the same run (a hook's host session; an SDK's run), of the same
 * tool and the same normalized command or path (see {@link GrantPatternView}), until that run ends. A
 * session grant only ever turns a `require_approval` into an allow; a `block` still blocks. Only a human
 * (admin key, editor) chooses a scope; an agent's key can never resolve or widen an approval.
 */
export const ApprovalScopeSchema = z.enum(["once", "session"]);
export type ApprovalScope = z.infer<typeof ApprovalScopeSchema>;

/**
 * What "Approve for this session" would cover, computed by the sidecar when the approval opens
 * (server/grantPattern.ts): `command` — this shell command line, normalized (protocol/commandText.ts), in this
 * working directory; `path` — these files (resolved); `action` — exactly this action and these arguments.
 * The command and paths are redacted like the arguments.
 */
export interface GrantPatternView {
  kind: "command" | "path" | "action";
  /** SHA-256 hex of everything a session grant binds (agent and run included): the grant's identity. */
  key: string;
  /** `command`: the normalized command line, and the argument that held it (`$.command`). */
  command?: string;
  argument?: string;
  cwd?: string | null;
  /** `path`: the resolved paths. */
  paths?: string[];
}

export interface ApprovalView {
  id: string;
  status: ApprovalStatus;
  /**
   * SHA-256 hex of the canonical request (agent, run, tool, action, resource, risk level, arguments,
   * metadata); a grant only ever applies to a request with this same hash.
   */
  action_hash: string;
  agent_key: string;
  run_id: string | null;
  decision_id: string;
  tool: { name: string | null; provider: string | null };
  action: { type: string | null; name: string | null };
  resource: { type: string | null; environment: string | null; external_id: string | null };
  risk_level: RiskLevel | null;
  /** Redacted: secrets never leave the sidecar in an approval prompt. */
  arguments: unknown;
  reason: string;
  matched_guardrails: MatchedGuardrail[];
  created_at: string;
  expires_at: string;
  resolved_at: string | null;
  /** "admin-key", "editor", "expiry", "agent" (cancel). */
  resolved_by: string | null;
  resolution_reason: string | null;
  /** Set when approved: `once` or `session` (see ApprovalScope); null otherwise (and in logs before scopes). */
  scope: ApprovalScope | null;
  /** What a session grant of this approval covers; absent in approvals logged before scopes existed. */
  grant_pattern?: GrantPatternView;
}

/** GET /v1/approvals/{id} (python-sdk reads `approval.status`). */
export interface ApprovalResponse {
  approval: ApprovalView;
}

/** GET /v1/approvals/{id}/wait?timeout=MS. */
export interface ApprovalWaitResponse {
  status: ApprovalWaitStatus;
  approval: ApprovalView;
}

/** Query of the long-poll: at most 10 minutes per request; the client re-asks for longer waits. */
export const WaitQuerySchema = z.object({
  timeout: z.coerce.number().int().min(0).max(600_000).default(30_000),
});

/**
 * POST /v1/approvals/{id}/approve | reject | cancel. Approve/reject need the admin key. `scope` only with
 * approve (default `once`); `session` needs an approval made in a run that is still running.
 */
export const ResolveApprovalBodySchema = z.object({
  reason: opt(z.string().max(2000)),
  resolved_by: opt(z.string().max(200)),
  scope: opt(ApprovalScopeSchema),
});

/** GET /v1/approvals?status=pending (admin). No status, or `all`: every approval. */
export const ListApprovalsQuerySchema = z.object({
  status: z
    .union([ApprovalStatusSchema, z.literal("all")])
    .optional()
    .transform((s) => (s === "all" ? undefined : s)),
});

/**
 * An `approval.resolved` record applied to the approval it names: status, who, when, why, and the scope
 * (approved only: `once` when the record predates scopes). The one way every copy of an approval (the
 * sidecar's projection, the editor's model, the Runs view's calls) follows its resolution.
 */
export function applyResolution(approval: ApprovalView, resolved: RecordDataByKind["approval.resolved"]): void {
  approval.status = resolved.status;
  approval.resolved_at = resolved.resolved_at;
  approval.resolved_by = resolved.resolved_by;
  approval.resolution_reason = resolved.resolution_reason;
  approval.scope = resolved.status === "approved" ? (resolved.scope ?? "once") : null;
}
