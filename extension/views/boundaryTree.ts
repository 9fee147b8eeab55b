import * as vscode from "vscode";
import type { AgentBoundary } from "../../sidecar/protocol/lsp";
import { agentLabel } from "../model/presenters";
import type { TimelineModel } from "../model/timeline";

export type BoundaryNode = { type: "agent"; agent: AgentBoundary } | { type: "tool"; agent: AgentBoundary; name: string };

/** Boundary view: per agent, declared capabilities against observed tools; drift (used, never declared) highlighted. */
export class BoundaryTreeProvider implements vscode.TreeDataProvider<BoundaryNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<BoundaryNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly model: TimelineModel) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: BoundaryNode): vscode.TreeItem {
    if (node.type === "agent") {
      const a = node.agent;
      const drift = a.declared.length > 0 ? a.observed.filter((o) => !o.declared).length : 0;
      const item = new vscode.TreeItem(agentLabel(a.key, a.name), vscode.TreeItemCollapsibleState.Expanded);
      item.id = `agent:${a.key}`;
      item.description = `${a.declared.length} declared · ${a.observed.length} observed${drift ? ` · ${drift} undeclared` : ""}`;
      item.iconPath = new vscode.ThemeIcon(drift ? "warning" : "hubot", drift ? new vscode.ThemeColor("list.warningForeground") : undefined);
      return item;
    }
    const { agent, name } = node;
    const observed = agent.observed.find((o) => o.name === name);
    const declared = agent.declared.some((c) => c.tool.name === name) || observed?.declared === true;
    const drift = observed !== undefined && agent.declared.length > 0 && !observed.declared;
    const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
    item.id = `tool:${agent.key}:${name}`;
    item.description = observed
      ? `${observed.calls} call${observed.calls === 1 ? "" : "s"}${observed.decisions.block ? ` · ${observed.decisions.block} blocked` : ""}${observed.wouldBlock ? ` · ${observed.wouldBlock} would block` : ""}${drift ? " · undeclared" : ""}`
      : "declared, not used";
    item.iconPath = drift
      ? new vscode.ThemeIcon("warning", new vscode.ThemeColor("list.warningForeground"))
      : new vscode.ThemeIcon(declared ? (observed ? "pass" : "circle-outline") : "question");
    return item;
  }

  getChildren(node?: BoundaryNode): BoundaryNode[] {
    if (node === undefined) return this.model.agents.map((agent) => ({ type: "agent", agent }));
    if (node.type !== "agent") return [];
    const names = new Set([...node.agent.declared.map((c) => c.tool.name), ...node.agent.observed.map((o) => o.name)]);
    return [...names].sort().map((name) => ({ type: "tool", agent: node.agent, name }));
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
