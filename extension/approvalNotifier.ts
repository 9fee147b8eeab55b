import * as vscode from "vscode";
import type { ApprovalView } from "../sidecar/protocol/approvals";
import { approvalPrompt, isHighRisk } from "./model/presenters";

export type ApprovalAnswer = (approval: ApprovalView, status: "approved" | "rejected") => Promise<void>;

/**
 * One notification per new pending approval: Approve, Deny, Details (warning level for high/critical
 * risk). The answer goes through `answer` — the same act as the Approvals view's buttons. VS Code offers no
 * way to close a notification from code, so an approval answered elsewhere or expired makes its buttons do
 * nothing but say so, and a status-bar message announces the outcome.
 */
export class ApprovalNotifier {
  private readonly shown = new Set<string>();
  private readonly closed = new Map<string, ApprovalView>();

  constructor(
    private readonly answer: ApprovalAnswer,
    private readonly reveal: (approval: ApprovalView) => void,
  ) {}

  opened(approval: ApprovalView): void {
    if (this.shown.has(approval.id)) return;
    this.shown.add(approval.id);
    const show = isHighRisk(approval) ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`Apie: ${approvalPrompt(approval)}`, "Approve", "Deny", "Details").then(async (choice) => {
      if (choice === undefined) return;
      if (choice === "Details") {
        this.reveal(approval);
        return;
      }
      const done = this.closed.get(approval.id);
      if (done !== undefined) {
        void vscode.window.showInformationMessage(`Apie: approval ${approval.id} is already ${done.status}${done.resolved_by ? ` (${done.resolved_by})` : ""}.`);
        return;
      }
      await this.answer(approval, choice === "Approve" ? "approved" : "rejected");
    });
  }

  closedElsewhere(approval: ApprovalView): void {
    this.closed.set(approval.id, approval);
    if (this.shown.has(approval.id)) vscode.window.setStatusBarMessage(`Apie: approval ${approval.id} ${approval.status}`, 5000);
  }
}
