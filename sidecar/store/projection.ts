import type { RunTaint } from "../guard/context";
import type { ToolDefinition } from "../guard/facts";
import type { Capability } from "../guard/policySchema";
import type { Decision, Mode } from "../guard/types";
import { applyResolution, type ApprovalView } from "../protocol/approvals";
import type { ObservedTool } from "../protocol/lsp";
import type { RecordDataByKind, RecordKind, TimelineRecord } from "../protocol/records";
import type { RunView, SessionView } from "../protocol/runs";
import { RecentMap } from "./recentMap";

export interface RunState {
  view: RunView;
  /** Byte offsets of the run's records in the log, in order: the run's timeline is paged from disk. */
  offsets: number[];
}

export type { ObservedTool };

const MAX_SEEN_VALUES = 32;

function remember(list: string[], value: string | null): void {
  if (value !== null && list.length < MAX_SEEN_VALUES && !list.includes(value)) list.push(value);
}

export interface AgentState {
  id: string;
  key: string;
  name: string | null;
  capabilities: Capability[];
  tools: Map<string, ToolDefinition>;
  observed: Map<string, ObservedTool>;
}

/**
 * Ids of the events already logged are remembered for this many events (the most recent ones): a batch an
 * SDK retries within that many events (its retries span seconds, or a sidecar restart) is recognised and
 * acknowledged again instead of appended twice. Memory: ~100–300 bytes per id, so ≤ ~15 MB at the bound.
 */
export const MAX_REMEMBERED_EVENT_IDS = 50_000;

/** Secret reads held back (blocked, asked by the host) remembered in case their outcome shows they ran. */
const MAX_HELD_SECRETS = 1024;

/** Where an event with an id was logged. */
export interface LoggedEventId {
  seq: number;
  offset: number;
  /**
   * SHA-256 of the logged record's `data` JSON, when known: filled by the events route for events it logs,
   * and on demand (read back from disk) for ids replayed at startup. A cache, not part of the replayed state.
   */
  digest?: string;
  /** Resolves once the record is durable (events logged by this process); replayed ones are on disk already. */
  durable?: Promise<unknown>;
}

/** The key an event id is remembered under: ids are the SDK's, so they are scoped to the agent that sent them. */
export const eventIdKey = (agentKey: string, eventId: string): string => `${agentKey}\u0000${eventId}`;

type Handlers = { [K in RecordKind]: (data: RecordDataByKind[K], record: TimelineRecord<K>, offset: number) => void };

/**
 * The sidecar's current state, derived only from the log: replaying the same records always yields the same
 * projection, which is how runs, sessions, pending approvals and agents' declarations survive a restart.
 * Memory holds summaries and offsets, never event bodies.
 */
export class Projection {
  readonly runs = new Map<string, RunState>();
  readonly sessions = new Map<string, SessionView>();
  readonly approvals = new Map<string, ApprovalView>();
  /** How many of `approvals` are pending (kept as records apply, so the guard path never counts). */
  pendingApprovals = 0;
  /** Approval ids whose grant has been spent. */
  readonly usedGrants = new Set<string>();
  /**
   * Live session grants (issue 13): grant pattern key (server/grantPattern.ts) → the approval approved with
   * scope `session`. Rebuilt on replay, so a grant lives exactly as long as its run, across a restart too;
   * removed when the run completes.
   */
  readonly sessionGrants = new Map<string, string>();
  /** Agents by key. */
  readonly agents = new Map<string, AgentState>();
  /** Agent key by agent id (ids come from /v1/agents/identify). */
  readonly agentKeys = new Map<string, string>();
  /**
   * Every decision's time (ms since epoch) and log offset, in log order: reports over a time window read
   * just those records back from disk. Two flat number arrays, ~16 bytes per decision.
   */
  readonly decisionIndex: { times: number[]; offsets: number[] } = { times: [], offsets: [] };
  /** Logged events by eventIdKey(agent_key, event_id), oldest first; see MAX_REMEMBERED_EVENT_IDS. */
  readonly eventIds = new RecentMap<string, LoggedEventId>(MAX_REMEMBERED_EVENT_IDS);
  /**
   * Runs that have read a secret (secret-then-network): by run id, the first record that let one through —
   * a decision carrying `secret_access` whose call proceeded (allow, warn, monitor's would-block, a redeemed
   * grant), or the approval of one that waited (approved is enough: the agent may act on it without
   * redeeming). Replayed like everything else, so a restart keeps it. Calls without a run id taint nothing.
   */
  readonly runTaints = new Map<string, RunTaint>();
  /** Decisions with `secret_access` that opened an approval, by approval id, until it resolves. */
  private readonly secretApprovals = new Map<string, { runId: string; taint: RunTaint }>();
  /**
   * Decisions with `secret_access` that did not let the call proceed and opened no approval here (blocked,
   * late, or asked by the host's own prompt: `hooks.approvals: "host"`), by decision id: if the call's outcome
   * is reported anyway (it ran), the run is tainted. Bounded (oldest dropped); most never get an outcome.
   */
  private readonly heldSecrets = new RecentMap<string, { runId: string; taint: RunTaint }>(MAX_HELD_SECRETS);
  mode: Mode | undefined;
  lastSeq = 0;

  apply(record: TimelineRecord, offset: number): void {
    this.lastSeq = record.seq;
    (this.handlers[record.kind] as (d: unknown, r: TimelineRecord, o: number) => void)(record.data, record, offset);
  }

  private noteSecretAccess(d: RecordDataByKind["decision"]): void {
    const reason = d.decision.secret_access;
    const runId = d.request.run_id;
    if (reason === undefined || !runId) return;
    const taint = { decisionId: d.decision.decision_id, reason };
    const action = d.decision.enforcement_action;
    if (d.late === undefined && (action === "proceed" || action === "warn")) this.taint(runId, taint);
    else if (d.approval_id !== null) this.secretApprovals.set(d.approval_id, { runId, taint });
    else {
      this.heldSecrets.set(taint.decisionId, { runId, taint });
    }
  }

  /** An outcome (the call ran) of a secret read that was not let through here: the host let it run. */
  private noteOutcome(event: RecordDataByKind["event"]["event"]): void {
    if (event.type !== "agent.action.completed" && event.type !== "agent.action.failed") return;
    const id = event.metadata?.["decision_id"];
    const held = typeof id === "string" ? this.heldSecrets.get(id) : undefined;
    if (held === undefined) return;
    this.heldSecrets.delete(id as string);
    this.taint(held.runId, { decisionId: held.taint.decisionId, reason: `${held.taint.reason}, which ran anyway (its outcome was reported)` });
  }

  /** The first record that tainted a run names it; later ones add nothing a person needs. */
  private taint(runId: string, taint: RunTaint): void {
    if (!this.runTaints.has(runId)) this.runTaints.set(runId, taint);
  }

  agentByKey(key: string): AgentState {
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = { id: "", key, name: null, capabilities: [], tools: new Map(), observed: new Map() };
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** A record naming a run the sidecar never saw start (e.g. an MCP proxy's `--run-id`) opens it implicitly. */
  private runFor(runId: string, agentKey: string, ts: string): RunState {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = {
        view: {
          id: runId,
          session_id: null,
          agent_key: agentKey,
          status: "running",
          environment: null,
          input_summary: null,
          output_summary: null,
          started_at: ts,
          completed_at: null,
          event_count: 0,
        },
        offsets: [],
      };
      this.runs.set(runId, run);
    }
    return run;
  }

  private addToRun(runId: string | null | undefined, agentKey: string, ts: string, offset: number): void {
    if (!runId) return;
    const run = this.runFor(runId, agentKey, ts);
    run.offsets.push(offset);
    run.view.event_count = run.offsets.length;
  }

  private readonly handlers: Handlers = {
    "agent.identified": (d) => {
      const agent = this.agentByKey(d.agent_key);
      agent.id = d.agent_id;
      this.agentKeys.set(d.agent_id, d.agent_key);
      agent.name = d.name ?? agent.name;
    },
    "capabilities.declared": (d) => {
      // Same merge as the engine's CapabilityRegistry: a declaration replaces earlier ones for its tools only.
      const agent = this.agentByKey(d.agent_key);
      const replaced = new Set(d.capabilities.map((c) => c.tool.name));
      agent.capabilities = [...agent.capabilities.filter((c) => !replaced.has(c.tool.name)), ...d.capabilities];
    },
    "tool.defined": (d) => {
      this.agentByKey(d.agent_key).tools.set(d.tool.name, d.tool);
    },
    "session.started": (d) => {
      this.sessions.set(d.session.id, { ...d.session, run_ids: [...d.session.run_ids] });
    },
    "session.completed": (d) => {
      const session = this.sessions.get(d.id);
      if (session === undefined) return;
      session.status = d.status;
      session.output_summary = d.output_summary;
      session.completed_at = d.completed_at;
    },
    "run.started": (d, record, offset) => {
      const run: RunState = { view: { ...d.run }, offsets: [] };
      this.runs.set(d.run.id, run);
      if (d.run.session_id) this.sessions.get(d.run.session_id)?.run_ids.push(d.run.id);
      this.addToRun(d.run.id, d.run.agent_key, record.ts, offset);
    },
    "run.completed": (d, record, offset) => {
      const run = this.runs.get(d.id);
      if (run === undefined) return;
      run.view.status = d.status;
      run.view.output_summary = d.output_summary;
      run.view.completed_at = d.completed_at;
      this.addToRun(d.id, run.view.agent_key, record.ts, offset);
      // A session grant ends with its run (ApprovalBroker.sessionGrant checks the run too).
      for (const [key, approvalId] of this.sessionGrants) if (this.approvals.get(approvalId)?.run_id === d.id) this.sessionGrants.delete(key);
    },
    "handoff": (d, record, offset) => {
      if (d.source_run_id) this.addToRun(d.source_run_id, "", record.ts, offset);
    },
    "event": (d, record, offset) => {
      this.addToRun(d.event.run_id, d.event.agent_key, record.ts, offset);
      if (this.heldSecrets.size > 0) this.noteOutcome(d.event);
      const id = d.event.event_id;
      if (typeof id === "string" && id !== "") {
        // The latest record under an id wins (the same id logged again with other content: see routes/events.ts).
        this.eventIds.set(eventIdKey(d.event.agent_key, id), { seq: record.seq, offset });
      }
    },
    "decision": (d, record, offset) => {
      this.addToRun(d.request.run_id, d.request.agent_key, record.ts, offset);
      this.noteSecretAccess(d);
      this.decisionIndex.times.push(Date.parse(record.ts));
      this.decisionIndex.offsets.push(offset);
      const toolName = d.request.tool.name ?? d.request.action.name;
      if (toolName === null) return;
      const observed = this.agentByKey(d.request.agent_key).observed;
      let tool = observed.get(toolName);
      if (tool === undefined) {
        tool = {
          name: toolName,
          provider: d.request.tool.provider,
          calls: 0,
          decisions: { allow: 0, warn: 0, require_approval: 0, block: 0 },
          wouldBlock: 0,
          lastSeen: record.ts,
          actions: [],
          resources: [],
          environments: [],
        };
        observed.set(toolName, tool);
      }
      // A late decision (the caller had given up and did not run the call) is an attempt, not a call.
      if (d.late === undefined) {
        tool.calls++;
        tool.decisions[d.decision.effective_decision]++;
        if (d.decision.annotation !== null) tool.wouldBlock++;
      }
      tool.lastSeen = record.ts;
      remember(tool.actions, d.request.action.type);
      remember(tool.resources, d.request.resource.type);
      remember(tool.environments, d.request.resource.environment);
    },
    "approval.requested": (d, record, offset) => {
      if (!this.approvals.has(d.approval.id)) this.pendingApprovals++;
      this.approvals.set(d.approval.id, { ...d.approval, scope: null });
      this.addToRun(d.approval.run_id, d.approval.agent_key, record.ts, offset);
    },
    "approval.resolved": (d, record, offset) => {
      const approval = this.approvals.get(d.id);
      if (approval === undefined || approval.status !== "pending") return;
      this.pendingApprovals--;
      applyResolution(approval, d);
      if (approval.scope === "session" && approval.grant_pattern !== undefined && approval.run_id !== null) {
        this.sessionGrants.set(approval.grant_pattern.key, approval.id);
      }
      this.addToRun(approval.run_id, approval.agent_key, record.ts, offset);
      const secret = this.secretApprovals.get(d.id);
      this.secretApprovals.delete(d.id);
      if (secret !== undefined && d.status === "approved") {
        this.taint(secret.runId, { decisionId: secret.taint.decisionId, reason: `${secret.taint.reason}, approved in ${d.id}` });
      }
    },
    "approval.used": (d) => {
      this.usedGrants.add(d.id);
    },
    "mode.changed": (d) => {
      this.mode = d.mode;
    },
  };
}
