import type { RecordDataByKind } from "../../sidecar/protocol/records";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { applyResolution, type ApprovalView } from "../../sidecar/protocol/approvals";
import type { WireEvent } from "../../sidecar/protocol/events";
import { happenedAt } from "./timeline";

/**
 * A run's records folded into the tool calls they report, for the Runs view: one row per call, never one per
 * record. Pure (no vscode) and deterministic: the same records in the same order give the same calls.
 *
 * What belongs to one call, and how the records say so:
 * - the sidecar's `decision` (its `decision_id`); the `approval.requested` it opened names that id
 *   (`approval.decision_id`), and `approval.resolved` names the approval;
 * - the decision that spent the approved grant (the SDK and the hooks evaluate again with `approval_id`): its
 *   record names the approval (`spent_approval`); logs written before that field only say it in the reason,
 *   `approved (<approval id>): …` (routes/guardrails.ts), which is read as a fallback;
 * - the outcome, `agent.action.completed` / `agent.action.failed`, from the SDK (`withTool`), the MCP proxy
 *   (OutcomeLog, or the sidecar for a replica's report) and the hooks' post-tool-use (POST /v1/hooks/outcome):
 *   `metadata.decision_id` names the decision it ran under; a hook's outcome without one names the host's call
 *   (`metadata.hook.tool_use_id`, as the decision's `hook`);
 * - a call decided without the sidecar (guard unavailable, `guard: false`, a proxy's local fail-open) is
 *   reported in full by the agent: `agent.tool.called`, `agent.action.requested`, `agent.guardrail.evaluated`,
 *   then its outcome, none naming a decision the sidecar made: they go to the latest such call of the same
 *   tool still open; `agent.error` right after a failed outcome repeats its error and joins it.
 * Everything else (other SDK events, handoffs) is a note; run.started / run.completed are the run's own row.
 */

export interface DecisionStep {
  record: StreamRecord;
  data: RecordDataByKind["decision"];
}

/** A decision the agent's SDK made itself and reported (`agent.guardrail.evaluated`'s `decision`). */
export interface LocalDecision {
  record: StreamRecord;
  effectiveDecision: string | null;
  annotation: string | null;
  reason: string | null;
  matchedGuardrails: { key: string; decision: string }[];
  guardUnavailable: boolean;
}

export interface ApprovalTrail {
  /** As opened (approval.requested); the resolution is applied from `resolved`. */
  approval: ApprovalView;
  requested: StreamRecord | undefined;
  resolved: { record: StreamRecord; data: RecordDataByKind["approval.resolved"] } | undefined;
}

export interface CallOutcome {
  record: StreamRecord;
  status: "completed" | "failed";
  error: string | null;
  /** The hook's own measure (pre to post), when it sent one. */
  durationMs: number | null;
}

/** The request as the records describe it (the decision's, else the approval's, else the agent's events). */
export interface CallRequest {
  agentKey: string;
  tool: { name: string | null; provider: string | null };
  action: { type: string | null; name: string | null };
  resource: { type: string | null; environment: string | null; external_id: string | null };
  /** Redacted by the sidecar (or the SDK) before it was logged; null when no record carried arguments. */
  arguments: unknown;
}

export interface ToolCall {
  /** Stable within a run: the seq of the call's first record. */
  id: string;
  runId: string;
  request: CallRequest;
  /** The sidecar's decisions, in order: the first, then the one that spent an approved grant. */
  decisions: DecisionStep[];
  local: LocalDecision | undefined;
  approval: ApprovalTrail | undefined;
  outcome: CallOutcome | undefined;
  /** Every record of the call, as they happened. */
  records: StreamRecord[];
  /** What the agent reported it got for a call that did not run (the ApieError of a refusal), or its failure again. */
  agentError?: string;
  /** A coding agent's call: the host's ids. */
  hook: { host: string; session_id: string | null; tool_use_id: string } | undefined;
}

export interface RunNote {
  record: StreamRecord;
}

export type RunEntry = { type: "call"; call: ToolCall } | { type: "note"; note: RunNote };

const OUTCOME_TYPES = new Set(["agent.action.completed", "agent.action.failed"]);
const LOCAL_TYPES = new Set(["agent.tool.called", "agent.action.requested", "agent.guardrail.evaluated"]);
/** The sidecar's reason for a decision that spent a grant (routes/guardrails.ts). */
const GRANT_SPENT = /^approved \((apr_[A-Za-z0-9_-]+)\)/;

/** Folds a run's records (as they happened: TimelineModel.recordsOf) into calls and notes, in order. */
export function foldRun(runId: string, records: readonly StreamRecord[]): RunEntry[] {
  const folder = new Folder(runId);
  for (const record of records) folder.add(record);
  return folder.entries();
}

/**
 * The folds of the runs on screen, kept between refreshes: a run's records only grow, almost always at the
 * end (TimelineModel.appendToRun), so a refresh folds only the records that came since, and its calls are the
 * same objects as before, changed in place. A record inserted before the folded ones (an SDK batch that
 * arrived late), or a reload of the run, folds it again from the start.
 */
export class RunFolds {
  /**
   * Keyed by the run's records array (TimelineModel keeps one per loaded run): a run loaded again, or a new
   * snapshot, brings a new array, and the old fold goes with the old array.
   */
  private readonly folds = new WeakMap<readonly StreamRecord[], { done: number; folder: Folder }>();

  entries(runId: string, records: readonly StreamRecord[]): RunEntry[] {
    let fold = this.folds.get(records);
    const intact = fold !== undefined && fold.done <= records.length && (fold.done === 0 || records[fold.done - 1] === fold.folder.lastRecord);
    if (fold === undefined || !intact) {
      fold = { done: 0, folder: new Folder(runId) };
      this.folds.set(records, fold);
    }
    for (; fold.done < records.length; fold.done++) fold.folder.add(records[fold.done]!);
    return fold.folder.entries();
  }
}

class Folder {
  private readonly folded: RunEntry[] = [];
  /** The last record added: RunFolds checks it is still where it was. */
  lastRecord: StreamRecord | undefined;
  private readonly byDecision = new Map<string, ToolCall>();
  private readonly byApproval = new Map<string, ToolCall>();
  private readonly byHookCall = new Map<string, ToolCall>();
  /**
   * Outcomes naming a decision not seen yet (logged before it), each with the row it shows meanwhile (built
   * once, so a refresh finds the same call): joined to the decision's call when that comes.
   */
  private readonly early = new Map<string, { record: StreamRecord; call: ToolCall }>();
  /** Calls reported by the agent itself, still waiting for their outcome. */
  private readonly openLocal: ToolCall[] = [];
  private lastEntry: RunEntry | undefined;

  constructor(private readonly runId: string) {}

  /** The run's rows so far. An outcome whose decision has not come (not loaded, or logged elsewhere) is still a call that ran. */
  entries(): RunEntry[] {
    if (this.early.size === 0) return this.folded;
    return [...this.folded, ...[...this.early.values()].map(({ call }): RunEntry => ({ type: "call", call }))];
  }

  add(record: StreamRecord): void {
    this.lastRecord = record;
    switch (record.kind) {
      case "decision":
        return this.decision(record, record.data as RecordDataByKind["decision"]);
      case "approval.requested":
        return this.approvalRequested(record, (record.data as RecordDataByKind["approval.requested"]).approval);
      case "approval.resolved":
        return this.approvalResolved(record, record.data as RecordDataByKind["approval.resolved"]);
      case "approval.used": {
        const d = record.data as RecordDataByKind["approval.used"];
        const call = this.byApproval.get(d.id);
        if (call === undefined) return;
        call.records.push(record);
        this.byDecision.set(d.decision_id, call);
        return;
      }
      case "event":
        return this.event(record, (record.data as RecordDataByKind["event"]).event);
      case "run.started":
      case "run.completed":
        return;
      default:
        this.note(record);
    }
  }

  private decision(record: StreamRecord, data: RecordDataByKind["decision"]): void {
    const id = data.decision.decision_id;
    const reason = data.decision.reason;
    const granted = data.spent_approval ?? (reason.startsWith("approved (") ? GRANT_SPENT.exec(reason)?.[1] : undefined);
    let call = this.byDecision.get(id) ?? (granted === undefined ? undefined : this.byApproval.get(granted));
    if (call === undefined) {
      call = this.newCall(record, { ...data.request, agentKey: data.request.agent_key });
      if (data.hook !== undefined) call.hook = data.hook;
    } else {
      call.records.push(record);
    }
    call.decisions.push({ record, data });
    this.byDecision.set(id, call);
    if (data.approval_id !== null) this.byApproval.set(data.approval_id, call);
    if (data.hook !== undefined) this.byHookCall.set(hookKey(data.hook.session_id, data.hook.tool_use_id), call);
    const early = this.early.get(id);
    if (early !== undefined) {
      this.early.delete(id);
      setOutcome(call, early.record);
    }
  }

  private approvalRequested(record: StreamRecord, approval: ApprovalView): void {
    let call = this.byApproval.get(approval.id) ?? this.byDecision.get(approval.decision_id);
    if (call === undefined) {
      call = this.newCall(record, { agentKey: approval.agent_key, tool: approval.tool, action: approval.action, resource: approval.resource, arguments: approval.arguments });
    } else {
      call.records.push(record);
    }
    call.approval = { approval: { ...approval }, requested: record, resolved: call.approval?.resolved };
    this.byApproval.set(approval.id, call);
  }

  private approvalResolved(record: StreamRecord, data: RecordDataByKind["approval.resolved"]): void {
    const call = this.byApproval.get(data.id);
    if (call?.approval === undefined) return this.note(record);
    call.records.push(record);
    call.approval.resolved = { record, data };
    applyResolution(call.approval.approval, data);
  }

  private event(record: StreamRecord, event: WireEvent): void {
    if (OUTCOME_TYPES.has(event.type)) return this.outcomeEvent(record, event);
    if (LOCAL_TYPES.has(event.type)) return this.localEvent(record, event);
    if (event.type === "agent.error") {
      // The SDK's report of what the call ended with: the failure it repeats, or the refusal the agent got
      // (withRun logs the ApieError of a blocked or rejected call that ended the run).
      const last = this.lastEntry?.type === "call" ? this.lastEntry.call : undefined;
      if (last !== undefined && ((last.outcome?.status === "failed" && last.outcome.error === errorOf(event)) || (last.outcome === undefined && refused(last)))) {
        last.records.push(record);
        last.agentError ??= errorOf(event) ?? "error";
        return;
      }
    }
    this.note(record);
  }

  private outcomeEvent(record: StreamRecord, event: WireEvent): void {
    const decisionId = stringAt(event.metadata, "decision_id");
    const hook = event.metadata?.["hook"] as { session_id?: string | null; tool_use_id?: string } | undefined;
    let call: ToolCall | undefined;
    if (decisionId !== undefined) {
      call = this.byDecision.get(decisionId);
      if (call === undefined) {
        this.early.set(decisionId, { record, call: outcomeOnlyCall(this.runId, record) });
        return;
      }
    } else if (typeof hook?.tool_use_id === "string") {
      call = this.byHookCall.get(hookKey(hook.session_id ?? null, hook.tool_use_id));
    } else {
      call = this.takeOpenLocal(event.tool?.name ?? null);
    }
    if (call === undefined || call.outcome !== undefined) return this.outcomeOnly(record);
    call.records.push(record);
    setOutcome(call, record);
  }

  /**
   * The agent's own report of a call: each of its events joins the latest call of the same tool being
   * reported that lacks that event (the SDK sends the evaluation first, then called/requested), else opens one.
   */
  private localEvent(record: StreamRecord, event: WireEvent): void {
    const tool = event.tool?.name ?? event.action?.name ?? null;
    let call = this.openLocal[lastIndexWhere(this.openLocal, (c) => sameTool(c, tool) && !c.records.some((r) => eventType(r) === event.type))];
    if (call === undefined) {
      call = this.newCall(record, requestOfEvent(event));
      this.openLocal.push(call);
    } else {
      call.records.push(record);
      fillRequest(call.request, event);
    }
    if (event.type === "agent.guardrail.evaluated") call.local = localDecision(record, event);
  }

  private takeOpenLocal(tool: string | null): ToolCall | undefined {
    const i = lastIndexWhere(this.openLocal, (c) => sameTool(c, tool));
    if (i === -1) return undefined;
    return this.openLocal.splice(i, 1)[0];
  }

  private outcomeOnly(record: StreamRecord): void {
    this.push({ type: "call", call: outcomeOnlyCall(this.runId, record) });
  }

  private newCall(record: StreamRecord, request: CallRequest): ToolCall {
    const call = newCall(this.runId, record, request);
    this.push({ type: "call", call });
    return call;
  }

  private note(record: StreamRecord): void {
    this.push({ type: "note", note: { record } });
  }

  private push(entry: RunEntry): void {
    this.folded.push(entry);
    this.lastEntry = entry;
  }
}

/** A call the guard or a human refused: blocked, or its approval rejected, expired or cancelled. */
function refused(call: ToolCall): boolean {
  const status = call.approval?.approval.status;
  if (status === "rejected" || status === "expired" || status === "cancelled") return true;
  return call.decisions[call.decisions.length - 1]?.data.decision.enforcement_action === "block";
}

function lastIndexWhere<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

function newCall(runId: string, record: StreamRecord, request: CallRequest): ToolCall {
  return { id: `${runId}:${record.seq}`, runId, request, decisions: [], local: undefined, approval: undefined, outcome: undefined, records: [record], hook: undefined };
}

/** A call known only by its outcome (its decision not among the run's records). */
function outcomeOnlyCall(runId: string, record: StreamRecord): ToolCall {
  const call = newCall(runId, record, requestOfEvent((record.data as RecordDataByKind["event"]).event));
  setOutcome(call, record);
  return call;
}

function setOutcome(call: ToolCall, record: StreamRecord): void {
  const event = (record.data as RecordDataByKind["event"]).event;
  if (!call.records.includes(record)) {
    call.records.push(record);
    call.records.sort((a, b) => happenedAt(a) - happenedAt(b));
  }
  const duration = event.metadata?.["duration_ms"];
  call.outcome = {
    record,
    status: event.type === "agent.action.failed" ? "failed" : "completed",
    error: event.type === "agent.action.failed" ? (errorOf(event) ?? "failed") : null,
    durationMs: typeof duration === "number" && Number.isFinite(duration) ? duration : null,
  };
  fillRequest(call.request, event);
}

function sameTool(call: ToolCall, tool: string | null): boolean {
  return call.request.tool.name === tool || call.request.action.name === tool;
}

function hookKey(sessionId: string | null, toolUseId: string): string {
  return `${sessionId ?? ""}\u0000${toolUseId}`;
}

function stringAt(bag: Record<string, unknown> | null | undefined, key: string): string | undefined {
  const value = bag?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function eventType(record: StreamRecord): string | undefined {
  return record.kind === "event" ? (record.data as RecordDataByKind["event"]).event.type : undefined;
}

export function errorOf(event: WireEvent): string | undefined {
  const message = (event as { error?: { message?: unknown } }).error?.message;
  return typeof message === "string" ? message : undefined;
}

function requestOfEvent(event: WireEvent): CallRequest {
  const request: CallRequest = {
    agentKey: event.agent_key,
    tool: { name: null, provider: null },
    action: { type: null, name: null },
    resource: { type: null, environment: null, external_id: null },
    arguments: null,
  };
  fillRequest(request, event);
  return request;
}

/** Fills what the call's earlier records left unknown from an event of it (never overrides the sidecar's). */
function fillRequest(request: CallRequest, event: WireEvent): void {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  request.tool.name ??= str(event.tool?.name);
  request.tool.provider ??= str(event.tool?.provider);
  request.action.type ??= str(event.action?.type);
  request.action.name ??= str(event.action?.name);
  request.resource.type ??= str(event.resource?.type);
  request.resource.environment ??= str(event.resource?.environment) ?? str((event as { environment?: unknown }).environment);
  request.resource.external_id ??= str((event.resource as { external_id?: unknown } | null | undefined)?.external_id);
  const args = (event as { arguments?: unknown }).arguments;
  if (request.arguments === null && args !== undefined && args !== null) request.arguments = args;
}

function localDecision(record: StreamRecord, event: WireEvent): LocalDecision {
  const d = ((event as { decision?: unknown }).decision ?? {}) as Record<string, unknown>;
  const guardrails = Array.isArray(d["matchedGuardrails"]) ? (d["matchedGuardrails"] as { key?: unknown; decision?: unknown }[]) : [];
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    record,
    effectiveDecision: str(d["effectiveDecision"]),
    annotation: str(d["annotation"]),
    reason: str(d["reason"]),
    matchedGuardrails: guardrails.filter((g) => typeof g.key === "string").map((g) => ({ key: g.key as string, decision: String(g.decision ?? "") })),
    guardUnavailable: d["guardUnavailable"] !== undefined && d["guardUnavailable"] !== null && d["guardUnavailable"] !== false,
  };
}
