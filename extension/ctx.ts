import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import type { Mode } from "../sidecar/guard/types";
import type { ApprovalScope } from "../sidecar/protocol/approvals";
import { POLICY_FILE } from "../sidecar/protocol/workspaceFiles";
import { proposeAlwaysAllow } from "./alwaysAllow";
import { canApproveForSession, sessionScopeText } from "./model/approvalScope";
import { ApprovalNotifier } from "./approvalNotifier";
import { ReadOnlyDocs } from "./readOnlyDocs";
import { approvalDetails, approvalNotice, plainNotificationText, staleApprovalMessage } from "./model/approvalNotice";
import { agentLabel, expiresIn } from "./model/presenters";
import type { Places } from "./model/callLabel";
import { readSettings, writeMode } from "./config";
import { TimelineModel, type TimelineChange } from "./model/timeline";
import { SidecarClient } from "./sidecarClient";
import { ApieStatusBar } from "./statusBar";
import { ApprovalsTreeProvider } from "./views/approvalsTree";
import { BoundaryTreeProvider } from "./views/boundaryTree";
import { RunsTreeProvider } from "./views/runsTree";

const PICK_TITLE = {
  approve: "Apie: approve which pending approval? (once)",
  approveForSession: "Apie: approve which pending approval for this session? (the same command or path, until the session ends)",
  deny: "Apie: deny which pending approval?",
} as const;

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
  readonly docs = new ReadOnlyDocs();
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
    this.runs = new RunsTreeProvider(this.model, (runId) => this.loadRun(runId), () => this.places());
    this.approvals = new ApprovalsTreeProvider(this.model);
    this.boundary = new BoundaryTreeProvider(this.model);
    this.notifier = new ApprovalNotifier(
      {
        approve: (id, scope) => this.answer(id, "approved", undefined, scope),
        deny: (id) => this.deny(id),
        details: (id) => this.showApproval(id),
        alwaysAllow: (id) => this.alwaysAllow(id),
      },
      (id) => this.model.approvals.get(id),
    );
    this.runsView = vscode.window.createTreeView("apie.runs", { treeDataProvider: this.runs, showCollapseAll: true });
    this.extCleanup.push(...this.runs.watchExpansion(this.runsView));
    this.extCleanup.push(
      this.docs,
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
   * Applies an answer from a notification's button, the Approvals view's button or a pick (apie.approve /
   * apie.deny / apie.approvePending / apie.denyPending): the same act everywhere. An approval this window
   * already knows is no longer pending (answered elsewhere, expired, cancelled) is not sent: the click says so
   * and does nothing. Otherwise (also for an id this window does not know) the sidecar decides: it keeps the
   * first answer and refuses the next, said the same way.
   * `reason` (a Deny's) reaches the agent as the approval's resolution_reason. `scope` (an approval's):
   * `session` makes the sidecar grant the same command or path for the rest of the agent's session.
   */
  async answer(id: string, status: "approved" | "rejected", reason?: string, scope: ApprovalScope = "once"): Promise<void> {
    const known = this.model.approvals.get(id);
    const stale = known === undefined ? undefined : staleApprovalMessage(id, known, Date.now());
    if (stale !== undefined) {
      void vscode.window.showInformationMessage(stale);
      return;
    }
    try {
      const result = await this.client.resolveApproval(id, status, reason, status === "approved" ? scope : undefined);
      if (!result.ok && result.reason === "session_unavailable") void vscode.window.showWarningMessage(`Apie: ${result.message}`);
      else if (!result.ok) void vscode.window.showInformationMessage(staleApprovalMessage(id, result.approval, Date.now()) ?? `Apie: approval ${id} was already resolved; nothing was done.`);
      else if (scope === "session") vscode.window.setStatusBarMessage(plainNotificationText(`Apie: approved for this session: ${sessionScopeText(result.approval)}`), 8000);
    } catch (error) {
      void vscode.window.showErrorMessage(`Apie: could not answer approval ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Deny with an optional reason the agent receives (the SDK's ApieError message, the hook's deny reason).
   * Enter denies (an empty box: no reason); Escape, or the box losing focus, does NOT deny: it cancels, the
   * approval stays pending (view, status bar, Apie: Deny Pending…) and expires if nobody answers — which the
   * agent meets as a refusal too, so a cancelled box never lets anything run. Denying silently on Escape was
   * rejected: Escape means "not now" everywhere else in VS Code.
   */
  async deny(id: string, reason?: string): Promise<void> {
    const known = this.model.approvals.get(id);
    const stale = known === undefined ? undefined : staleApprovalMessage(id, known, Date.now());
    if (stale !== undefined) {
      void vscode.window.showInformationMessage(stale);
      return;
    }
    if (reason === undefined) {
      const typed = await vscode.window.showInputBox({
        title: "Apie: deny this approval",
        prompt: "Reason for the agent (optional). Enter denies; Escape cancels and leaves the approval pending.",
        placeHolder: "e.g. not in production on a Friday",
        validateInput: (v) => (v.length > 2000 ? "At most 2000 characters" : undefined),
      });
      if (typed === undefined) {
        vscode.window.setStatusBarMessage(`Apie: not denied; approval ${id} is still pending`, 5000);
        return;
      }
      reason = typed.trim();
    }
    await this.answer(id, "rejected", reason === "" ? undefined : reason);
  }

  /** Where the Runs view shows paths from: the workspace (relative), the home folder (`~/…`). */
  places(): Places {
    return { workspace: this.workspace.uri.fsPath, home: os.homedir() };
  }

  /**
   * "Always allow…": proposes a guardrail in apie.policy.json as an unsaved edit (alwaysAllow.ts). A stale
   * approval proposes nothing (the click says why); a pending one stays pending.
   */
  async alwaysAllow(id: string): Promise<void> {
    const known = this.model.approvals.get(id);
    const stale = known === undefined ? undefined : staleApprovalMessage(id, known, Date.now());
    if (known === undefined || stale !== undefined) {
      void vscode.window.showInformationMessage(stale ?? `Apie: approval ${id} no longer exists; nothing was done.`);
      return;
    }
    try {
      await proposeAlwaysAllow(known, path.join(this.workspace.uri.fsPath, POLICY_FILE));
    } catch (error) {
      void vscode.window.showErrorMessage(`Apie: could not propose a guardrail: ${(error as Error).message}`);
    }
  }

  /** Opens an approval's details (what runs, why, arguments, its answer if any) as a markdown document. */
  async showApproval(id: string): Promise<void> {
    const approval = this.model.approvals.get(id);
    if (approval === undefined) {
      void vscode.window.showInformationMessage(`Apie: approval ${id} no longer exists.`);
      return;
    }
    await this.docs.show(`Approval ${approval.id}`, approvalDetails(approval), { preview: true });
  }

  /**
   * The keyboard path (apie.approvePending / apie.denyPending): a pick of the pending approvals, who / what /
   * why. Shown even for a single approval, so a keypress never answers one unseen.
   */
  async pickPending(verb: "approve" | "deny" | "approveForSession"): Promise<void> {
    const pending = this.model.pending().filter((a) => verb !== "approveForSession" || canApproveForSession(a));
    if (pending.length === 0) {
      void vscode.window.showInformationMessage("Apie: no approval is pending.");
      return;
    }
    const now = Date.now();
    const pick = await vscode.window.showQuickPick(
      pending.map((a) => ({
        label: `$(${a.risk_level === "high" || a.risk_level === "critical" ? "warning" : "watch"}) ${a.tool.name ?? a.action.name ?? a.id}`,
        description: `${agentLabel(a.agent_key)} · ${a.risk_level ?? "?"} risk · ${expiresIn(a.expires_at, now)}`,
        detail: approvalNotice(a, now).text.replace(/^(\w+ RISK · )?Apie: /, ""),
        id: a.id,
      })),
      { title: PICK_TITLE[verb], matchOnDescription: true, matchOnDetail: true },
    );
    if (pick === undefined) return;
    await (verb === "deny" ? this.deny(pick.id) : this.answer(pick.id, "approved", undefined, verb === "approve" ? "once" : "session"));
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
    if (change.approvals) {
      this.approvals.refresh();
      void vscode.commands.executeCommand("setContext", "apie.approvalsPending", this.model.pending().length > 0);
    }
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
