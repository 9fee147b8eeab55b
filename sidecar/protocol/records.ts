import type { ToolDefinition } from "../guard/facts";
import type { Capability } from "../guard/policySchema";
import type { GuardDecision, Mode, RiskLevel } from "../guard/types";
import type { ApprovalScope, ApprovalView, FinalApprovalStatus } from "./approvals";
import type { WireEvent } from "./events";
import type { RunStatus, RunView, SessionView } from "./runs";

/**
 * The kinds of record in the event log and what each carries. This is the timeline's contract: the log on
 * disk, the projections rebuilt from it after a restart, `/v1/stream` `event` frames and the editor's views
 * all read these shapes. Records are only ever appended; a later record changes what an earlier one meant
 * (e.g. `approval.resolved` after `approval.requested`).
 */
export interface RecordDataByKind {
  /** An SDK registered its agent (POST /v1/agents/identify). */
  "agent.identified": { agent_id: string; agent_key: string; name: string | null };
  /** Runtime capability declaration; replayed into the engine after a restart. */
  "capabilities.declared": { agent_key: string; capabilities: Capability[] };
  "tool.defined": { agent_key: string; tool: ToolDefinition };
  "session.started": { session: SessionView; orchestrator_agent_key: string | null };
  "session.completed": { id: string; status: RunStatus; output_summary: string | null; completed_at: string };
  "run.started": {
    run: RunView;
    parent_run_id: string | null;
    step_key: string | null;
    step_name: string | null;
    role: string | null;
  };
  "run.completed": { id: string; status: RunStatus; output_summary: string | null; completed_at: string };
  "handoff": { id: string; session_id: string; source_run_id: string | null; target_run_id: string | null; reason: string | null };
  /** A timeline event an SDK sent (POST /v1/events), kept as sent. */
  "event": { event: WireEvent };
  /** One guard decision, with the request it answered (arguments redacted). */
  "decision": {
    request: DecisionRequestSummary;
    decision: GuardDecision;
    approval_id: string | null;
    /**
     * Present when a replica made the decision first (POST /v1/guardrails/decisions): `decision` is the
     * sidecar's own. `decided_at`: when the replica decided; the record itself is logged when the report
     * arrives, up to a few hundred ms later (after the call's outcome, even).
     */
    reported?: { by: "replica"; diverged: boolean; decided_at?: string };
    /**
     * Present when the sidecar decided after the deadline the caller stated (`deadline_at` of the evaluate
     * body): the caller had stopped waiting — an SDK then applied its guardFailureMode and never ran the call
     * under this decision — so this records an attempt, not a call that was allowed and ran. A late
     * require_approval opened no approval. Absent does not prove the caller heard the answer: one decided just
     * before the deadline may still reach it too late.
     */
    late?: DecisionLateness;
    /** Present for a coding agent's hook call (POST /v1/hooks/evaluate): the host's ids of the call. */
    hook?: DecisionHookRef;
    /**
     * Present when a session grant let this call through instead of a new approval: the approval approved
     * for the session, and who approved it when — the audit's answer to "why did this pass?".
     */
    session_grant?: SessionGrantRef;
    /**
     * Present when this decision spent a once-approved grant (the caller evaluated again with `approval_id`):
     * the approval whose grant let it proceed. Logs from before this field say so only in `decision.reason`
     * (`approved (<approval id>): …`).
     */
    spent_approval?: string;
  };
  "approval.requested": { approval: ApprovalView };
  "approval.resolved": {
    id: string;
    status: FinalApprovalStatus;
    resolved_at: string;
    resolved_by: string;
    resolution_reason: string | null;
    /** Approved only: `once` (absent in logs before scopes) or `session` — a session grant (ApprovalScope). */
    scope?: ApprovalScope;
  };
  /** An approved grant was spent on the call it was made for; it can never be spent again. */
  "approval.used": { id: string; decision_id: string };
  "mode.changed": { mode: Mode; by: string };
}

export type RecordKind = keyof RecordDataByKind;

/** See `hook` of the `decision` record: which host session and call (tool-use id) a decision answered. */
export interface DecisionHookRef {
  host: string;
  session_id: string | null;
  tool_use_id: string;
}

/** See `session_grant` of the `decision` record. */
export interface SessionGrantRef {
  approval_id: string;
  resolved_by: string | null;
  resolved_at: string | null;
}

/** See `late` of the `decision` record. */
export interface DecisionLateness {
  /** The caller's deadline (ISO 8601): from then on it no longer waited for this decision. */
  caller_gave_up_at: string;
}

export interface DecisionRequestSummary {
  agent_key: string;
  run_id: string | null;
  tool: { name: string | null; provider: string | null; risk_level: RiskLevel | null };
  action: { type: string | null; name: string | null };
  resource: { type: string | null; environment: string | null; external_id: string | null };
  arguments: unknown;
}

/** A record as the projections see it (the log adds seq/prev/hash). */
export interface TimelineRecord<K extends RecordKind = RecordKind> {
  seq: number;
  ts: string;
  kind: K;
  data: RecordDataByKind[K];
}
