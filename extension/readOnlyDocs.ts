import * as vscode from "vscode";

/**
 * Read-only markdown documents the extension shows (an approval's details, a boundary report), served from
 * memory under the `apie-doc` scheme. Unlike an untitled document they are never dirty: closing one asks
 * nothing, nobody is offered to save it, and the tab says what it is ("Approval apr_….md").
 */
export class ReadOnlyDocs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly scheme = "apie-doc";
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(ReadOnlyDocs.scheme, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? "";
  }

  /** Shows `content` under `title` (a file name without extension); the same title again refreshes that tab. */
  async show(title: string, content: string, options: vscode.TextDocumentShowOptions = {}): Promise<void> {
    const uri = vscode.Uri.from({ scheme: ReadOnlyDocs.scheme, path: `/${title.replace(/[\\/]/g, "_")}.md` });
    const known = this.contents.has(uri.path);
    this.contents.set(uri.path, content);
    if (known) this.changed.fire(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(document, "markdown");
    await vscode.window.showTextDocument(document, options);
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
    this.contents.clear();
  }
}
