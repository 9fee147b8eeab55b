import { HOOK_HOST_INFO } from "../../hooks/hosts";
import {
  HookMetadataSchema,
  HookOutcomeBodySchema,
  HookSessionEndBodySchema,
  type HookEvaluateResponse,
  type HookOutcomeResponse,
  type HookSessionEndResponse,
} from "../../protocol/hooks";
import { EvaluateBodySchema, toGuardRequest } from "../../protocol/v1";
import { HookSessions } from "../hookSessions";
import { logRedactor } from "../redaction";
import { reportedOutcomeEvent } from "../reportedOutcome";
import { nowIso, parseBody, type Route, type SidecarServices } from "../routing";
import { evaluate } from "./guardrails";

/**
 * Our routes for coding-agent hooks (`apie hook`; contract in protocol/hooks.ts): the hook's decision,
 * decided under the host session's run, the post-tool-use outcome linked to that decision, and the host's
 * session end.
 */
export function hookRoutes(s: SidecarServices): Route[] {
  const sessions = new HookSessions(s);
  return [
    {
      method: "POST",
      path: "/v1/hooks/evaluate",
      handle: async ({ body, holdApproval }): Promise<HookEvaluateResponse> => {
        const call = parseBody(EvaluateBodySchema, body);
        const { cwd, hook } = parseBody(HookMetadataSchema, call.metadata ?? undefined, "metadata");
        const run = await sessions.runFor(call.agent_key, hook, cwd);
        const hostAsks = s.engine.compiledPolicy.hooks.approvals === "host" && HOOK_HOST_INFO[hook.host].nativeAsk;
        const decided = { ...call, run_id: run.runId };
        const hookRef = { host: hook.host, session_id: hook.session_id ?? null, tool_use_id: hook.tool_use_id };
        const askedElsewhere = hostAsks ? "the host's own prompt asks instead (hooks.approvals: host)" : undefined;
        const answer = await evaluate(s, decided, holdApproval, undefined, { askedElsewhere, hook: hookRef });
        sessions.remember(call.agent_key, hook, cwd, answer.decision_id, toGuardRequest(decided));
        return { ...answer, hook: { session_id: run.sessionId, run_id: run.runId, ask: hostAsks && answer.enforcement_action === "wait_for_approval" } };
      },
    },
    {
      method: "POST",
      path: "/v1/hooks/session-end",
      handle: ({ body }): Promise<HookSessionEndResponse> => sessions.end(parseBody(HookSessionEndBodySchema, body)),
    },
    {
      method: "POST",
      path: "/v1/hooks/outcome",
      handle: async ({ body }): Promise<HookOutcomeResponse> => {
        const b = parseBody(HookOutcomeBodySchema, body);
        const { cwd, hook } = b.metadata;
        const known = sessions.take(b.agent_key, hook, cwd) ?? (await sessions.findInLog(b.agent_key, hook, cwd));
        const run = known === undefined ? await sessions.runFor(b.agent_key, hook, cwd) : undefined;
        const request = known?.request ?? { agentKey: b.agent_key, runId: run!.runId, tool: { name: b.tool.name, provider: b.tool.provider } };
        const outcome = b.status === "completed" ? { status: "completed" as const, at: nowIso() } : { status: "failed" as const, at: nowIso(), error: b.error ?? "the tool call failed" };
        const extra = { hook: { host: hook.host, session_id: hook.session_id ?? null, tool_use_id: hook.tool_use_id }, ...(known === undefined ? {} : { duration_ms: Date.now() - known.decidedAt }) };
        const event = reportedOutcomeEvent(request, known?.decisionId ?? null, outcome, extra);
        const logged = s.journal.record("event", { event: logRedactor.redactEvent(event) }, { lazy: true });
        if (logged.backlog !== undefined) await logged.backlog;
        return { decision_id: known?.decisionId ?? null };
      },
    },
  ];
}
