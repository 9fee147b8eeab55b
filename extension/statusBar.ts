import * as vscode from "vscode";
import { statusBarText, type SidecarHealth } from "./model/presenters";
import type { TimelineModel } from "./model/timeline";

export const STATUS_ITEM_ID = "apie.status";

/** `$(shield) Apie: Enforce · 2 pending`; a click toggles the workspace mode (command apie.toggleMode). */
export class ApieStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Left, 100);

  constructor(private readonly model: TimelineModel) {
    this.item.name = "Apie";
    this.item.command = "apie.toggleMode";
    this.render("starting");
    this.item.show();
  }

  render(health: SidecarHealth): void {
    const pending = this.model.pending().length;
    this.item.text = statusBarText(this.model.mode, pending, health);
    this.item.tooltip = new vscode.MarkdownString(
      [
        `**Apie** — workspace mode **${this.model.mode}** (click to switch)`,
        `Policy: ${this.model.policy.state}${this.model.policy.message ? ` — ${this.model.policy.message}` : ""}`,
        `Sidecar: ${health}`,
        pending > 0 ? `${pending} approval${pending === 1 ? "" : "s"} waiting` : "",
      ]
        .filter(Boolean)
        .join("\n\n"),
    );
    this.item.backgroundColor = health === "stopped" ? new vscode.ThemeColor("statusBarItem.errorBackground") : pending > 0 ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
