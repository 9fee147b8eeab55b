import * as vscode from "vscode";
import type { Mode } from "../sidecar/guard/types";
import { ApprovalNotifier } from "./approvalNotifier";
import { readSettings, writeMode } from "./config";
import { TimelineModel, type TimelineChange } from "./model/timeline";
import { SidecarClient } from "./sidecarClient";
import { ApieStatusBar } from "./statusBar";
import { ApprovalsTreeProvider } from "./views/approvalsTree";
import { BoundaryTreeProvider } from "./views/boundaryTree";
import { RunsTreeProvider } from "./views/runsTree";

/**
 * Everything the extension holds while it is active. The sidecar session's listeners live in
 * `clientCleanup` and die with one session (a restart disposes only them), the rest lives as long as the
 * extension (rust-analyzer's two lifetimes).
 */
export class Ctx implements vscode.Disposable {
  readonly model = new TimelineModel();
  readonly log = vscode.window.createOutputChannel("Apie", { log: true });
  readonly client: SidecarClient;
  readonly statusBar: ApieStatusBar;
  readonly runs: RunsTreeProvider;
  readonly approvals: ApprovalsTreeProvider;
  readonly boundary: BoundaryTreeProvider;
  readonly notifier: ApprovalNotifier;
  readonly runsView: vscode.TreeView<import("./views/runsTree").RunsNode>;
  /** Where agents reach the sidecar (from the last snapshot); undefined while it is down. */
  connection: { baseUrl: string; apiKey: string } | undefined;
  private readonly extCleanup: vscode.Disposable[] = [];
  private boundaryTimer: NodeJS.Timeout | undefined;
  /** Last value told to the `apie.hasRuns` context key (the Runs view's welcome); set only on change. */
  private hasRuns: boolean | undefined;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly workspace: vscode.WorkspaceFolder,
  ) {
    this.client = new SidecarClient(extension.asAbsolutePath("dist/sidecar.js"), () => this.initOptions(), this.log);
    this.statusBar = new ApieStatusBar(this.model);
    this.runs = new RunsTreeProvider(this.model, (runId) => this.loadRun(runId));
    this.approvals = new ApprovalsTreeProvider(this.model);
    this.boundary = new BoundaryTreeProvider(this.model);
    this.notifier = new ApprovalNotifier();
    this.runsView = vscode.window.createTreeView("apie.runs", { treeDataProvider: this.runs, showCollapseAll: true });
    this.extCleanup.push(
      this.log,
      this.client,
      this.statusBar,
      this.runs,
      this.approvals,
      this.boundary,
      this.notifier,
      this.runsView,
      vscode.window.registerTreeDataProvider("apie.approvals", this.approvals),
      vscode.window.registerTreeDataProvider("apie.boundary", this.boundary),
      this.client.onSnapshot((snapshot) => {
        this.apply(this.model.applySnapshot(snapshot));
        this.notifier.keepOnly(this.model.pending());
        this.connection = { baseUrl: snapshot.baseUrl, apiKey: snapshot.apiKey };
        this.injectTerminalEnv(snapshot.baseUrl, snapshot.apiKey);
      }),
      this.client.onRecords((records) => {
        this.apply(this.model.applyRecords(records));
        if (records.some((r) => r.kind === "decision" || r.kind === "capabilities.declared")) this.scheduleBoundaryRefresh();
      }),
      this.client.onStatus((status) => this.apply(this.model.setStatus(status.mode, status.policy))),
      this.client.onHealth((health) => {
        this.statusBar.render(health);
        if (health !== "running") {
          this.connection = undefined;
          extension.environmentVariableCollection.clear();
        }
      }),
    );
  }

  /**
   * Applies an answer from a notification's link or the Approvals view's button (both run apie.approve /
   * apie.deny): the same act either way. The sidecar keeps the first answer and refuses the next.
   */
  async answer(id: string, status: "approved" | "rejected"): Promise<void> {
    try {
      const result = await this.client.resolveApproval(id, status);
      if (!result.ok) {
        const now = result.approval;
        void vscode.window.showWarningMessage(
          result.reason === "unknown" ? `Apie: approval ${id} no longer exists.` : `Apie: approval ${id} was already ${now?.status ?? "resolved"}${now?.resolved_by ? ` by ${now.resolved_by}` : ""}.`,
        );
      }
    } catch (error) {
      void vscode.window.showErrorMessage(`Apie: could not answer approval ${id}: ${(error as Error).message}`);
    }
  }

  /** Selects a record in the Runs tree (story card links, replay steps), loading its run first. */
  async revealRecord(runId: string, seq: number): Promise<void> {
    if (this.model.recordsOf(runId) === undefined) await this.loadRun(runId);
    const node = await this.runs.recordNode(runId, seq);
    if (node !== undefined) await this.runsView.reveal(node, { select: true, focus: false, expand: true });
  }

  async setMode(mode: Mode): Promise<void> {
    await writeMode(mode);
    await this.client.setMode(mode);
  }

  dispose(): void {
    clearTimeout(this.boundaryTimer);
    for (const d of this.extCleanup.splice(0).reverse()) d.dispose();
  }

  private initOptions() {
    const settings = readSettings(this.workspace);
    return {
      workspace: this.workspace.uri.fsPath,
      ...(settings.stateDir ? { stateDir: settings.stateDir } : {}),
      ...(settings.mode ? { mode: settings.mode } : {}),
      port: settings.port,
    };
  }

  private apply(change: TimelineChange): void {
    this.runs.changed(change);
    if (change.approvals) this.approvals.refresh();
    for (const approval of change.opened) this.notifier.opened(approval);
    for (const approval of change.closed) this.notifier.closed(approval);
    if (change.roots && change.status) this.boundary.refresh();
    if (change.approvals || change.status) this.statusBar.render(this.client.health);
    const hasRuns = this.model.runs.size > 0 || this.model.sessions.size > 0;
    if (hasRuns !== this.hasRuns) {
      this.hasRuns = hasRuns;
      void vscode.commands.executeCommand("setContext", "apie.hasRuns", hasRuns);
    }
  }

  private async loadRun(runId: string) {
    try {
      const loaded = await this.client.getRun(runId);
      if (loaded === null) return undefined;
      this.model.setRunRecords(runId, loaded.records);
      return loaded.records;
    } catch (error) {
      this.log.warn(`loading run ${runId}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Observed tools change with every decision; the Boundary view re-reads them at most every 2 s. */
  private scheduleBoundaryRefresh(): void {
    this.boundaryTimer ??= setTimeout(async () => {
      this.boundaryTimer = undefined;
      try {
        this.model.agents = (await this.client.snapshot()).agents;
        this.boundary.refresh();
      } catch {
        // The sidecar is restarting; its next snapshot brings the boundary along.
      }
    }, 2000);
  }

  /** Terminals opened in this window report to this sidecar with no setup. */
  private injectTerminalEnv(baseUrl: string, apiKey: string): void {
    const env = this.extension.environmentVariableCollection;
    env.persistent = false;
    env.description = "Apie: APIE_BASE_URL and APIE_API_KEY point agents started here at this window's sidecar";
    env.replace("APIE_BASE_URL", baseUrl);
    env.replace("APIE_API_KEY", apiKey);
  }
}
