import { z } from "zod";
import type { Decision, DriftCode } from "../guard/types";
import type { ApprovalStatus } from "./approvals";
import { opt } from "./wire";

/**
 * Boundary reports: an agent's declared capabilities (its contract) against what it was seen doing in a time
 * window — tools called, decisions by kind, undeclared tools (drift), declared tools never used.
 *
 * - `POST /v1/agents/{agent_id}/boundary-reports` — python-sdk `reports.py` (`create_boundary_report`): every
 *   field may be `null`. Answer: {@link CreateReportResponse}.
 * - `POST /v1/boundary-reports` — our addition, what `apie report create` sends: all agents, or one by key.
 * - `GET /v1/boundary-reports/{id}` — {@link GetReportResponse}; the sidecar keeps the last
 *   {@link MAX_KEPT_REPORTS} reports in memory (they are cheap to generate again).
 */

export const MAX_KEPT_REPORTS = 50;
export const DEFAULT_REPORT_WINDOW = "7d";
/** Longest window a report may cover, in days. */
export const MAX_WINDOW_DAYS = 366;

/** "24h", "7d", "30d" (what Apie offers), or any N hours / N days up to a year. */
export const ReportWindowSchema = z
  .string()
  .regex(/^[1-9]\d{0,4}[hd]$/, { message: 'expected a window like "24h", "7d" or "30d"' })
  .refine((w) => windowMs(w) <= MAX_WINDOW_DAYS * 86_400_000, { message: `a window covers at most ${MAX_WINDOW_DAYS} days` });

/** The window's length in milliseconds ("24h" → 86 400 000). */
export function windowMs(window: string): number {
  const n = Number(window.slice(0, -1));
  return window.endsWith("h") ? n * 3_600_000 : n * 86_400_000;
}

const Instant = z.iso.datetime({ offset: true });

/** An explicit window; wins over `window`. A missing end is "now"; a missing start is end minus the default window. */
export const TimeWindowSchema = z
  .object({ start: opt(Instant), end: opt(Instant) })
  .refine((t) => t.start === undefined || t.end === undefined || Date.parse(t.start) <= Date.parse(t.end), {
    message: "start is after end",
    path: ["start"],
  });

export const REPORT_TYPES = ["agent_boundary_report", "release_readiness_report", "incident_report", "customer_evidence_pack"] as const;

const ReportFields = {
  title: opt(z.string().max(200)),
  report_type: opt(z.enum(REPORT_TYPES)),
  window: opt(ReportWindowSchema),
  time_window: opt(TimeWindowSchema),
  filters: opt(
    z.object({
      /** Only decisions on resources in these environments. */
      environments: opt(z.array(z.string().min(1)).max(50)),
      /** Accepted for the official SDK; the sidecar has one version per agent (`{agent_id}_v1`). */
      agent_version_id: opt(z.string()),
    }),
  ),
  /** Accepted and echoed; every report has every section. */
  sections: opt(z.array(z.string()).max(50)),
};

/** POST /v1/agents/{agent_id}/boundary-reports (python-sdk shape). */
export const CreateAgentReportBodySchema = z.object(ReportFields);
export type CreateAgentReportBody = z.input<typeof CreateAgentReportBodySchema>;

/** POST /v1/boundary-reports: every agent, or the one named by `agent_key`. An empty body means the defaults. */
export const CreateReportBodySchema = z.object({ ...ReportFields, agent_key: opt(z.string().min(1)) });
export type CreateReportBody = z.input<typeof CreateReportBodySchema>;

export type ReportStatus = "generated";

/** Answer to both POSTs. `report` is our addition (the python SDK reads the first three fields). */
export interface CreateReportResponse {
  report_id: string;
  status: ReportStatus;
  /** No web app behind a local sidecar. */
  web_url: "";
  report: BoundaryReport;
}

/** GET /v1/boundary-reports/{id}. */
export interface GetReportResponse {
  report_id: string;
  status: ReportStatus;
  report: BoundaryReport;
}

export type DecisionCounts = Record<Decision, number>;

export interface ReportCounts {
  /**
   * Tool calls: per tool the larger of guarded and reported calls, since an SDK that guards a call usually
   * reports it as an event too, and one that does not guard only reports it.
   */
  calls: number;
  /** Guarded calls: one guard decision each. */
  guarded_calls: number;
  /** Tool calls reported as timeline events (`agent.tool.called`), guarded or not. */
  reported_calls: number;
  /** Effective decisions (what happened, after the mode). */
  decisions: DecisionCounts;
  /** Monitor mode let these through; enforce would have blocked them. */
  would_block: number;
  would_require_approval: number;
  /** Effective blocks. */
  blocked: number;
  /** Decisions that opened an approval. */
  approvals_requested: number;
}

/** One tool an agent used in the window. */
export interface ObservedToolReport extends ReportCounts {
  name: string;
  provider: string | null;
  /** Covered by a declared capability (name or glob); null when the agent has no contract at all. */
  declared: boolean | null;
  environments: string[];
  /** Distinct drift warnings the guard raised on its calls (undeclared action, environment, …). */
  drift: DriftCode[];
  first_seen: string;
  last_seen: string;
}

/** One declared capability and whether anything in the window used it. */
export interface DeclaredToolReport {
  tool: string;
  provider: string | null;
  actions: string[];
  resources: string[];
  environments: string[] | null;
  risk_level: string | null;
  /** Guarded plus reported calls of tools this capability covers. */
  calls: number;
  used: boolean;
}

export interface AgentBoundaryReport {
  agent_key: string;
  agent_id: string | null;
  name: string | null;
  /** Whether the agent declared capabilities (runtime or apie.policy.json). Without a contract there is no drift. */
  has_contract: boolean;
  declared: DeclaredToolReport[];
  observed: ObservedToolReport[];
  /** Drift: tools used that no declared capability covers. */
  undeclared_tools: string[];
  /** Declared tools (capability names, globs as written) that nothing in the window used. */
  unused_declared_tools: string[];
  totals: ReportCounts;
  /** Approvals opened in the window for this agent, by their current status. */
  approvals: Record<ApprovalStatus, number>;
}

export interface BoundaryReport {
  report_id: string;
  title: string;
  report_type: (typeof REPORT_TYPES)[number];
  generated_at: string;
  window: { label: string; start: string; end: string };
  filters: { agent_key: string | null; environments: string[] | null; agent_version_id: string | null };
  sections: string[] | null;
  /** What a reader should know about how the report was made (e.g. records that could not be read back). */
  notes: string[];
  totals: ReportCounts & {
    agents: number;
    /** Distinct (agent, tool) pairs outside the agents' contracts. */
    undeclared_tools: number;
    unused_declared_tools: number;
    approvals: Record<ApprovalStatus, number>;
  };
  agents: AgentBoundaryReport[];
}
