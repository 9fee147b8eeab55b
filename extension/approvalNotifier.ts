import * as vscode from "vscode";
import type { ApprovalScope, ApprovalView } from "../sidecar/protocol/approvals";
import { approvalButtons, approvalNotice, type ApprovalButton } from "./model/approvalNotice";
import { approvedHow } from "./model/approvalScope";

/** What the notifier's buttons do (Ctx): the same acts as the Approvals view's buttons and the pick commands. */
export interface ApprovalActions {
  /** `session`: "Approve for Session" (a sidecar-held grant for the same command or path, this session). */
  approve(id: string, scope: ApprovalScope): Promise<void>;
  /** Asks for the optional reason first (Ctx.deny). */
  deny(id: string): Promise<void>;
  details(id: string): Promise<void>;
  /** Proposes an allow guardrail in apie.policy.json, unsaved; the approval stays pending (Ctx.alwaysAllow). */
  alwaysAllow(id: string): Promise<void>;
}

const DETAILS = "$(info) Details";
const ALWAYS_ALLOW = "$(shield) Always allow…";

/**
 * One notification per pending approval, with Approve, Approve for Session, Deny and More… (Details, Always
 * allow…) as real buttons (see APPROVAL_BUTTONS for why four): a warning message for
 * high and critical risk, an info message otherwise (approvalNotice words it: who, what, why, until when).
 *
 * The trade-off, and how it is handled: VS Code has no API to close a message notification (show*Message
 * returns only a promise of the button clicked), so a notification outlives an approval answered elsewhere,
 * expired or cancelled. Such a late click does nothing and says why ("… was already approved in the editor at
 * 14:05:09", "… expired at …"): Ctx checks the approval as this window knows it (staleApprovalMessage) before
 * acting, and the sidecar, which keeps the first answer and refuses any other, has the last word. What is
 * always current is the Approvals view and the status bar's "N pending", and a status bar message says when
 * an approval ends. (Until now a progress notification with command links stood here: closable, but it had
 * only a Cancel button, was always info level, and its links sat inside the text.)
 *
 * More… (Details, Always allow…) raises the notification again while the approval still pends: clicking any
 * button closes a message notification, and looking closer or proposing a rule should not cost the buttons.
 */
export class ApprovalNotifier implements vscode.Disposable {
  /** Approvals whose notification was raised: a snapshot after a sidecar restart lists them again. */
  private readonly shown = new Set<string>();

  constructor(
    private readonly actions: ApprovalActions,
    private readonly current: (id: string) => ApprovalView | undefined,
  ) {}

  /** Raises the approval's notification, once per approval. */
  opened(approval: ApprovalView): void {
    if (approval.status !== "pending" || this.shown.has(approval.id)) return;
    this.shown.add(approval.id);
    void this.raise(approval);
  }

  /** The approval stopped pending (any resolution, anywhere): said in the status bar for 5 s. */
  closed(approval: ApprovalView): void {
    vscode.window.setStatusBarMessage(`Apie: approval ${approval.id} ${approvedHow(approval)}${approval.resolved_by ? ` (${approval.resolved_by})` : ""}`, 5000);
  }

  /** After a snapshot: forgets approvals that are no longer pending. */
  keepOnly(pending: readonly ApprovalView[]): void {
    const ids = new Set(pending.map((a) => a.id));
    for (const id of this.shown) if (!ids.has(id)) this.shown.delete(id);
  }

  dispose(): void {
    this.shown.clear();
  }

  private async raise(approval: ApprovalView): Promise<void> {
    const { level, text } = approvalNotice(approval, Date.now());
    const show = level === "warning" ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const clicked = (await show<ApprovalButton>(text, ...approvalButtons(approval))) as ApprovalButton | undefined;
    // Closed with ×, or hidden and cleared from the notification center: the approval still waits in the
    // Approvals view, the status bar and the pick commands, and expires if nobody answers.
    if (clicked === undefined) return;
    if (clicked === "Approve") return this.actions.approve(approval.id, "once");
    if (clicked === "Approve for Session") return this.actions.approve(approval.id, "session");
    if (clicked === "Deny") return this.actions.deny(approval.id);
    await this.more(approval);
    if (this.current(approval.id)?.status === "pending") void this.raise(this.current(approval.id)!);
  }

  /** More…: Details, or "Always allow…" (which only proposes a rule: the approval keeps waiting for an answer). */
  private async more(approval: ApprovalView): Promise<void> {
    const pick = await vscode.window.showQuickPick(
      [
        { label: DETAILS, description: "what would run, why, the arguments" },
        { label: ALWAYS_ALLOW, description: "propose a guardrail in apie.policy.json, unsaved, for you to review and save; this approval stays pending" },
      ],
      { title: `Apie: ${approval.tool.name ?? approval.id}`, placeHolder: "Details or Always allow…" },
    );
    if (pick?.label === DETAILS) await this.actions.details(approval.id);
    else if (pick?.label === ALWAYS_ALLOW) await this.actions.alwaysAllow(approval.id);
  }
}
