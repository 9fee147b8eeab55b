import * as vscode from "vscode";
import type { ApprovalView } from "../../sidecar/protocol/approvals";
import { agentLabel, approvalPrompt, resourceLabel, timeLeft } from "../model/presenters";
import type { TimelineModel } from "../model/timeline";

export type ApprovalsNode = { type: "approval"; approval: ApprovalView } | { type: "detail"; label: string; value: string };

/**
 * Approvals view: each pending approval with inline Approve / Deny, its time left, and under it exactly what
 * will run (tool, action, resource, arguments, the guardrails that asked). Time left ticks while any wait.
 */
export class ApprovalsTreeProvider implements vscode.TreeDataProvider<ApprovalsNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ApprovalsNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly model: TimelineModel) {
    this.ticker = setInterval(() => {
      if (this.model.pending().length > 0) this.refresh();
    }, 1000);
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: ApprovalsNode): vscode.TreeItem {
    if (node.type === "detail") {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value;
      item.tooltip = node.value;
      return item;
    }
    const a = node.approval;
    const item = new vscode.TreeItem(a.tool.name ?? a.action.name ?? a.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `approval:${a.id}`;
    item.description = `${agentLabel(a.agent_key)} · ${timeLeft(a.expires_at, Date.now())}`;
    item.tooltip = approvalPrompt(a);
    item.iconPath = new vscode.ThemeIcon(a.risk_level === "high" || a.risk_level === "critical" ? "warning" : "watch");
    item.contextValue = "apie.approval.pending";
    return item;
  }

  getChildren(node?: ApprovalsNode): ApprovalsNode[] {
    if (node === undefined) return this.model.pending().map((approval) => ({ type: "approval", approval }));
    if (node.type !== "approval") return [];
    const a = node.approval;
    const rows: [string, string][] = [
      ["tool", `${a.tool.name ?? "?"}${a.tool.provider ? ` (${a.tool.provider})` : ""}`],
      ["action", `${a.action.type ?? "?"}${a.action.name ? ` ${a.action.name}` : ""}`],
      ["resource", resourceLabel(a.resource) || "—"],
      ["arguments", a.arguments === null ? "—" : JSON.stringify(a.arguments)],
      ["why", a.matched_guardrails.map((g) => `${g.key}: ${g.reason}`).join("; ") || a.reason],
      ["risk", a.risk_level ?? "—"],
      ["id", a.id],
    ];
    return rows.map(([label, value]) => ({ type: "detail", label, value }));
  }

  dispose(): void {
    clearInterval(this.ticker);
    this.emitter.dispose();
  }
}
