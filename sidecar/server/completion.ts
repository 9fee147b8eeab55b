import type { RunStatus, RunView, SessionView } from "../protocol/runs";
import { nowIso, type SidecarServices } from "./routing";

type FinalStatus = Exclude<RunStatus, "running">;

/**
 * Completing a run or a session, once: the journal's `run.completed` / `session.completed`, durable before
 * the caller answers. Shared by POST /v1/runs/{id}/complete, /v1/sessions/{id}/complete (routes/runs.ts) and
 * a coding agent's session end (hookSessions.ts). Completing twice keeps the first outcome — a retried
 * request must not rewrite history — and says so (false).
 */
export async function completeRun(s: SidecarServices, run: RunView, status: FinalStatus, outputSummary: string | null): Promise<boolean> {
  if (run.status !== "running") return false;
  await s.journal.record("run.completed", { id: run.id, status, output_summary: outputSummary, completed_at: nowIso() }).durable;
  return true;
}

export async function completeSession(s: SidecarServices, session: SessionView, status: FinalStatus, outputSummary: string | null): Promise<boolean> {
  if (session.status !== "running") return false;
  await s.journal.record("session.completed", { id: session.id, status, output_summary: outputSummary, completed_at: nowIso() }).durable;
  return true;
}
