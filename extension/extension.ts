import * as vscode from "vscode";
import { SIDECAR_RESTART_SETTINGS } from "./config";
import { createCommands } from "./commands";
import { Ctx } from "./ctx";
import { registerGuardedMcpServers } from "./mcpServers";
import { refreshLauncher } from "./agentGuards";

let ctx: Ctx | undefined;

/**
 * Composition root: build, register, start the sidecar in the background, return. Activation never waits
 * for the sidecar (the status bar says "starting" until its snapshot arrives).
 */
export function activate(extension: vscode.ExtensionContext): void {
  const started = performance.now();
  const stamps = globalThis as { __apieBundleLoadStart?: number; __apieBundleLoadEnd?: number };
  const loadMs = (stamps.__apieBundleLoadEnd ?? started) - (stamps.__apieBundleLoadStart ?? started);
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder === undefined) {
    extension.subscriptions.push(vscode.commands.registerCommand("apie.restartSidecar", () => vscode.window.showWarningMessage("Apie needs an open folder (its apie.policy.json governs the agents).")));
    return;
  }
  try {
    ctx = new Ctx(extension, folder);
    let timing = { loadMs: 0, activateMs: 0 };
    for (const [id, run] of Object.entries(createCommands(ctx, () => timing))) {
      extension.subscriptions.push(vscode.commands.registerCommand(id, run as (...args: unknown[]) => unknown));
    }
    extension.subscriptions.push(
      ctx,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (SIDECAR_RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) void ctx?.client.start();
      }),
    );
    const current = ctx;
    const mcp = registerGuardedMcpServers(extension, folder, () => current.connection, current.log);
    if (mcp !== undefined) extension.subscriptions.push(mcp);
    void ctx.client.start();
    // Installed hooks run ~/.apie/bin/apie-hook: point it at this version of the extension.
    void refreshLauncher(extension, ctx.log);
    timing = { loadMs, activateMs: performance.now() - started };
    ctx.log.info(`activated in ${timing.activateMs.toFixed(1)} ms (+ ${timing.loadMs.toFixed(1)} ms evaluating the bundle)`);
  } catch (error) {
    // VS Code shows nothing when activate throws; say it ourselves.
    void vscode.window.showErrorMessage(`Apie failed to activate: ${(error as Error).message}`);
    throw error;
  }
}

export function deactivate(): Promise<void> | undefined {
  const stopping = ctx?.client.stop();
  ctx = undefined;
  return stopping;
}
