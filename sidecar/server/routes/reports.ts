import { randomBytes } from "node:crypto";
import {
  CreateAgentReportBodySchema,
  CreateReportBodySchema,
  DEFAULT_REPORT_WINDOW,
  MAX_KEPT_REPORTS,
  windowMs,
  type BoundaryReport,
  type CreateReportResponse,
  type GetReportResponse,
} from "../../protocol/reports";
import { generateBoundaryReport, type AgentInfo, type ReportWindow } from "../../store/boundaryReport";
import { HttpError, notFound, parseBody, type Route, type SidecarServices } from "../routing";
import { WorkGate } from "../workGate";

type ReportFields = ReturnType<typeof CreateAgentReportBodySchema.parse>;

/** Reports generated at once; each is cooperative (it yields every few ms), so more at once buys nothing. */
export const REPORTS_RUNNING = 1;
/** Report requests waiting for their turn; past that, 503 `busy` with Retry-After. */
export const REPORTS_QUEUED = 8;

/**
 * Boundary reports over HTTP. Generated on request from the log and the agents' current declarations; the
 * last MAX_KEPT_REPORTS are kept in memory for GET (a restart forgets them — generating again is possible).
 *
 * A report costs O(records in its window) on the event loop that also decides guards. Two things keep it from
 * delaying a guard decision (issue 11: 128 concurrent reports over 100 000 decisions once stalled the loop for
 * seconds, guard calls hit their deadline and fail_open let blocked commands run): generation is sliced
 * (generateBoundaryReport yields every few ms), and a WorkGate runs REPORTS_RUNNING at a time with
 * REPORTS_QUEUED waiting; one more gets 503 `busy` at once, with `retry_after_s` and a Retry-After header.
 *
 * Reports stay allowed for the agent key: the official Apie SDKs create boundary reports with the key they
 * are given (an agent reporting on itself is their documented use), and a report only reads. With slicing
 * and the gate, what an agent flooding this route can cost is other reports' latency (503s), not the guard's.
 */
export function reportRoutes(s: SidecarServices): Route[] {
  const kept = new Map<string, BoundaryReport>();
  const gate = new WorkGate({ what: "boundary reports", running: REPORTS_RUNNING, queued: REPORTS_QUEUED });

  /** Every agent the sidecar knows, with its declarations (runtime and apie.policy.json merged). */
  const knownAgents = (): AgentInfo[] => {
    const keys = new Set([...s.journal.state.agents.keys(), ...s.engine.compiledPolicy.capabilities.agentKeys()]);
    return [...keys].map((key) => {
      const agent = s.journal.state.agents.get(key);
      return { key, id: agent?.id || null, name: agent?.name ?? null, capabilities: s.engine.declaredCapabilities(key) };
    });
  };

  async function create(fields: ReportFields, agentKey: string | undefined, hangUp: () => AbortSignal): Promise<CreateReportResponse> {
    return gate.run(() => generate(fields, agentKey), hangUp());
  }

  async function generate(fields: ReportFields, agentKey: string | undefined): Promise<CreateReportResponse> {
    const agents = knownAgents();
    if (agentKey !== undefined && !agents.some((a) => a.key === agentKey)) {
      const names = agents.map((a) => a.key).sort();
      throw new HttpError(404, "unknown_agent", `no agent with key "${agentKey}" (known: ${names.length > 0 ? names.join(", ") : "none yet"})`, "agent_key");
    }
    const reportId = `rpt_${randomBytes(12).toString("base64url")}`;
    const report = await generateBoundaryReport(s.journal, {
      filter: { window: resolveWindow(fields, Date.now()), agentKey, environments: fields.filters?.environments },
      agents,
      meta: {
        reportId,
        title: fields.title,
        reportType: fields.report_type,
        generatedAt: new Date().toISOString(),
        agentVersionId: fields.filters?.agent_version_id,
        sections: fields.sections,
        notes: ["declared capabilities are the agents' current ones (runtime declarations and apie.policy.json)"],
      },
    });
    kept.set(reportId, report);
    for (const oldest of kept.keys()) {
      if (kept.size <= MAX_KEPT_REPORTS) break;
      kept.delete(oldest);
    }
    return { report_id: reportId, status: "generated", web_url: "", report };
  }

  return [
    {
      method: "POST",
      path: "/v1/boundary-reports",
      handle: ({ body, hangUp }) => {
        const fields = parseBody(CreateReportBodySchema, body ?? {});
        return create(fields, fields.agent_key, hangUp);
      },
    },
    {
      method: "POST",
      path: /^\/v1\/agents\/([^/]+)\/boundary-reports$/,
      handle: ({ body, params: [id], hangUp }) => {
        const key = id === undefined ? undefined : s.journal.state.agentKeys.get(id);
        if (key === undefined) throw notFound("agent", id);
        return create(parseBody(CreateAgentReportBodySchema, body ?? {}), key, hangUp);
      },
    },
    {
      method: "GET",
      path: /^\/v1\/boundary-reports\/([^/]+)$/,
      handle: ({ params: [id] }): GetReportResponse => {
        const report = id === undefined ? undefined : kept.get(id);
        if (report === undefined) {
          throw new HttpError(404, "unknown_report", `no report with id "${id ?? ""}" (the sidecar keeps the last ${MAX_KEPT_REPORTS}, in memory only)`);
        }
        return { report_id: report.report_id, status: "generated", report };
      },
    },
  ];
}

/** `time_window` wins over `window`; with neither, the last DEFAULT_REPORT_WINDOW. */
export function resolveWindow(fields: Pick<ReportFields, "window" | "time_window">, now: number): ReportWindow {
  const tw = fields.time_window;
  if (tw !== undefined && (tw.start !== undefined || tw.end !== undefined)) {
    const end = tw.end === undefined ? now : Date.parse(tw.end);
    const start = tw.start === undefined ? end - windowMs(fields.window ?? DEFAULT_REPORT_WINDOW) : Date.parse(tw.start);
    return { label: "custom", start, end };
  }
  const label = fields.window ?? DEFAULT_REPORT_WINDOW;
  return { label, start: now - windowMs(label), end: now };
}
