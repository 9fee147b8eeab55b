import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import type { CallDetails } from "../model/callDetails";
import { renderCallDetails } from "./callDetailsHtml";

/**
 * The details of one tool call (model/callDetails.ts) in a webview beside the editor: the request and its
 * redacted arguments, the guardrails that matched (each a link that opens its line in apie.policy.json), the
 * decisions, the approval's history, the outcome and the timings. One panel, reused: selecting another call
 * shows that one. Its title is the call and its state ("deploy.release · production — approved").
 * Every text is escaped; scripts run only with the panel's nonce, and its messages are checked before use.
 */
export class CallPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly openGuardrail: (key: string) => Promise<void>) {}

  show(details: CallDetails): void {
    if (this.panel === undefined) {
      this.panel = vscode.window.createWebviewPanel("apie.call", "Apie call", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, retainContextWhenHidden: false });
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.webview.onDidReceiveMessage((message: unknown) => {
        const m = message as { type?: unknown; key?: unknown } | null;
        if (m?.type === "guardrail" && typeof m.key === "string") void this.openGuardrail(m.key);
      });
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.panel.title = `${details.title} — ${details.stateLabel}`;
    this.panel.webview.html = renderCallDetails(details, this.panel.webview.cspSource, randomBytes(16).toString("base64"));
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
