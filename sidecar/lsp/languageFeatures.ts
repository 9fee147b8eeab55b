import {
  CodeActionKind,
  MarkupKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CodeAction,
  type ServerCapabilities,
  type Connection,
  type Disposable,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { quickFixesFor } from "./codeActions";
import { configFileOf } from "./configFiles";
import { DIAGNOSTIC_SOURCE, problemsOf, toDiagnostic } from "./diagnostics";
import { hoverAt } from "./hovers";
import { rangeOf, spanOf } from "./ranges";

/** What the server declares in `initialize` for the config files. */
export const LANGUAGE_CAPABILITIES: ServerCapabilities = {
  textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
  hoverProvider: true,
  codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
};

type FeatureConnection = Pick<Connection, "sendDiagnostics" | "onHover" | "onCodeAction" | "console"> & Parameters<TextDocuments<TextDocument>["listen"]>[0];

/**
 * Diagnostics, hovers and quick fixes for apie.policy.json and apie.mcp.json (matched by file name; other
 * documents are ignored). Diagnostics follow every open and edit (incremental sync) and are cleared when the
 * document closes; a result computed for an older version of the text is dropped.
 */
export function registerLanguageFeatures(connection: FeatureConnection): Disposable {
  const documents = new TextDocuments(TextDocument);

  const validate = async (document: TextDocument): Promise<void> => {
    const config = configFileOf(document.uri);
    if (config === undefined) return;
    const version = document.version;
    let problems;
    try {
      problems = await problemsOf(config, document.getText());
    } catch (error) {
      connection.console.error(`checking ${config.file} failed: ${(error as Error).stack ?? String(error)}`);
      return;
    }
    const current = documents.get(document.uri);
    if (current === undefined || current.version !== version) return;
    await connection.sendDiagnostics({ uri: document.uri, version, diagnostics: problems.map((p) => toDiagnostic(document, p)) });
  };

  documents.onDidChangeContent((e) => void validate(e.document));
  documents.onDidClose((e) => {
    if (configFileOf(e.document.uri) !== undefined) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) => {
    const document = documents.get(textDocument.uri);
    const config = configFileOf(textDocument.uri);
    if (document === undefined || config === undefined) return null;
    const hover = hoverAt(config.kind, document.getText(), document.offsetAt(position));
    if (hover === undefined) return null;
    return { contents: { kind: MarkupKind.Markdown, value: hover.markdown }, range: rangeOf(document, hover.offset, hover.length) };
  });

  connection.onCodeAction(({ textDocument, context }) => {
    const document = documents.get(textDocument.uri);
    if (document === undefined || configFileOf(textDocument.uri) === undefined) return [];
    const text = document.getText();
    const actions: CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
      const message = typeof diagnostic.message === "string" ? diagnostic.message : diagnostic.message.value;
      for (const fix of quickFixesFor(text, { ...spanOf(document, diagnostic.range), message })) {
        actions.push({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: true,
          edit: { changes: { [textDocument.uri]: fix.changes.map((c) => ({ range: rangeOf(document, c.offset, c.length), newText: c.newText })) } },
        });
      }
    }
    return actions;
  });

  return documents.listen(connection);
}
