import * as vscode from "vscode";
import path from "node:path";
import { MCP_CONFIG_FILE } from "../sidecar/protocol/workspaceFiles";

/** The subset of the `vscode.lm` MCP API (VS Code ≥ 1.101) used here; older hosts simply lack it. */
interface McpApi {
  registerMcpServerDefinitionProvider(id: string, provider: { onDidChangeMcpServerDefinitions?: vscode.Event<void>; provideMcpServerDefinitions(): Promise<unknown[]> }): vscode.Disposable;
}
type McpStdioServerDefinitionCtor = new (label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string) => unknown;

/**
 * Registers every server of the workspace's apie.mcp.json as an MCP server definition whose command is
 * `apie mcp proxy --config apie.mcp.json --server NAME`, so Copilot's agent mode reaches them through the
 * guard. In an untrusted workspace nothing from apie.mcp.json is offered (it would start processes).
 */
export function registerGuardedMcpServers(
  extension: vscode.ExtensionContext,
  workspace: vscode.WorkspaceFolder,
  connection: () => { baseUrl: string; apiKey: string } | undefined,
  log: vscode.LogOutputChannel,
): vscode.Disposable | undefined {
  const lm = (vscode as unknown as { lm?: Partial<McpApi> }).lm;
  const Definition = (vscode as unknown as { McpStdioServerDefinition?: McpStdioServerDefinitionCtor }).McpStdioServerDefinition;
  if (lm?.registerMcpServerDefinitionProvider === undefined || Definition === undefined) return undefined;
  const changed = new vscode.EventEmitter<void>();
  const file = path.join(workspace.uri.fsPath, MCP_CONFIG_FILE);
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(workspace, MCP_CONFIG_FILE));
  const disposables: vscode.Disposable[] = [
    changed,
    watcher,
    watcher.onDidChange(() => changed.fire()),
    watcher.onDidCreate(() => changed.fire()),
    watcher.onDidDelete(() => changed.fire()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => changed.fire()),
    lm.registerMcpServerDefinitionProvider("apie.guardedServers", {
      onDidChangeMcpServerDefinitions: changed.event,
      async provideMcpServerDefinitions() {
        if (!vscode.workspace.isTrusted) return [];
        // Loaded on first use: the loader brings zod and the schemas, which activation does not need.
        const { loadMcpConfigFile } = require("./mcpConfig.js") as typeof import("./mcpConfig");
        const loaded = await loadMcpConfigFile(file).catch(() => undefined);
        if (loaded === undefined || !loaded.ok) return [];
        const sidecar = connection();
        const cli = extension.asAbsolutePath("dist/cli.js");
        return loaded.servers.map((server) => {
          const env: Record<string, string> = { ELECTRON_RUN_AS_NODE: "1", ...(sidecar ? { APIE_BASE_URL: sidecar.baseUrl, APIE_API_KEY: sidecar.apiKey } : {}) };
          log.info(`offering MCP server "${server.serverName}" through apie mcp proxy`);
          return new Definition(`${server.serverName} (guarded by Apie)`, process.execPath, [cli, "mcp", "proxy", "--config", file, "--server", server.serverName], env);
        });
      },
    }),
  ];
  return vscode.Disposable.from(...disposables);
}
