/**
 * vscode-languageclient, bundled on its own (dist/languageClient.js) and required by SidecarClient.start()
 * after activation: the largest library of the extension is then neither parsed nor run while VS Code waits
 * for activate().
 */
export { CloseAction, ErrorAction, LanguageClient, State, TransportKind } from "vscode-languageclient/node";
