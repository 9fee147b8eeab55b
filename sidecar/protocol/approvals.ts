import { z } from "zod";
import type { MatchedGuardrail, RiskLevel } from "../guard/types";
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

/** POST /v1/approvals/{id}/approve | reject | cancel. Approve/reject need the admin key. */
export const ResolveApprovalBodySchema = z.object({
  reason: opt(z.string().max(2000)),
  resolved_by: opt(z.string().max(200)),
});

/** GET /v1/approvals?status=pending (admin). No status, or `all`: every approval. */
export const ListApprovalsQuerySchema = z.object({
  status: z
    .union([ApprovalStatusSchema, z.literal("all")])
    .optional()
    .transform((s) => (s === "all" ? undefined : s)),
});
