import type { Mode, PolicyState } from "../../sidecar/guard/types";
import { applyResolution, type ApprovalView } from "../../sidecar/protocol/approvals";
import type { AgentBoundary, Snapshot } from "../../sidecar/protocol/lsp";
import type { RecordDataByKind, RecordKind } from "../../sidecar/protocol/records";
import type { RunView, SessionView } from "../../sidecar/protocol/runs";
import type { StreamRecord } from "../../sidecar/protocol/stream";

/**
 * When a record's fact happened: an SDK event carries its own time, and a decision an MCP proxy made itself
 * the time it made it (both are logged a little later, in a batch); everything else happened when the
 * sidecar logged it. Milliseconds, comparable across formats.
 */
export function happenedAt(record: StreamRecord): number {
  const own =
    record.kind === "event"
      ? (record.data as RecordDataByKind["event"]).event.timestamp
      : record.kind === "decision"
        ? (record.data as RecordDataByKind["decision"]).reported?.decided_at
        : undefined;
  const t = own === undefined || own === null ? Number.NaN : Date.parse(String(own));
  return Number.isNaN(t) ? Date.parse(record.ts) : t;
}

/** What one applied record changed, so views refresh only those nodes. */
export interface TimelineChange {
  sessions: Set<string>;
  runs: Set<string>;
  /** A run or session appeared at the top level (the root list changed). */
  roots: boolean;
  approvals: boolean;
  /** Approvals that just opened: the notifier raises one notification each. */
  opened: ApprovalView[];
  /** Approvals that just stopped pending (answered anywhere, expired, cancelled). */
  closed: ApprovalView[];
  status: boolean;
}

export const emptyChange = (): TimelineChange => ({ sessions: new Set(), runs: new Set(), roots: false, approvals: false, opened: [], closed: [], status: false });

const MAX_RESOLVED_APPROVALS = 50;

/**
 * The editor's copy of the sidecar's state: filled from `apie/snapshot`, kept current by `apie/records`.
 * Pure (no vscode), so every view model is unit-tested without an editor. A run's records are loaded on
 * demand (`setRunRecords`, from `apie/getRun`) and then followed live; runs never expanded keep no records.
 */
export class TimelineModel {
  readonly sessions = new Map<string, SessionView>();
  readonly runs = new Map<string, RunView>();
  readonly approvals = new Map<string, ApprovalView>();
  agents: AgentBoundary[] = [];
  mode: Mode = "monitor";
  policy: { state: PolicyState; message: string | null } = { state: "none", message: null };
  lastSeq = 0;
  private readonly loadedRecords = new Map<string, StreamRecord[]>();
  /** The agent that orchestrates a session, when its `session.started` said (the snapshot does not). */
  private readonly sessionAgents = new Map<string, string>();

  applySnapshot(snapshot: Snapshot): TimelineChange {
    this.sessions.clear();
    this.runs.clear();
    this.approvals.clear();
    this.loadedRecords.clear();
    this.sessionAgents.clear();
    for (const s of snapshot.sessions) this.sessions.set(s.id, { ...s, run_ids: [...s.run_ids] });
    for (const r of snapshot.runs) this.runs.set(r.id, { ...r });
    for (const a of snapshot.approvals) this.approvals.set(a.id, { ...a });
    this.agents = snapshot.agents;
    this.mode = snapshot.mode;
    this.policy = snapshot.policy;
    this.lastSeq = snapshot.lastSeq;
    return { ...emptyChange(), roots: true, approvals: true, status: true, opened: this.pending() };
  }

  pending(): ApprovalView[] {
    return [...this.approvals.values()].filter((a) => a.status === "pending").sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Runs of a session, or the runs outside any session, oldest first. */
  runsOf(sessionId: string | null): RunView[] {
    return [...this.runs.values()].filter((r) => r.session_id === sessionId).sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  sessionAgent(sessionId: string): string | undefined {
    return this.sessionAgents.get(sessionId);
  }

  recordsOf(runId: string): StreamRecord[] | undefined {
    return this.loadedRecords.get(runId);
  }

  /** A run's records as they happened (see `happenedAt`), whatever order they reached the log in. */
  setRunRecords(runId: string, records: StreamRecord[]): void {
    this.loadedRecords.set(runId, [...records].sort((a, b) => happenedAt(a) - happenedAt(b)));
  }

  setStatus(mode: Mode, policy: { state: PolicyState; message: string | null }): TimelineChange {
    this.mode = mode;
    this.policy = policy;
    return { ...emptyChange(), status: true };
  }

  /** Applies one live record; records at or below the snapshot's position are already in it. */
  applyRecord(record: StreamRecord): TimelineChange {
    const change = emptyChange();
    this.applyInto(record, change);
    return change;
  }

  /**
   * Applies one `apie/records` batch as one change, so the views update once per batch. An approval that
   * opened and ended within the batch is not reported as opened (no notification just to close it).
   */
  applyRecords(records: readonly StreamRecord[]): TimelineChange {
    const change = emptyChange();
    for (const record of records) this.applyInto(record, change);
    if (change.closed.length > 0) change.opened = change.opened.filter((a) => this.approvals.get(a.id)?.status === "pending");
    return change;
  }

  private applyInto(record: StreamRecord, change: TimelineChange): void {
    if (record.seq <= this.lastSeq) return;
    this.lastSeq = record.seq;
    const apply = this.handlers[record.kind as RecordKind] as ((data: unknown, record: StreamRecord, change: TimelineChange) => void) | undefined;
    apply?.(record.data, record, change);
  }

  private appendToRun(runId: string | null | undefined, agentKey: string, record: StreamRecord, change: TimelineChange): void {
    if (!runId) return;
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = { id: runId, session_id: null, agent_key: agentKey, status: "running", environment: null, input_summary: null, output_summary: null, started_at: record.ts, completed_at: null, event_count: 0 };
      this.runs.set(runId, run);
      change.roots = true;
    }
    run.event_count++;
    const loaded = this.loadedRecords.get(runId);
    if (loaded !== undefined) {
      // SDKs send their events in batches: an outcome can reach the log after the next call's decision.
      let at = loaded.length;
      while (at > 0 && happenedAt(loaded[at - 1]!) > happenedAt(record)) at--;
      loaded.splice(at, 0, record);
    }
    change.runs.add(runId);
  }

  private readonly handlers: { [K in RecordKind]?: (data: RecordDataByKind[K], record: StreamRecord, change: TimelineChange) => void } = {
    "session.started": (d, _r, change) => {
      this.sessions.set(d.session.id, { ...d.session, run_ids: [...d.session.run_ids] });
      if (d.orchestrator_agent_key) this.sessionAgents.set(d.session.id, d.orchestrator_agent_key);
      change.roots = true;
    },
    "session.completed": (d, _r, change) => {
      const s = this.sessions.get(d.id);
      if (s === undefined) return;
      Object.assign(s, { status: d.status, output_summary: d.output_summary, completed_at: d.completed_at });
      change.sessions.add(d.id);
    },
    "run.started": (d, record, change) => {
      this.runs.set(d.run.id, { ...d.run, event_count: 0 });
      const session = d.run.session_id ? this.sessions.get(d.run.session_id) : undefined;
      if (session) {
        session.run_ids.push(d.run.id);
        change.sessions.add(session.id);
      } else change.roots = true;
      this.appendToRun(d.run.id, d.run.agent_key, record, change);
    },
    "run.completed": (d, record, change) => {
      const run = this.runs.get(d.id);
      if (run === undefined) return;
      Object.assign(run, { status: d.status, output_summary: d.output_summary, completed_at: d.completed_at });
      this.appendToRun(d.id, run.agent_key, record, change);
    },
    "event": (d, record, change) => this.appendToRun(d.event.run_id, d.event.agent_key, record, change),
    "decision": (d, record, change) => this.appendToRun(d.request.run_id, d.request.agent_key, record, change),
    "approval.requested": (d, record, change) => {
      this.approvals.set(d.approval.id, { ...d.approval });
      change.approvals = true;
      change.opened.push(d.approval);
      this.appendToRun(d.approval.run_id, d.approval.agent_key, record, change);
    },
    "approval.resolved": (d, record, change) => {
      const approval = this.approvals.get(d.id);
      if (approval === undefined || approval.status !== "pending") return;
      applyResolution(approval, d);
      change.approvals = true;
      change.closed.push(approval);
      this.trimResolved();
      this.appendToRun(approval.run_id, approval.agent_key, record, change);
    },
    "mode.changed": (d, _r, change) => {
      this.mode = d.mode;
      change.status = true;
    },
  };

  private trimResolved(): void {
    const resolved = [...this.approvals.values()].filter((a) => a.status !== "pending").sort((a, b) => (b.resolved_at ?? "").localeCompare(a.resolved_at ?? ""));
    for (const old of resolved.slice(MAX_RESOLVED_APPROVALS)) this.approvals.delete(old.id);
  }
}
