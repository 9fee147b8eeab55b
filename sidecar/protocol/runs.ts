import { z } from "zod";
import { ident, opt, text } from "./wire";

/**
 * Sessions, runs and handoffs (apie-sh/python-sdk `runs.py`, `sessions.py`): snake_case bodies with `null`
 * for absent values. A session groups runs (one per agent step); a run groups the events of one task.
 */

const Metadata = opt(z.record(z.string(), z.unknown()));
const Summary = opt(z.string().max(10_000));

export const RunStatusSchema = z.enum(["running", "completed", "failed", "cancelled"]);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const SessionKindSchema = z.enum(["single_agent", "multi_agent", "pipeline", "activation_proof"]);

/** Fields every run creation carries (python-sdk `create_run` / `create_child_run`). */
const runFields = {
  agent_id: opt(ident()),
  agent_version_id: opt(ident()),
  environment: opt(ident()),
  input_summary: Summary,
  metadata: Metadata,
};

/** POST /v1/runs — an agent starting a task. */
export const CreateRunBodySchema = z.object({
  ...runFields,
  agent_key: ident().min(1),
  session_id: opt(ident()),
});
export type CreateRunBody = z.infer<typeof CreateRunBodySchema>;

/** POST /v1/sessions/{id}/runs — a step of a multi-agent session; `agent_key` may be omitted for the orchestrator. */
export const CreateChildRunBodySchema = z.object({
  ...runFields,
  agent_key: opt(ident().min(1)),
  parent_run_id: opt(ident()),
  trigger_event_id: opt(ident()),
  step_key: opt(ident()),
  step_name: opt(ident()),
  step_index: opt(z.int().nonnegative()),
  role: opt(ident()),
});
export type CreateChildRunBody = z.infer<typeof CreateChildRunBodySchema>;

/** POST /v1/runs/{id}/complete. */
export const CompleteRunBodySchema = z.object({
  status: opt(RunStatusSchema.exclude(["running"])),
  output_summary: Summary,
  metadata: Metadata,
});

/** POST /v1/sessions. */
export const CreateSessionBodySchema = z.object({
  kind: opt(SessionKindSchema),
  orchestrator_agent_key: opt(ident()),
  orchestrator_agent_id: opt(ident()),
  environment: opt(ident()),
  input_summary: Summary,
  metadata: Metadata,
});
export type CreateSessionBody = z.infer<typeof CreateSessionBodySchema>;

/** POST /v1/sessions/{id}/complete. */
export const CompleteSessionBodySchema = z.object({
  status: RunStatusSchema.exclude(["running"]),
  output_summary: Summary,
  metadata: Metadata,
});

/** POST /v1/sessions/{id}/handoffs — one agent passing work to another. */
export const HandoffBodySchema = z.object({
  source_run_id: opt(ident()),
  source_agent_id: opt(ident()),
  target_run_id: opt(ident()),
  target_agent_id: opt(ident()),
  trigger_event_id: opt(ident()),
  reason: opt(text()),
  input_summary: Summary,
  payload_summary: Metadata,
  status: opt(ident()),
});

/** What runs and sessions both have: an id, a lifecycle and the summaries around it. */
interface WorkSpan {
  id: string;
  status: RunStatus;
  environment: string | null;
  input_summary: string | null;
  output_summary: string | null;
  started_at: string;
  completed_at: string | null;
}

/** Response of run creation (python-sdk reads id, session_id, status, started_at). */
export interface RunView extends WorkSpan {
  session_id: string | null;
  agent_key: string;
  /** Our addition: how many timeline records the run holds. */
  event_count: number;
}

export interface SessionView extends WorkSpan {
  kind: string | null;
  run_ids: string[];
}
