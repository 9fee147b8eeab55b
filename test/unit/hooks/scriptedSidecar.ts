import type { HookEnvironment } from "../../../sidecar/hooks/adapter";
import type { HookSettings } from "../../../sidecar/hooks/hookSettings";
import { LinkDown, type GuardLink, type LinkReply } from "../../../sidecar/hooks/hookHttp";

/**
 * A sidecar scripted in-process for the adapter core's unit tests (no sockets): it answers the routes the
 * hook calls with the decision and approval outcome a test gives, and records every request. The clock is
 * the test's: each approval wait that times out moves it on by the wait's length, so a deadline is reached
 * without waiting.
 */

export interface Script {
  /** Guard decision fields (merged over an allow). */
  decision?: Record<string, unknown>;
  /** The decision of the redeeming call (approval_id set); default: proceed. */
  redeemed?: Record<string, unknown>;
  /** What the approval wait ends with; "timeout" forever by default. */
  approval?: "approved" | "rejected" | "expired" | "timeout";
  /** Answer every request with this instead (an error the sidecar returned). */
  reply?: LinkReply;
  /** No answer at all: the sidecar is down. */
  down?: boolean;
  /** Not found at all (no discovery file). */
  missing?: boolean;
  /** Runs while the evaluate request is in flight (e.g. the host's SIGTERM arriving then). */
  duringEvaluate?: () => void;
}

export interface Recorded {
  method: "GET" | "POST";
  path: string;
  body: unknown;
}

export const ALLOW = {
  decision_id: "dec_1",
  policy_decision: "allow",
  effective_decision: "allow",
  mode: "enforce",
  enforcement_action: "proceed",
  reason: "no guardrail matched",
  annotation: null,
  matched_guardrails: [],
  approval_request: null,
  hook: { session_id: "ses_hook_1", run_id: "run_hook_1", ask: false },
};

export function scriptedEnvironment(script: Script, settings: Partial<HookSettings> = {}): { env: HookEnvironment; requests: Recorded[]; logs: string[]; abort(): void } {
  const requests: Recorded[] = [];
  const logs: string[] = [];
  let clock = 1_000_000;
  const controller = new AbortController();
  const answer = async (method: "GET" | "POST", path: string, body: unknown, budgetMs: number, aliveMs?: number): Promise<LinkReply> => {
    requests.push({ method, path, body });
    // As httpLink: a stopped sidecar never shows it is alive, so the alive budget is what runs out.
    if (script.down) throw new LinkDown(`no answer within ${aliveMs ?? budgetMs} ms`);
    if (script.reply) return script.reply;
    if (path === "/v1/hooks/evaluate") {
      script.duringEvaluate?.();
      const redeem = (body as { approval_id?: string }).approval_id !== undefined;
      return { status: 200, json: { ...ALLOW, ...(redeem ? (script.redeemed ?? {}) : script.decision) } };
    }
    if (path === "/v1/hooks/outcome") return { status: 200, json: { decision_id: "dec_1" } };
    if (path === "/v1/hooks/session-end") return { status: 200, json: { session_id: "ses_hook_1", ended: true, run_ids: ["run_hook_1"] } };
    if (path.endsWith("/cancel")) return { status: 200, json: { approval: { status: "cancelled" } } };
    const wait = /^\/v1\/approvals\/([^/]+)\/wait\?timeout=(\d+)$/.exec(path);
    if (wait !== null) {
      const status = script.approval ?? "timeout";
      if (status === "timeout") clock += Number(wait[2]);
      const reason = status === "rejected" ? "not on a Friday" : status === "expired" ? "nobody answered in time" : null;
      return { status: 200, json: { status, approval: { id: wait[1], status, resolution_reason: reason, resolved_by: status === "rejected" ? "editor" : null } } };
    }
    return { status: 404, json: { error: { code: "not_found", message: `no route ${method} ${path}` } } };
  };
  // As httpLink: a request whose signal is aborted by the time its answer comes is cut off.
  const cutOff = async (signal: AbortSignal | undefined, reply: Promise<LinkReply>): Promise<LinkReply> => {
    const value = await reply;
    if (signal?.aborted) throw new LinkDown("cancelled", true);
    return value;
  };
  const link: GuardLink = {
    post: (path, body, budgetMs, signal, aliveMs) => cutOff(signal, answer("POST", path, body, budgetMs, aliveMs)),
    get: (path, budgetMs, signal) => cutOff(signal, answer("GET", path, undefined, budgetMs)),
  };
  const env: HookEnvironment = {
    processCwd: "/home/u/src/app",
    connect: () => (script.missing ? { ok: false, why: "no sidecar: APIE_BASE_URL is not set and no .apie/sidecar.json at or above /home/u/src/app" } : { ok: true, link }),
    settings: () => ({ failureMode: "fail_open", approvals: "editor", source: "test", ...settings }),
    now: () => clock,
    signal: controller.signal,
    log: (line) => void logs.push(line),
  };
  return { env, requests, logs, abort: () => controller.abort() };
}
