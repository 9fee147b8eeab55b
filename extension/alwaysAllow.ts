import { modify, parse, type FormattingOptions } from "jsonc-parser";
import * as vscode from "vscode";
import type { ApprovalView } from "../sidecar/protocol/approvals";
import { alwaysAllowGuardrail } from "./model/approvalScope";
import { plainNotificationText } from "./model/approvalNotice";

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };
const NEW_POLICY = `{\n  "version": 1\n}\n`;

/**
 * "Always allow…" (issue 13): inserts the proposed guardrail (model/approvalScope.ts) into apie.policy.json as
 * an UNSAVED, undoable edit of the open document — jsonc-parser `modify`, so comments and formatting of the rest stay —
 * and selects it. Nothing changes until the human saves: the sidecar reads the file on disk (with Auto Save on,
 * the human confirms in a modal first, since the edit would be saved at once). A missing policy
 * file opens as an untitled document at its path (saving creates it). The approval it came from is not
 * answered: it stays pending until the human answers it, as the message says.
 */
export async function proposeAlwaysAllow(approval: ApprovalView, policyFile: string): Promise<void> {
  const onDisk = vscode.Uri.file(policyFile);
  const exists = await vscode.workspace.fs.stat(onDisk).then(
    () => true,
    () => false,
  );
  const doc = await vscode.workspace.openTextDocument(exists ? onDisk : onDisk.with({ scheme: "untitled" }));
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  if (doc.getText().trim() === "") await editor.edit((b) => b.insert(new vscode.Position(0, 0), NEW_POLICY));

  const text = doc.getText();
  const existing = (parse(text) as { guardrails?: unknown } | undefined)?.guardrails;
  const list = Array.isArray(existing) ? (existing as { key?: unknown }[]) : undefined;
  const keys = (list ?? []).map((g) => g?.key).filter((k): k is string => typeof k === "string");
  const { guardrail, summary } = alwaysAllowGuardrail(approval, keys);
  // With Auto Save on (code-server's and vscode.dev's default: afterDelay) an inserted edit is saved, and so
  // applied, within a second: then the human agrees first, in a modal that says what the rule does.
  const autoSave = vscode.workspace.getConfiguration("files", doc.uri).get<string>("autoSave", "off");
  if (autoSave !== "off" && !doc.isUntitled) {
    const add = "Add Guardrail";
    const answer = await vscode.window.showWarningMessage(
      plainNotificationText(`Apie: add guardrail ${guardrail.key} to apie.policy.json? It ${summary}.`),
      { modal: true, detail: `Auto Save is on (files.autoSave: ${autoSave}), so it is saved, and applied, as soon as it is added. Approval ${approval.id} stays pending either way.` },
      add,
    );
    if (answer !== add) return;
  }
  const edits =
    list === undefined
      ? modify(text, ["guardrails"], [guardrail], { formattingOptions: FORMAT })
      : modify(text, ["guardrails", list.length], guardrail, { formattingOptions: FORMAT, isArrayInsertion: true });
  // The editor's own edit, not workspace.applyEdit: VS Code saves the files a WorkspaceEdit touches when
  // `files.refactoring.autoSave` is on (its default) — seen in code-server — and this edit must stay unsaved.
  const applied = await editor.edit((b) => {
    for (const e of edits) b.replace(new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
  });
  if (!applied) {
    void vscode.window.showErrorMessage("Apie: could not edit apie.policy.json (is it read-only?); nothing was changed.");
    return;
  }
  const at = doc.getText().indexOf(`"${guardrail.key}"`);
  if (at >= 0) {
    const line = doc.positionAt(at).line;
    editor.selection = new vscode.Selection(line, 0, line, doc.lineAt(line).text.length);
    editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
  void vscode.window.showInformationMessage(
    plainNotificationText(
      `Apie: proposed guardrail ${guardrail.key} in apie.policy.json (unsaved): it ${summary}. Review it and save to apply, or undo to drop it. ` +
        `Approval ${approval.id} is still pending: answer it in its notification or the Approvals view.`,
    ),
  );
}
