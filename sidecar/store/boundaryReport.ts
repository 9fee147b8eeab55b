import picomatch from "picomatch";
import type { Capability } from "../guard/policySchema";
import type { DriftCode } from "../guard/types";
import type { ApprovalStatus, ApprovalView } from "../protocol/approvals";
import type { RecordDataByKind, TimelineRecord } from "../protocol/records";
import type {
  AgentBoundaryReport,
  BoundaryReport,
  DeclaredToolReport,
  ObservedToolReport,
  ReportCounts,
} from "../protocol/reports";
import type { Journal } from "./journal";
import { TimeSlicer } from "./timeSlicer";

/**
 * Boundary reports: what each agent declared (its capabilities — the contract) against what it did in a time
 * window. The tally is pure: feed it timeline records and approvals, then build the report with the agents'
 * current declarations. `generateBoundaryReport` does the disk part: it picks the window's records through
 * the projection's indexes (decisions by time, runs by offsets) and streams them through a tally in batches,
 * so memory stays bounded by the number of distinct tools, not by the number of calls.
 */

export interface ReportWindow {
  /** "24h", "7d", … or "custom" for an explicit start/end. */
  label: string;
  /** ms since epoch, inclusive. */
  start: number;
  end: number;
}

export interface ReportFilter {
  window: ReportWindow;
  /** Only this agent. */
  agentKey?: string | undefined;
  /** Only calls on resources in these environments (case-insensitive). */
  environments?: readonly string[] | undefined;
}

/** An agent as the report names it, with its current declarations (runtime and apie.policy.json merged). */
export interface AgentInfo {
  key: string;
  id: string | null;
  name: string | null;
  capabilities: readonly Capability[];
}

export interface ReportMeta {
  reportId: string;
  title?: string | undefined;
  reportType?: BoundaryReport["report_type"] | undefined;
  generatedAt: string;
  agentVersionId?: string | undefined;
  sections?: string[] | undefined;
  notes?: string[] | undefined;
}

const TOOL_CALLED = "agent.tool.called";

const zeroCounts = (): ReportCounts => ({
  calls: 0,
  guarded_calls: 0,
  reported_calls: 0,
  decisions: { allow: 0, warn: 0, require_approval: 0, block: 0 },
  would_block: 0,
  would_require_approval: 0,
  blocked: 0,
  approvals_requested: 0,
});

const zeroApprovals = (): Record<ApprovalStatus, number> => ({ pending: 0, approved: 0, rejected: 0, expired: 0, cancelled: 0 });

function addCounts(into: ReportCounts, from: ReportCounts): void {
  into.calls += from.calls;
  into.guarded_calls += from.guarded_calls;
  into.reported_calls += from.reported_calls;
  for (const k of Object.keys(into.decisions) as (keyof ReportCounts["decisions"])[]) into.decisions[k] += from.decisions[k];
  into.would_block += from.would_block;
  into.would_require_approval += from.would_require_approval;
  into.blocked += from.blocked;
  into.approvals_requested += from.approvals_requested;
}

interface ToolTally {
  name: string;
  provider: string | null;
  counts: ReportCounts;
  environments: Set<string>;
  drift: Set<DriftCode>;
  first: number;
  last: number;
}

interface AgentTally {
  /** Calls whose tool has no name (counted in the totals only). */
  unnamed: ReportCounts;
  tools: Map<string, ToolTally>;
  approvals: Record<ApprovalStatus, number>;
}

/** Accumulates the records of one window; records outside it, or of other agents/environments, are ignored. */
export class BoundaryTally {
  private readonly agents = new Map<string, AgentTally>();
  private readonly environments: ReadonlySet<string> | undefined;

  constructor(readonly filter: ReportFilter) {
    this.environments = filter.environments === undefined ? undefined : new Set(filter.environments.map((e) => e.toLowerCase()));
  }

  /** Takes any timeline record; only `decision` records and `agent.tool.called` events count. */
  add(record: TimelineRecord): void {
    const time = Date.parse(record.ts);
    if (!(time >= this.filter.window.start && time <= this.filter.window.end)) return;
    if (record.kind === "decision") this.addDecision(record.data as RecordDataByKind["decision"], time);
    else if (record.kind === "event") this.addEvent(record.data as RecordDataByKind["event"], time);
  }

  /** Counts an approval opened in the window, by its current status. */
  addApproval(approval: ApprovalView): void {
    const time = Date.parse(approval.created_at);
    if (!(time >= this.filter.window.start && time <= this.filter.window.end)) return;
    if (!this.accepts(approval.agent_key, approval.resource.environment)) return;
    this.agent(approval.agent_key).approvals[approval.status]++;
  }

  /** Agent keys seen in the window. */
  agentKeys(): string[] {
    return [...this.agents.keys()];
  }

  private accepts(agentKey: string, environment: string | null | undefined): boolean {
    if (this.filter.agentKey !== undefined && agentKey !== this.filter.agentKey) return false;
    if (this.environments === undefined) return true;
    return typeof environment === "string" && this.environments.has(environment.toLowerCase());
  }

  private addDecision(d: RecordDataByKind["decision"], time: number): void {
    // Decided after its caller had stopped waiting: an attempt, not a call that ran under this decision (the
    // caller's guardFailureMode decided); counted nowhere, as the projection's observed tools do.
    if (d.late !== undefined) return;
    const environment = d.request.resource.environment;
    if (!this.accepts(d.request.agent_key, environment)) return;
    const name = d.request.tool.name ?? d.request.action.name;
    const tool = name === null ? undefined : this.tool(d.request.agent_key, name, d.request.tool.provider, time, environment);
    const counts = tool?.counts ?? this.agent(d.request.agent_key).unnamed;
    counts.guarded_calls++;
    counts.decisions[d.decision.effective_decision]++;
    if (d.decision.annotation === "would_block") counts.would_block++;
    if (d.decision.annotation === "would_require_approval") counts.would_require_approval++;
    if (d.decision.effective_decision === "block") counts.blocked++;
    if (d.approval_id !== null) counts.approvals_requested++;
    for (const warning of d.decision.drift_warnings) tool?.drift.add(warning.code);
  }

  private addEvent(d: RecordDataByKind["event"], time: number): void {
    const event = d.event;
    if (event.type !== TOOL_CALLED) return;
    const environment = event.resource?.environment;
    if (!this.accepts(event.agent_key, environment)) return;
    const name = event.tool?.name;
    const tool = name === undefined ? undefined : this.tool(event.agent_key, name, event.tool?.provider ?? null, time, environment ?? null);
    (tool?.counts ?? this.agent(event.agent_key).unnamed).reported_calls++;
  }

  private agent(key: string): AgentTally {
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = { unnamed: zeroCounts(), tools: new Map(), approvals: zeroApprovals() };
      this.agents.set(key, agent);
    }
    return agent;
  }

  private tool(agentKey: string, name: string, provider: string | null, time: number, environment: string | null): ToolTally {
    const tools = this.agent(agentKey).tools;
    let tool = tools.get(name);
    if (tool === undefined) {
      tool = { name, provider, counts: zeroCounts(), environments: new Set(), drift: new Set(), first: time, last: time };
      tools.set(name, tool);
    }
    tool.provider ??= provider;
    if (environment !== null) tool.environments.add(environment);
    tool.first = Math.min(tool.first, time);
    tool.last = Math.max(tool.last, time);
    return tool;
  }

  /**
   * The report. Agents listed: those seen in the window plus those with a contract (their declared tools are
   * then all unused); with an agent filter, exactly that agent.
   */
  build(known: readonly AgentInfo[], meta: ReportMeta): BoundaryReport {
    const info = new Map(known.map((a) => [a.key, a]));
    const keys = new Set<string>(this.filter.agentKey !== undefined ? [this.filter.agentKey] : [...this.agents.keys(), ...known.filter((a) => a.capabilities.length > 0).map((a) => a.key)]);
    const agents = [...keys].sort().map((key) => agentReport(info.get(key) ?? { key, id: null, name: null, capabilities: [] }, this.agents.get(key)));
    const totals = { ...zeroCounts(), agents: agents.length, undeclared_tools: 0, unused_declared_tools: 0, approvals: zeroApprovals() };
    for (const agent of agents) {
      addCounts(totals, agent.totals);
      totals.undeclared_tools += agent.undeclared_tools.length;
      totals.unused_declared_tools += agent.unused_declared_tools.length;
      for (const status of Object.keys(totals.approvals) as ApprovalStatus[]) totals.approvals[status] += agent.approvals[status];
    }
    const { window } = this.filter;
    return {
      report_id: meta.reportId,
      title: meta.title ?? defaultTitle(window.label, this.filter.agentKey),
      report_type: meta.reportType ?? "agent_boundary_report",
      generated_at: meta.generatedAt,
      window: { label: window.label, start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
      filters: {
        agent_key: this.filter.agentKey ?? null,
        environments: this.filter.environments === undefined ? null : [...this.filter.environments],
        agent_version_id: meta.agentVersionId ?? null,
      },
      sections: meta.sections ?? null,
      notes: meta.notes ?? [],
      totals,
      agents,
    };
  }
}

function defaultTitle(label: string, agentKey: string | undefined): string {
  const span = label === "custom" ? "custom window" : `last ${label}`;
  return `Boundary report${agentKey === undefined ? "" : ` for ${agentKey}`} (${span})`;
}

function agentReport(agent: AgentInfo, tally: AgentTally | undefined): AgentBoundaryReport {
  const capabilities = agent.capabilities.map((c) => ({ capability: c, matches: /[*?[{]/.test(c.tool.name) ? picomatch(c.tool.name, { dot: true }) : (n: string) => n === c.tool.name }));
  const hasContract = capabilities.length > 0;
  const tools = [...(tally?.tools.values() ?? [])];
  for (const t of tools) t.counts.calls = callsOf(t.counts);
  if (tally !== undefined) tally.unnamed.calls = callsOf(tally.unnamed);
  const observed: ObservedToolReport[] = tools
    .map((t) => ({
      name: t.name,
      provider: t.provider,
      declared: hasContract ? capabilities.some((c) => c.matches(t.name)) : null,
      ...structuredClone(t.counts),
      environments: [...t.environments].sort(),
      drift: [...t.drift].sort(),
      first_seen: new Date(t.first).toISOString(),
      last_seen: new Date(t.last).toISOString(),
    }))
    .sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
  const declared: DeclaredToolReport[] = capabilities.map(({ capability: c, matches }) => {
    const calls = tools.filter((t) => matches(t.name)).reduce((sum, t) => sum + t.counts.calls, 0);
    return {
      tool: c.tool.name,
      provider: c.tool.provider ?? null,
      actions: [...c.actions],
      resources: [...c.resources],
      environments: c.environments === undefined ? null : [...c.environments],
      risk_level: c.riskLevel ?? null,
      calls,
      used: calls > 0,
    };
  });
  const totals = zeroCounts();
  if (tally !== undefined) addCounts(totals, tally.unnamed);
  for (const t of tools) addCounts(totals, t.counts);
  return {
    agent_key: agent.key,
    agent_id: agent.id,
    name: agent.name,
    has_contract: hasContract,
    declared,
    observed,
    undeclared_tools: observed.filter((t) => t.declared === false).map((t) => t.name),
    // The same tool may be declared twice (e.g. once per provider): name it once.
    unused_declared_tools: [...new Set(declared.filter((d) => !d.used).map((d) => d.tool))],
    totals,
    approvals: { ...(tally?.approvals ?? zeroApprovals()) },
  };
}

/** A tool's calls: guarded ones, or the reported ones when the agent sends events without asking the guard. */
function callsOf(counts: Pick<ReportCounts, "guarded_calls" | "reported_calls">): number {
  return Math.max(counts.guarded_calls, counts.reported_calls);
}

/** Pure convenience: one report from records already in memory. */
export function buildBoundaryReport(input: {
  filter: ReportFilter;
  records: Iterable<TimelineRecord>;
  approvals?: Iterable<ApprovalView>;
  agents: readonly AgentInfo[];
  meta: ReportMeta;
}): BoundaryReport {
  const tally = new BoundaryTally(input.filter);
  for (const record of input.records) tally.add(record);
  for (const approval of input.approvals ?? []) tally.addApproval(approval);
  return tally.build(input.agents, input.meta);
}

/**
 * Records read back from disk per batch. Small on purpose: reading back verifies every record's hash, ~10–30 µs
 * each, and a batch is decoded and tallied without yielding, so a batch is one slice of the event loop (a few
 * ms) — see TimeSlicer.
 */
const READ_BATCH = 64;

/**
 * The report over the journal's log. Decisions come from `decisionIndex` (by time); tool-call events from the
 * runs that overlap the window (an event without a run id is not indexed, so it is not counted). A record
 * that cannot be read back (changed on disk since the sidecar started) is skipped and counted in `notes`.
 *
 * O(records in the window), and it runs on the event loop that decides guards: so it is cooperative — it
 * yields (TimeSlicer) every few ms, also while picking and de-duplicating offsets (no whole-index sort or
 * set), and a guard request waits at most one slice behind it. How many run at once is the caller's
 * business (routes/reports.ts bounds it).
 */
export async function generateBoundaryReport(
  journal: Journal,
  options: { filter: ReportFilter; agents: readonly AgentInfo[]; meta: ReportMeta },
  slicer: TimeSlicer = new TimeSlicer(),
): Promise<BoundaryReport> {
  const { filter } = options;
  const { start, end } = filter.window;
  const state = journal.state;
  // Decisions in the window, in log order (the index is appended in log order, so ascending offsets) …
  const decisions: number[] = [];
  const { times, offsets } = state.decisionIndex;
  for (let i = 0, n = times.length; i < n; i++) {
    if (times[i]! >= start && times[i]! <= end) decisions.push(offsets[i]!);
    if (slicer.due()) await slicer.yield();
  }
  // … then the records of the runs overlapping it that are not among those decisions (binary search: the
  // decisions are sorted). A run's offsets are in log order too, so reads stay mostly sequential.
  const others: number[] = [];
  for (const run of state.runs.values()) {
    if (filter.agentKey !== undefined && run.view.agent_key !== filter.agentKey) continue;
    const began = Date.parse(run.view.started_at);
    const ended = run.view.completed_at === null ? Infinity : Date.parse(run.view.completed_at);
    if (began > end || ended < start) continue;
    for (let k = 0, n = run.offsets.length; k < n; k++) {
      if (!sortedHas(decisions, run.offsets[k]!)) others.push(run.offsets[k]!);
      if (slicer.due()) await slicer.yield();
    }
  }
  const tally = new BoundaryTally(filter);
  let unreadable = 0;
  for (const list of [decisions, others]) {
    for (let i = 0; i < list.length; i += READ_BATCH) {
      const batch = list.slice(i, i + READ_BATCH);
      let records: TimelineRecord[];
      try {
        records = await journal.read(batch);
      } catch {
        // One bad record fails the batch: read it one by one to keep the good ones.
        records = [];
        for (const offset of batch) {
          try {
            records.push(...(await journal.read([offset])));
          } catch {
            unreadable++;
          }
        }
      }
      for (const record of records) tally.add(record);
      if (slicer.due()) await slicer.yield();
    }
  }
  for (const approval of state.approvals.values()) {
    tally.addApproval(approval);
    if (slicer.due()) await slicer.yield();
  }
  const notes = [...(options.meta.notes ?? [])];
  if (unreadable > 0) notes.push(`${unreadable} record(s) could not be read back from the event log and are not counted; \`apie audit verify\` names the first broken one`);
  return tally.build(options.agents, { ...options.meta, notes });
}

function sortedHas(sorted: readonly number[], value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
