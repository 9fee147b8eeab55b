import * as vscode from "vscode";
import type { Mode } from "../sidecar/guard/types";

/**
 * Typed access to the `apie.*` settings. `SIDECAR_RESTART_SETTINGS` lists the ones a running sidecar cannot
 * pick up: changing them restarts it (the mode is sent live instead).
 */
export const SECTION = "apie";
export const SIDECAR_RESTART_SETTINGS = ["apie.sidecar.port", "apie.sidecar.stateDir"] as const;

export interface ApieSettings {
  /** The workspace mode the status bar switches; undefined = the policy's own `mode`. */
  mode: Mode | undefined;
  port: number;
  /** Empty = `<workspace>/.apie`. */
  stateDir: string | undefined;
}

export function readSettings(scope?: vscode.ConfigurationScope): ApieSettings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const mode = c.get<string>("mode");
  const port = c.get<number>("sidecar.port", 0);
  const stateDir = c.get<string>("sidecar.stateDir", "").trim();
  return {
    mode: mode === "monitor" || mode === "enforce" ? mode : undefined,
    port: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0,
    stateDir: stateDir === "" ? undefined : stateDir,
  };
}

export async function writeMode(mode: Mode): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update("mode", mode, vscode.ConfigurationTarget.Workspace);
}
