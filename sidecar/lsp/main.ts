import {
  createConnection,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
  type InitializeError,
  type InitializeResult,
} from "vscode-languageserver/node";
import { registerEditorRequests, startLiveFeed } from "./editorChannel";
import { sidecarOptionsFrom } from "./initOptions";
import { LANGUAGE_CAPABILITIES, registerLanguageFeatures } from "./languageFeatures";
import { SidecarSession } from "./session";

/**
 * dist/sidecar.js: the sidecar as a language server, started by the extension through vscode-languageclient
 * (`--node-ipc`; `--stdio` works too). One connection carries LSP for apie.policy.json / apie.mcp.json and
 * the editor's private channel (protocol/lsp.ts); agents reach the same sidecar over HTTP.
 *
 * Lifecycle: `initialize` starts the sidecar (its options come from `initializationOptions`); `shutdown`
 * closes it (event log flushed, discovery file removed); `exit` ends the process. A client that goes away
 * without that (IPC channel closed, its process gone, stdin closed) ends the process too, so no orphan keeps
 * the port. Logs go to the client (window/logMessage), never to stdout.
 */

/** How long a lost client's sidecar gets to flush before the process exits anyway. */
const CLOSE_DEADLINE_MS = 5000;

const connection = createConnection(ProposedFeatures.all);
const session = new SidecarSession();
const log = (line: string) => connection.console.log(line);
let stopFeed: (() => void) | undefined;
let shutdownRequested = false;

connection.onInitialize(async (params): Promise<InitializeResult> => {
  const options = sidecarOptionsFrom(params.initializationOptions, log);
  let sidecar;
  try {
    sidecar = await session.start(options);
  } catch (error) {
    throw new ResponseError<InitializeError>(ErrorCodes.InternalError, `the Apie sidecar could not start: ${(error as Error).message}`, { retry: false });
  }
  registerEditorRequests(connection, sidecar);
  log(`listening on ${sidecar.discovery.baseUrl} (workspace ${options.workspace}, state ${options.stateDir})`);
  return {
    capabilities: LANGUAGE_CAPABILITIES,
    serverInfo: { name: "apie-sidecar" },
  };
});

connection.onInitialized(() => {
  const sidecar = session.current;
  if (sidecar !== undefined) stopFeed = startLiveFeed(connection, sidecar);
});

connection.onShutdown(async () => {
  shutdownRequested = true;
  stopFeed?.();
  await session.close();
});

// The library exits right after this handler; a client that skipped `shutdown` leaves no discovery file.
connection.onExit(() => session.abandon());
process.on("exit", () => session.abandon());

// Node IPC: the channel closes when the extension host stops or crashes (vscode-languageclient's
// TransportKind.ipc). The library only notices a closed stdin, so this end is ours.
// A signal (Ctrl+C on the editor's terminal reaches its whole process group, or `kill`) gets the same
// orderly close: log flushed, discovery file removed, then exit.
function closeAndExit(code: () => number): void {
  stopFeed?.();
  setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
  void session.close().finally(() => process.exit(code()));
}
process.on("disconnect", () => closeAndExit(() => (shutdownRequested ? 0 : 1)));
process.once("SIGTERM", () => closeAndExit(() => 0));
process.once("SIGINT", () => closeAndExit(() => 0));

registerLanguageFeatures(connection);
connection.listen();
