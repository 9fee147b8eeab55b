import { randomBytes } from "node:crypto";
import {
  CompleteRunBodySchema,
  CompleteSessionBodySchema,
  CreateChildRunBodySchema,
  CreateRunBodySchema,
  CreateSessionBodySchema,
  HandoffBodySchema,
  type RunView,
  type SessionView,
} from "../../protocol/runs";
import { completeRun, completeSession } from "../completion";
import { HttpError, notFound, nowIso, parseBody, type Route, type SidecarServices } from "../routing";

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString("base64url")}`;

/** Sessions, runs and handoffs: the skeleton of the timeline. Each is acknowledged once durable. */
export function runRoutes(s: SidecarServices): Route[] {
  const state = s.journal.state;
  const session = (id: string | undefined): SessionView => {
    const found = id === undefined ? undefined : state.sessions.get(id);
    if (found === undefined) throw notFound("session", id);
    return found;
  };

  async function startRun(fields: {
    agentKey: string;
    sessionId: string | null;
    environment: string | undefined;
    inputSummary: string | undefined;
    parentRunId?: string | undefined;
    stepKey?: string | undefined;
    stepName?: string | undefined;
    role?: string | undefined;
  }): Promise<RunView> {
    const run: RunView = {
      id: newId("run"),
      session_id: fields.sessionId,
      agent_key: fields.agentKey,
      status: "running",
      environment: fields.environment ?? null,
      input_summary: fields.inputSummary ?? null,
      output_summary: null,
      started_at: nowIso(),
      completed_at: null,
      event_count: 0,
    };
    await s.journal.record("run.started", {
      run,
      parent_run_id: fields.parentRunId ?? null,
      step_key: fields.stepKey ?? null,
      step_name: fields.stepName ?? null,
      role: fields.role ?? null,
    }).durable;
    return { ...state.runs.get(run.id)!.view };
  }

  return [
    {
      method: "POST",
      path: "/v1/runs",
      handle: ({ body }) => {
        const b = parseBody(CreateRunBodySchema, body);
        if (b.session_id !== undefined) session(b.session_id);
        return startRun({ agentKey: b.agent_key, sessionId: b.session_id ?? null, environment: b.environment, inputSummary: b.input_summary });
      },
    },
    {
      method: "GET",
      path: /^\/v1\/runs\/([^/]+)$/,
      handle: ({ params: [id] }) => {
        const run = id === undefined ? undefined : state.runs.get(id);
        if (run === undefined) throw notFound("run", id);
        return { ...run.view };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/runs\/([^/]+)\/complete$/,
      handle: async ({ body, params: [id] }) => {
        const b = parseBody(CompleteRunBodySchema, body);
        const run = id === undefined ? undefined : state.runs.get(id);
        if (run === undefined) throw notFound("run", id);
        await completeRun(s, run.view, b.status ?? "completed", b.output_summary ?? null);
        return { ...run.view };
      },
    },
    {
      method: "POST",
      path: "/v1/sessions",
      handle: async ({ body }) => {
        const b = parseBody(CreateSessionBodySchema, body);
        const view: SessionView = {
          id: newId("ses"),
          kind: b.kind ?? null,
          status: "running",
          environment: b.environment ?? null,
          input_summary: b.input_summary ?? null,
          output_summary: null,
          started_at: nowIso(),
          completed_at: null,
          run_ids: [],
        };
        await s.journal.record("session.started", { session: view, orchestrator_agent_key: b.orchestrator_agent_key ?? null }).durable;
        return { ...view };
      },
    },
    {
      // Our addition (as GET /v1/runs/{id}): a session's status, e.g. a coding agent's ended by its host.
      method: "GET",
      path: /^\/v1\/sessions\/([^/]+)$/,
      handle: ({ params: [id] }) => ({ ...session(id), run_ids: [...session(id).run_ids] }),
    },
    {
      method: "POST",
      path: /^\/v1\/sessions\/([^/]+)\/complete$/,
      handle: async ({ body, params: [id] }) => {
        const b = parseBody(CompleteSessionBodySchema, body);
        const found = session(id);
        await completeSession(s, found, b.status, b.output_summary ?? null);
        return { ...found };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/sessions\/([^/]+)\/runs$/,
      handle: async ({ body, params: [id] }) => {
        const b = parseBody(CreateChildRunBodySchema, body);
        const found = session(id);
        const agentKey = b.agent_key ?? (b.agent_id !== undefined ? state.agentKeys.get(b.agent_id) : undefined);
        if (agentKey === undefined) throw new HttpError(400, "invalid_request", "agent_key: required (or a known agent_id)", "agent_key");
        return startRun({
          agentKey,
          sessionId: found.id,
          environment: b.environment ?? found.environment ?? undefined,
          inputSummary: b.input_summary,
          parentRunId: b.parent_run_id,
          stepKey: b.step_key,
          stepName: b.step_name,
          role: b.role,
        });
      },
    },
    {
      method: "POST",
      path: /^\/v1\/sessions\/([^/]+)\/handoffs$/,
      handle: async ({ body, params: [id] }) => {
        const b = parseBody(HandoffBodySchema, body);
        const found = session(id);
        const handoff = { id: newId("hof"), session_id: found.id, source_run_id: b.source_run_id ?? null, target_run_id: b.target_run_id ?? null, reason: b.reason ?? null };
        await s.journal.record("handoff", handoff).durable;
        return { id: handoff.id, status: b.status ?? "recorded" };
      },
    },
  ];
}
