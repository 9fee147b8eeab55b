import * as vscode from "vscode";
import type { RunView, SessionView } from "../../sidecar/protocol/runs";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import type { Places } from "../model/callLabel";
import { CALL_STATE_ICON, callSteps, callTooltip, matchesStates, presentCall, presentNote, type CallRow, type CallState, type StepRow } from "../model/callPresenters";
import { agentLabel } from "../model/presenters";
import { fullName, groupOf, runLabel, sessionLabel } from "../model/runNames";
import type { TimelineChange, TimelineModel } from "../model/timeline";
import { RunFolds, type ToolCall } from "../model/toolCalls";
import { ChildrenWatch } from "./childrenWatch";

export type RunsNode =
  | { type: "group"; group: string }
  | { type: "session"; session: SessionView }
  | { type: "run"; run: RunView }
  | { type: "call"; runId: string; call: ToolCall }
  | { type: "step"; runId: string; call: ToolCall; step: StepRow }
  | { type: "note"; runId: string; record: StreamRecord };

export interface RunsFilter {
  agent?: string | undefined;
  /** Calls whose final state, verdict or outcome is one of these (callFacets); none: every call. */
  states?: ReadonlySet<CallState> | undefined;
}

const REFRESH_DEBOUNCE_MS = 100;
/** How long VS Code may take to ask for an expanded row's children before the row is refreshed (ChildrenWatch). */
const CHILDREN_GRACE_MS = 750;

/**
 * Runs view: agents and hosts → sessions → runs → tool calls, one row per call (toolCalls.ts folds a run's
 * records), whose children are its decision, approval and outcome. A run's records are fetched when it is
 * expanded and then follow the live feed. Refreshes are debounced and name only the nodes that changed (the
 * whole tree only when the top level did), so a busy agent does not redraw the view on every record.
 */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<RunsNode | RunsNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly nodes = new Map<string, RunsNode>();
  private pending: { all: boolean; ids: Set<string> } = { all: false, ids: new Set() };
  private timer: NodeJS.Timeout | undefined;
  private filterValue: RunsFilter = {};
  private readonly folds = new RunFolds();
  /** A call's row as last presented, while the call has as many records as then (each change adds one). */
  private readonly presented = new WeakMap<ToolCall, { records: number; row: CallRow }>();
  /** Rows whose expansion differs from how they are created: groups and sessions collapsed, runs and calls expanded. */
  private readonly toggled = new Set<string>();
  private readonly childrenWatch: ChildrenWatch;

  constructor(
    private readonly model: TimelineModel,
    private readonly loadRun: (runId: string) => Promise<StreamRecord[] | undefined>,
    private readonly places: () => Places = () => ({}),
    childrenGraceMs = CHILDREN_GRACE_MS,
  ) {
    this.childrenWatch = new ChildrenWatch(childrenGraceMs, (id) => this.refreshNode(id));
  }

  get filter(): RunsFilter {
    return this.filterValue;
  }

  setFilter(filter: RunsFilter): void {
    this.filterValue = filter;
    this.refreshAll();
  }

  /** Schedules a refresh of what `change` touched. */
  changed(change: TimelineChange): void {
    if (change.roots) this.pending.all = true;
    for (const id of change.sessions) this.pending.ids.add(`session:${id}`);
    for (const id of change.runs) this.pending.ids.add(`run:${id}`);
    // A run's new record changes its calls; a new run in a session changes its group's counts only.
    if (!this.pending.all && this.pending.ids.size === 0) return;
    this.timer ??= setTimeout(() => this.flush(), REFRESH_DEBOUNCE_MS);
  }

  refreshAll(): void {
    this.pending.all = true;
    this.timer ??= setTimeout(() => this.flush(), REFRESH_DEBOUNCE_MS);
  }

  /** Follows the view's expansions, so that rows left empty by a refresh race are refreshed (ChildrenWatch). */
  watchExpansion(view: vscode.TreeView<RunsNode>): vscode.Disposable[] {
    const toggle = (node: RunsNode, expanded: boolean) => {
      const id = nodeId(node);
      if (expanded === expandedWhenCreated(node)) this.toggled.delete(id);
      else this.toggled.add(id);
      if (!expanded) this.childrenWatch.forget(id);
    };
    return [view.onDidExpandElement((e) => toggle(e.element, true)), view.onDidCollapseElement((e) => toggle(e.element, false))];
  }

  private refreshNode(id: string): void {
    if (!this.nodes.has(id)) return;
    this.pending.ids.add(id);
    this.timer ??= setTimeout(() => this.flush(), REFRESH_DEBOUNCE_MS);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.type) {
      case "group": {
        const item = new vscode.TreeItem(node.group, vscode.TreeItemCollapsibleState.Expanded);
        item.id = nodeId(node);
        const { sessions, runs, running } = this.groupCounts(node.group);
        const parts = [...(sessions ? [`${sessions} session${sessions === 1 ? "" : "s"}`] : []), ...(runs ? [`${runs} run${runs === 1 ? "" : "s"}`] : []), ...(running ? [`${running} running`] : [])];
        item.description = parts.join(" · ");
        item.iconPath = new vscode.ThemeIcon("hubot");
        item.contextValue = "apie.group";
        return item;
      }
      case "session": {
        const s = node.session;
        const group = this.groupOfSession(s);
        const label = sessionLabel(s, group);
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = nodeId(node);
        item.description = `${s.status} · ${since(s.started_at)}`;
        item.tooltip = `${fullName(group, label)}\nsession ${s.id} · ${s.status}\nstarted ${s.started_at}${s.output_summary ? `\n${s.output_summary}` : ""}`;
        item.iconPath = new vscode.ThemeIcon("layers");
        item.contextValue = "apie.session";
        return item;
      }
      case "run": {
        const r = node.run;
        const label = runLabel(r, r.session_id !== null && this.model.sessions.has(r.session_id));
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = nodeId(node);
        const calls = this.model.recordsOf(r.id) === undefined ? undefined : this.entries(r.id).filter((e) => e.type === "call").length;
        item.description = [r.status, since(r.started_at), ...(calls === undefined ? [] : [`${calls} call${calls === 1 ? "" : "s"}`])].join(" · ");
        item.tooltip = `${fullName(groupOf(r.agent_key), label)}\nrun ${r.id} · ${agentLabel(r.agent_key)}${r.environment ? ` · ${r.environment}` : ""}\nstarted ${r.started_at}${r.output_summary ? `\n${r.output_summary}` : ""}`;
        item.iconPath = new vscode.ThemeIcon(r.status === "running" ? "sync" : r.status === "completed" ? "pass" : "error");
        item.contextValue = "apie.run";
        return item;
      }
      case "call": {
        const p = this.present(node.call);
        const item = new vscode.TreeItem(p.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = nodeId(node);
        item.description = p.description;
        // The tooltip is filled on hover (resolveTreeItem): a run can hold thousands of calls.
        item.iconPath = themeIcon(CALL_STATE_ICON[p.state]);
        item.contextValue = node.call.decisions.length > 0 ? "apie.call.decided" : "apie.call";
        item.command = { command: "apie.showCall", title: "Show Call Details", arguments: [node] };
        return item;
      }
      case "step": {
        const item = new vscode.TreeItem(node.step.label, vscode.TreeItemCollapsibleState.None);
        item.id = nodeId(node);
        item.description = node.step.description;
        item.tooltip = `${node.step.label}\n${node.step.description}`;
        item.iconPath = themeIcon(node.step);
        item.contextValue = node.step.part === "decision" && node.call.decisions.length > 0 ? "apie.call.decided" : "apie.step";
        item.command = { command: "apie.showCall", title: "Show Call Details", arguments: [node] };
        return item;
      }
      case "note": {
        const p = presentNote(node.record);
        const item = new vscode.TreeItem(p.label, vscode.TreeItemCollapsibleState.None);
        item.id = nodeId(node);
        item.description = p.description;
        item.tooltip = `${new Date(node.record.ts).toLocaleTimeString()} · ${p.label}${p.description ? `\n${p.description}` : ""}`;
        item.iconPath = new vscode.ThemeIcon(p.icon, new vscode.ThemeColor("descriptionForeground"));
        item.contextValue = "apie.note";
        return item;
      }
    }
  }

  resolveTreeItem(item: vscode.TreeItem, node: RunsNode): vscode.TreeItem {
    if (node.type === "call") item.tooltip = callTooltip(node.call, this.present(node.call));
    return item;
  }

  /** VS Code's ask: the children, and which of them VS Code should ask about next (ChildrenWatch). */
  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (node !== undefined) this.childrenWatch.asked(nodeId(node));
    const children = await this.childrenOf(node);
    this.childrenWatch.listed(children.filter((c) => this.isExpanded(c)).map(nodeId));
    return children;
  }

  private isExpanded(node: RunsNode): boolean {
    const byDefault = expandedWhenCreated(node);
    // A run's thousands of call rows: no id built while nothing was toggled.
    return this.toggled.size === 0 ? byDefault : byDefault !== this.toggled.has(nodeId(node));
  }

  private async childrenOf(node?: RunsNode): Promise<RunsNode[]> {
    if (node === undefined) return this.groups().map((group) => this.node({ type: "group", group }));
    switch (node.type) {
      case "group": {
        const sessions = [...this.model.sessions.values()].filter((s) => this.groupOfSession(s) === node.group && this.showsSession(s));
        const loose = this.model.runsOf(null).filter((r) => groupOf(r.agent_key) === node.group && this.showsRun(r));
        const items: { started: string; node: RunsNode }[] = [
          ...sessions.map((session) => ({ started: session.started_at, node: { type: "session", session } as RunsNode })),
          ...loose.map((run) => ({ started: run.started_at, node: { type: "run", run } as RunsNode })),
        ];
        return items.sort((a, b) => b.started.localeCompare(a.started)).map((i) => this.node(i.node));
      }
      case "session":
        return this.model.runsOf(node.session.id).filter((r) => this.showsRun(r)).map((run) => this.node({ type: "run", run }));
      case "run": {
        if (this.model.recordsOf(node.run.id) === undefined) await this.loadRun(node.run.id);
        const runId = node.run.id;
        const states = this.filterValue.states;
        const filtering = states !== undefined && states.size > 0;
        return this.entries(runId)
          .filter((e) => (e.type === "call" ? matchesStates(e.call, states) : !filtering))
          .map((e) => this.node(e.type === "call" ? { type: "call", runId, call: e.call } : { type: "note", runId, record: e.note.record }));
      }
      case "call":
        return callSteps(node.call).map((step) => this.node({ type: "step", runId: node.runId, call: node.call, step }));
      default:
        return [];
    }
  }

  getParent(node: RunsNode): RunsNode | undefined {
    switch (node.type) {
      case "step":
        return this.nodes.get(`call:${node.call.id}`);
      case "call":
      case "note":
        return this.nodes.get(`run:${node.runId}`);
      case "run":
        return node.run.session_id && this.model.sessions.has(node.run.session_id) ? this.nodes.get(`session:${node.run.session_id}`) : this.nodes.get(`group:${groupOf(node.run.agent_key)}`);
      case "session":
        return this.nodes.get(`group:${this.groupOfSession(node.session)}`);
      default:
        return undefined;
    }
  }

  /**
   * The tree node showing a record (story links, replay): the call's decision, approval or outcome row, else
   * the call, a note, or the run itself for its start and end; creating the nodes on its path the way the view would (reveal() needs getParent to
   * reach known elements). Undefined when a filter hides it.
   */
  async recordNode(runId: string, seq: number): Promise<RunsNode | undefined> {
    const run = this.model.runs.get(runId);
    if (run === undefined) return undefined;
    for (const group of await this.childrenOf()) {
      if (group.type !== "group" || group.group !== this.groupOfRun(run)) continue;
      for (const child of await this.childrenOf(group)) if (child.type === "session" && child.session.id === run.session_id) await this.childrenOf(child);
    }
    const runNode = this.nodes.get(`run:${runId}`);
    if (runNode === undefined) return undefined;
    for (const child of await this.childrenOf(runNode)) {
      if (child.type === "note" && child.record.seq === seq) return child;
      if (child.type !== "call" || !child.call.records.some((r) => r.seq === seq)) continue;
      const steps = await this.childrenOf(child);
      return steps.find((s) => s.type === "step" && s.step.seqs.includes(seq)) ?? child;
    }
    // The run's start and end are the run's own row.
    return this.model.recordsOf(runId)?.some((r) => r.seq === seq && (r.kind === "run.started" || r.kind === "run.completed")) ? runNode : undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.childrenWatch.dispose();
    this.emitter.dispose();
  }

  /** A run's calls and notes, folded from its records (as they happened). */
  private entries(runId: string) {
    return this.folds.entries(runId, this.model.recordsOf(runId) ?? []);
  }

  private present(call: ToolCall): CallRow {
    const cached = this.presented.get(call);
    if (cached !== undefined && cached.records === call.records.length) return cached.row;
    const row = presentCall(call, this.places());
    this.presented.set(call, { records: call.records.length, row });
    return row;
  }

  /** The groups that have something to show, the most recently active first. */
  private groups(): string[] {
    const latest = new Map<string, string>();
    const note = (group: string, at: string) => {
      if ((latest.get(group) ?? "") < at) latest.set(group, at);
    };
    for (const s of this.model.sessions.values()) if (this.showsSession(s)) note(this.groupOfSession(s), s.started_at);
    for (const r of this.model.runsOf(null)) if (this.showsRun(r)) note(groupOf(r.agent_key), r.started_at);
    return [...latest.entries()].sort((a, b) => b[1].localeCompare(a[1])).map(([group]) => group);
  }

  private groupCounts(group: string): { sessions: number; runs: number; running: number } {
    const sessions = [...this.model.sessions.values()].filter((s) => this.groupOfSession(s) === group);
    const runs = this.model.runsOf(null).filter((r) => groupOf(r.agent_key) === group);
    const running = sessions.filter((s) => s.status === "running").length + runs.filter((r) => r.status === "running").length;
    return { sessions: sessions.length, runs: runs.length, running };
  }

  /** A session's group: the agent that orchestrates it (its first run's), its host for a coding agent. */
  private groupOfSession(session: SessionView): string {
    const agent = this.model.sessionAgent(session.id) ?? this.model.runsOf(session.id)[0]?.agent_key;
    return agent === undefined ? "Sessions" : groupOf(agent);
  }

  private groupOfRun(run: RunView): string {
    const session = run.session_id ? this.model.sessions.get(run.session_id) : undefined;
    return session === undefined ? groupOf(run.agent_key) : this.groupOfSession(session);
  }

  private showsSession(session: SessionView): boolean {
    return this.filterValue.agent === undefined || this.model.runsOf(session.id).some((r) => this.showsRun(r));
  }

  private showsRun(run: RunView): boolean {
    return this.filterValue.agent === undefined || run.agent_key === this.filterValue.agent;
  }

  /** One node object per id, so refreshes can name the element the view already holds. */
  private node(fresh: RunsNode): RunsNode {
    const id = nodeId(fresh);
    const existing = this.nodes.get(id);
    if (existing === undefined) {
      this.nodes.set(id, fresh);
      return fresh;
    }
    Object.assign(existing, fresh);
    return existing;
  }

  private flush(): void {
    this.timer = undefined;
    const { all, ids } = this.pending;
    this.pending = { all: false, ids: new Set() };
    if (all) {
      this.emitter.fire(undefined);
      return;
    }
    const nodes = [...ids].map((id) => this.nodes.get(id)).filter((n): n is RunsNode => n !== undefined);
    if (nodes.length > 0) this.emitter.fire(nodes);
  }
}

/** Groups and sessions are created expanded (getTreeItem), runs and calls collapsed; steps and notes have no children. */
function expandedWhenCreated(node: RunsNode): boolean {
  return node.type === "group" || node.type === "session";
}

function nodeId(node: RunsNode): string {
  switch (node.type) {
    case "group":
      return `group:${node.group}`;
    case "session":
      return `session:${node.session.id}`;
    case "run":
      return `run:${node.run.id}`;
    case "call":
      return `call:${node.call.id}`;
    case "step":
      return `step:${node.call.id}:${node.step.part}`;
    case "note":
      return `note:${node.record.seq}`;
  }
}

const themeIcons = new Map<string, vscode.ThemeIcon>();

/** One ThemeIcon per codicon and color, shared by every row that shows it. */
function themeIcon(icon: { icon: string; color?: string | undefined }): vscode.ThemeIcon {
  const key = `${icon.icon} ${icon.color ?? ""}`;
  let theme = themeIcons.get(key);
  if (theme === undefined) {
    theme = new vscode.ThemeIcon(icon.icon, icon.color === undefined ? undefined : new vscode.ThemeColor(icon.color));
    themeIcons.set(key, theme);
  }
  return theme;
}

/** "13:05" today, else the date: when a session or run started, at a glance. */
function since(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toDateString() === new Date().toDateString() ? d.toTimeString().slice(0, 5) : d.toLocaleDateString();
}
