import * as vscode from "vscode";
import type { ApprovalView } from "../sidecar/protocol/approvals";
import { approvalNotice } from "./model/presenters";

/**
 * One notification per pending approval, open exactly as long as the approval is pending: answered here, in
 * the Approvals view or with `apie approvals`, expired or cancelled, it goes away.
 *
 * Why a progress notification: `showInformationMessage`/`showWarningMessage` return no handle and VS Code has
 * no API to close them, so an expired approval's buttons used to stay on screen. `withProgress` at
 * `ProgressLocation.Notification` closes its notification when the task's promise settles (after at least
 * 800 ms), so the task is "until this approval stops pending". A progress notification has no buttons of its
 * own, so Approve, Deny and Details are `command:` links in its message (VS Code runs a notification's command
 * links): Approve and Deny run `apie.approve` / `apie.deny` with the approval's id, the very commands of the
 * Approvals view's inline buttons (`Ctx.answer`), so it is the same act; the sidecar refuses a second
 * resolution and `Ctx.answer` says so. The message counts down (`expiresIn`, re-sent only when its text
 * changes, about once a minute and every second in the last one).
 *
 * It is cancellable because VS Code shows a toast expanded only when it has a button: without one the toast
 * is a single truncated line that hides the links. Cancel only hides the notification (nothing is resolved:
 * the approval stays in the Approvals view and the status bar's count, and expires if nobody answers), so the
 * misreading "cancel the agent's request" errs on the safe side.
 *
 * Trade-off: a progress notification is always info level, so a high or critical risk approval no longer
 * gets a warning-level toast. It starts with `⚠ HIGH RISK` instead, and its Approvals row has the warning
 * icon. A warning message that can never be closed was judged worse: once the approval expired its Approve
 * could only say "already expired", and stale prompts teach people to click without reading.
 */
export class ApprovalNotifier implements vscode.Disposable {
  /** Pending approvals with a notification on screen, and how to close each. */
  private readonly open = new Map<string, () => void>();
  /** Pending approvals whose notification the user cancelled: a later snapshot does not raise them again. */
  private readonly dismissed = new Set<string>();

  /** Raises the approval's notification (once: a snapshot after a sidecar restart lists it again). */
  opened(approval: ApprovalView): void {
    const { id } = approval;
    if (approval.status !== "pending" || this.open.has(id) || this.dismissed.has(id)) return;
    const options = { location: vscode.ProgressLocation.Notification, cancellable: true };
    void vscode.window.withProgress(options, (progress, cancelled) => {
      let message = approvalNotice(approval, Date.now());
      progress.report({ message });
      return new Promise<void>((resolve) => {
        const ticker = setInterval(() => {
          const next = approvalNotice(approval, Date.now());
          if (next !== message) progress.report({ message: (message = next) });
        }, 1000);
        const close = (): void => {
          clearInterval(ticker);
          this.open.delete(id);
          resolve();
        };
        cancelled.onCancellationRequested(() => {
          this.dismissed.add(id);
          close();
        });
        this.open.set(id, close);
      });
    });
  }

  /** The approval stopped pending (any resolution, anywhere): its notification goes away. */
  closed(approval: ApprovalView): void {
    this.dismissed.delete(approval.id);
    const close = this.open.get(approval.id);
    if (close === undefined) return;
    close();
    vscode.window.setStatusBarMessage(`Apie: approval ${approval.id} ${approval.status}${approval.resolved_by ? ` (${approval.resolved_by})` : ""}`, 5000);
  }

  /** After a snapshot: closes the notifications of approvals that ended while the sidecar was away. */
  keepOnly(pending: readonly ApprovalView[]): void {
    const ids = new Set(pending.map((a) => a.id));
    for (const id of this.dismissed) if (!ids.has(id)) this.dismissed.delete(id);
    for (const [id, close] of [...this.open]) if (!ids.has(id)) close();
  }

  dispose(): void {
    this.keepOnly([]);
  }
}
