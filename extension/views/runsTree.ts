import * as vscode from "vscode";
import type { RunView, SessionView } from "../../sidecar/protocol/runs";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { presentRecord, type Outcome } from "../model/presenters";
import type { TimelineChange, TimelineModel } from "../model/timeline";

export type RunsNode =
  | { type: "session"; session: SessionView }
  | { type: "run"; run: RunView }
  | { type: "record"; runId: string; record: StreamRecord };

export interface RunsFilter {
  agent?: string | undefined;
  outcomes?: ReadonlySet<Outcome> | undefined;
}

const REFRESH_DEBOUNCE_MS = 100;

/**
 * Runs view: sessions → runs → records in log order. A run's records are fetched when it is expanded and then
 * follow the live feed. Refreshes are debounced and name only the nodes that changed (the whole tree only
 * when the top level did), so a busy agent does not redraw the view on every record.
 */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<RunsNode | RunsNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly nodes = new Map<string, RunsNode>();
  private pending: { all: boolean; ids: Set<string> } = { all: false, ids: new Set() };
  private timer: NodeJS.Timeout | undefined;
  private filterValue: RunsFilter = {};

  constructor(
    private readonly model: TimelineModel,
    private readonly loadRun: (runId: string) => Promise<StreamRecord[] | undefined>,
  ) {}

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
    if (!this.pending.all && this.pending.ids.size === 0) return;
    this.timer ??= setTimeout(() => this.flush(), REFRESH_DEBOUNCE_MS);
  }

  refreshAll(): void {
    this.pending.all = true;
    this.timer ??= setTimeout(() => this.flush(), REFRESH_DEBOUNCE_MS);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.type) {
      case "session": {
        const s = node.session;
        const item = new vscode.TreeItem(s.input_summary ?? `session ${s.id}`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `session:${s.id}`;
        item.description = `${s.kind ?? "session"} · ${s.status}`;
        item.iconPath = new vscode.ThemeIcon("layers");
        item.contextValue = "apie.session";
        return item;
      }
      case "run": {
        const r = node.run;
        const item = new vscode.TreeItem(r.input_summary ?? r.id, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `run:${r.id}`;
        item.description = `${r.agent_key} · ${r.status} · ${r.event_count} record${r.event_count === 1 ? "" : "s"}`;
        item.tooltip = `${r.id}\nagent ${r.agent_key}${r.environment ? `\nenvironment ${r.environment}` : ""}\nstarted ${r.started_at}`;
        item.iconPath = new vscode.ThemeIcon(r.status === "running" ? "sync" : r.status === "completed" ? "pass" : "error");
        item.contextValue = "apie.run";
        return item;
      }
      case "record": {
        const p = presentRecord(node.record);
        const item = new vscode.TreeItem(p.label, vscode.TreeItemCollapsibleState.None);
        item.id = `record:${node.record.seq}`;
        item.description = p.description;
        item.tooltip = [new Date(node.record.ts).toLocaleTimeString(), ...p.details].join("\n");
        item.iconPath = new vscode.ThemeIcon(p.icon);
        item.contextValue = node.record.kind === "decision" ? "apie.decision" : "apie.record";
        item.command = { command: "apie.showRecord", title: "Show details", arguments: [node] };
        return item;
      }
    }
  }

  async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (node === undefined) {
      const sessions = [...this.model.sessions.values()].sort((a, b) => b.started_at.localeCompare(a.started_at)).map((session) => this.node({ type: "session", session }));
      const loose = this.model.runsOf(null).filter((r) => this.showsRun(r)).reverse().map((run) => this.node({ type: "run", run }));
      return [...sessions, ...loose];
    }
    if (node.type === "session") return this.model.runsOf(node.session.id).filter((r) => this.showsRun(r)).map((run) => this.node({ type: "run", run }));
    if (node.type === "run") {
      const records = this.model.recordsOf(node.run.id) ?? (await this.loadRun(node.run.id)) ?? [];
      return records.filter((r) => this.showsRecord(r)).map((record) => this.node({ type: "record", runId: node.run.id, record }));
    }
    return [];
  }

  getParent(node: RunsNode): RunsNode | undefined {
    if (node.type === "record") return this.nodes.get(`run:${node.runId}`);
    if (node.type === "run" && node.run.session_id) return this.nodes.get(`session:${node.run.session_id}`);
    return undefined;
  }

  /**
   * The tree node of a record (story links, replay), creating the nodes on its path the way the view would
   * (reveal() needs getParent to reach known elements). Undefined when a filter hides it.
   */
  async recordNode(runId: string, seq: number): Promise<RunsNode | undefined> {
    const roots = await this.getChildren();
    const run = this.model.runs.get(runId);
    if (run?.session_id) {
      const session = roots.find((n) => n.type === "session" && n.session.id === run.session_id);
      if (session) await this.getChildren(session);
    }
    const runNode = this.nodes.get(`run:${runId}`);
    if (runNode === undefined) return undefined;
    await this.getChildren(runNode);
    return this.nodes.get(`record:${seq}`);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.emitter.dispose();
  }

  private showsRun(run: RunView): boolean {
    return this.filterValue.agent === undefined || run.agent_key === this.filterValue.agent;
  }

  private showsRecord(record: StreamRecord): boolean {
    const outcomes = this.filterValue.outcomes;
    if (outcomes === undefined || outcomes.size === 0) return true;
    const outcome = presentRecord(record).outcome;
    return outcome !== undefined && outcomes.has(outcome);
  }

  /** One node object per id, so refreshes can name the element the view already holds. */
  private node(fresh: RunsNode): RunsNode {
    const id = fresh.type === "session" ? `session:${fresh.session.id}` : fresh.type === "run" ? `run:${fresh.run.id}` : `record:${fresh.record.seq}`;
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
