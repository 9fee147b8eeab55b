import { z } from "zod";
import { HOOK_HOSTS } from "../hooks/hosts";
import type { EvaluateResponse } from "./v1";
import { ident, opt } from "./wire";

/**
 * Our additions to the v1 API for coding-agent hooks (`apie hook`, issue 12; sidecar/hooks/). Not part of
 * Apie's documented API: official SDKs never call them. Both take the agent key.
 *
 * POST /v1/hooks/evaluate — an evaluate body (EvaluateBodySchema) whose `metadata` says which host session
 * the call belongs to ({@link HookMetadataSchema}). The sidecar maps the host's session to one Apie session
 * with one run per agent key (created on the first call, once, however many hook processes race), decides
 * the call under that run (its `run_id` is the sidecar's, whatever the body says), and answers the decision
 * plus {@link HookEvaluateResponse}`.hook`. With `hooks.approvals: "host"` in the policy and a host that has
 * its own prompt, a require_approval opens no approval here and `hook.ask` is true: the host asks.
 *
 * POST /v1/hooks/outcome — the post-tool-use hook: what became of a call ({@link HookOutcomeBodySchema}),
 * journaled as its `agent.action.completed` / `agent.action.failed` timeline event, linked to the decision
 * by `metadata.decision_id` (found by the host's tool-use id) with `metadata.duration_ms` since the decision.
 *
 * POST /v1/hooks/session-end — the host's session ended ({@link HookSessionEndBodySchema}): every running
 * run of its Apie session is completed, then the session (`run.completed` / `session.completed`, as
 * POST /v1/runs/{id}/complete and /v1/sessions/{id}/complete journal them), `output_summary` naming the
 * host's reason. Idempotent; a session the sidecar never saw is left alone (200, `ended: false`): nothing is
 * created just to be closed. A later call in the same host session (Claude Code `--resume`) starts the session
 * again and opens a NEW run in it (hookSessions.ts): the ended run keeps its outcome.
 */

export const HookRefSchema = z
  .object({
    host: z.enum(HOOK_HOSTS),
    /** The host's session id; null when it sent none (the session is then the cwd's). */
    session_id: opt(z.string().min(1).max(500)),
    /** The host's id of the call (Copilot CLI / Gemini CLI: derived by the hook from session, tool and input). */
    tool_use_id: z.string().min(1).max(500),
    /** The host's transcript: its first user message names the session in the Runs view. */
    transcript_path: opt(z.string().min(1).max(4096)),
  })
  .loose();
export type HookRefBody = z.infer<typeof HookRefSchema>;

export const HookMetadataSchema = z.object({ cwd: z.string().min(1).max(4096), hook: HookRefSchema }).loose();

export const HookOutcomeBodySchema = z.object({
  agent_key: ident().min(1),
  tool: z.object({ name: ident().min(1), provider: opt(ident()) }),
  metadata: HookMetadataSchema,
  status: z.enum(["completed", "failed"]),
  error: opt(z.string().max(2_000)),
});
export type HookOutcomeBody = z.infer<typeof HookOutcomeBodySchema>;

export type HookEvaluateResponse = EvaluateResponse & {
  hook: {
    session_id: string;
    run_id: string;
    /** The host's own prompt decides this require_approval (hooks.approvals: "host"); no approval was opened. */
    ask: boolean;
  };
};

export interface HookOutcomeResponse {
  /** The decision the outcome was linked to; null when none is known (the pre hook did not ask, or a restart). */
  decision_id: string | null;
}

export const HookSessionEndBodySchema = z.object({
  host: z.enum(HOOK_HOSTS),
  /** The host's session id; null when it sent none (the cwd's session is ended, as calls without one use it). */
  session_id: opt(z.string().min(1).max(500)),
  cwd: z.string().min(1).max(4096),
  /** The host's reason for ending (Claude Code `clear`, `logout`, `prompt_input_exit`, `other`; Cursor `completed`, `error`…). */
  reason: opt(z.string().max(200)),
});
export type HookSessionEndBody = z.infer<typeof HookSessionEndBodySchema>;

export interface HookSessionEndResponse {
  /** The Apie session of the host session; null when the sidecar never saw it (then nothing was done). */
  session_id: string | null;
  /** Whether this request completed it (false: unknown, or already completed). */
  ended: boolean;
  /** The runs this request completed. */
  run_ids: string[];
}
