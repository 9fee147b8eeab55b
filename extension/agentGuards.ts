import * as vscode from "vscode";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HOOK_HOST_INFO, type HookHost } from "../sidecar/hooks/hosts";
import { hooksStatus, installHooks, planInstall, uninstallHooks, writeLauncher, type HostHookStatus, type LauncherTarget, type Scope } from "../sidecar/hooks/install";
import { HOST_HOOK_CONFIGS, SCOPES } from "../sidecar/hooks/install/hostConfigs";

/**
 * "Apie: Guard Coding Agents…" and "Apie: Remove Agent Guards…": the editor's face of `apie hooks install |
 * uninstall` (the same module, sidecar/hooks/install: fs + jsonc-parser only), and the launcher refresh on
 * activation that keeps every installed hook pointing at this version of the extension.
 */

/** The extension's own hook adapter, run by the editor's binary as node (contract item 3). */
export function extensionLauncherTarget(extension: vscode.ExtensionContext): LauncherTarget {
  return { node: process.execPath, hookScript: extension.asAbsolutePath("dist/hook.js"), electronRunAsNode: true };
}

/**
 * Points ~/.apie/bin/apie-hook at this extension (its folder carries its version, so an update moves it).
 * Skipped when this build has no dist/hook.js, so a working launcher is never pointed at nothing.
 */
export async function refreshLauncher(extension: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<void> {
  const target = extensionLauncherTarget(extension);
  if (!existsSync(target.hookScript)) {
    log.warn(`no ${target.hookScript} in this build: the hook launcher is left as it is`);
    return;
  }
  try {
    const { path: file, changed } = await writeLauncher(target);
    if (changed) log.info(`hook launcher ${file} now runs ${target.hookScript}`);
  } catch (error) {
    log.warn(`could not refresh the hook launcher: ${(error as Error).message}`);
  }
}

const tilde = (file: string) => (file.startsWith(os.homedir() + path.sep) ? `~${file.slice(os.homedir().length)}` : file);

function where(workspace: vscode.WorkspaceFolder, file: string): string {
  const inWorkspace = path.relative(workspace.uri.fsPath, file);
  return inWorkspace.startsWith("..") || path.isAbsolute(inWorkspace) ? tilde(file) : inWorkspace;
}

const SCOPE_WORDS: Record<Scope, { label: string; why: (host: HookHost) => string }> = {
  workspace: {
    label: "This workspace",
    why: (host) => (host === "claude-code" ? "personal file, not committed" : "inside the repository: it travels with it (where Apie is missing the hook gives no opinion)"),
  },
  user: { label: "My user settings", why: () => "every workspace you open with this agent" },
};

type HostItem = vscode.QuickPickItem & { hosts: HookHost[] };
type ScopeItem = vscode.QuickPickItem & { scope: Scope | undefined };

export async function guardCodingAgents(extension: vscode.ExtensionContext, workspace: vscode.WorkspaceFolder): Promise<void> {
  const status = await hooksStatus({ workspace: workspace.uri.fsPath });
  const found = status.hosts.filter((h) => h.detected.length > 0);
  const ordered = [...found, ...status.hosts.filter((h) => h.detected.length === 0)];
  const items: HostItem[] = ordered.map((h) => ({
    label: h.displayName,
    description: h.installed ? `guarded (${installedScopes(h)})` : h.detected.length > 0 ? "found on this machine" : "not found on this machine",
    detail: h.detected.length > 0 ? h.detected.join(", ") : undefined,
    hosts: [h.host],
  }));
  if (found.length > 1) items.unshift({ label: `All agents found on this machine (${found.length})`, description: found.map((h) => h.displayName).join(", "), hosts: found.map((h) => h.host) });
  const picked = await vscode.window.showQuickPick(items, { title: "Apie: guard which coding agent? Its tool calls will be decided by this workspace's policy", matchOnDescription: true });
  if (picked === undefined) return;

  const scopeItems: ScopeItem[] = [
    ...(picked.hosts.length > 1 ? [{ label: "Recommended for each", scope: undefined, detail: picked.hosts.map((h) => `${HOOK_HOST_INFO[h].displayName}: ${where(workspace, planInstall(h, undefined, { workspace: workspace.uri.fsPath }).file)}`).join(" · ") }] : []),
    ...SCOPES.map((scope) => ({
      label: SCOPE_WORDS[scope].label,
      description: picked.hosts.length === 1 && HOST_HOOK_CONFIGS[picked.hosts[0]!].defaultScope === scope ? "recommended" : undefined,
      detail: picked.hosts.map((h) => `${picked.hosts.length > 1 ? `${HOOK_HOST_INFO[h].displayName}: ` : ""}${where(workspace, planInstall(h, scope, { workspace: workspace.uri.fsPath }).file)} (${SCOPE_WORDS[scope].why(h)})`).join(" · "),
      scope,
    })),
  ];
  const scope = await vscode.window.showQuickPick(scopeItems, { title: `Apie: write ${picked.label}'s pre- and post-tool-use hooks where?` });
  if (scope === undefined) return;

  const target = extensionLauncherTarget(extension);
  const done: string[] = [];
  const next: string[] = [];
  for (const host of picked.hosts) {
    try {
      const result = await installHooks({ host, scope: scope.scope, workspace: workspace.uri.fsPath, launcher: existsSync(target.hookScript) ? target : undefined });
      const shared = HOST_HOOK_CONFIGS[host].sharedWith;
      done.push(`${HOOK_HOST_INFO[host].displayName} → ${where(workspace, result.file)}${shared ? ` (shared with ${HOOK_HOST_INFO[shared].displayName})` : ""}${result.changed ? "" : " (already there)"}`);
      next.push(...result.needs.map((n) => `${HOOK_HOST_INFO[host].displayName}: ${n}`));
    } catch (error) {
      void vscode.window.showErrorMessage(`Apie: could not guard ${HOOK_HOST_INFO[host].displayName}: ${(error as Error).message}`);
    }
  }
  if (done.length === 0) return;
  void vscode.window.showInformationMessage(`Apie: guarded ${done.join(", ")}.${next.length > 0 ? ` Next: ${next.join("; ")}.` : ""}`);
}

export async function removeAgentGuards(workspace: vscode.WorkspaceFolder): Promise<void> {
  const status = await hooksStatus({ workspace: workspace.uri.fsPath });
  const installed = status.hosts.filter((h) => h.installed);
  if (installed.length === 0) {
    void vscode.window.showInformationMessage("Apie: no coding agent has Apie's hooks (in this workspace or your user settings).");
    return;
  }
  const picked = await vscode.window.showQuickPick(
    installed.map((h) => ({ label: h.displayName, description: installedScopes(h), detail: h.scopes.filter((s) => s.pre || s.post).map((s) => where(workspace, s.file)).join(" · "), status: h })),
    { title: "Apie: remove Apie's hooks from which coding agent? (its other hooks stay)", canPickMany: true },
  );
  if (picked === undefined || picked.length === 0) return;
  const removed: string[] = [];
  for (const { status: h } of picked) {
    for (const s of h.scopes.filter((s) => s.pre || s.post)) {
      try {
        const r = await uninstallHooks({ host: h.host, scope: s.scope, workspace: workspace.uri.fsPath });
        removed.push(`${h.displayName} from ${where(workspace, r.file)}${r.deleted ? " (file deleted)" : ""}`);
      } catch (error) {
        void vscode.window.showErrorMessage(`Apie: could not remove ${h.displayName}'s hooks from ${s.file}: ${(error as Error).message}`);
      }
    }
  }
  if (removed.length > 0) void vscode.window.showInformationMessage(`Apie: removed the hooks of ${removed.join(", ")}.`);
}

function installedScopes(h: HostHookStatus): string {
  return h.scopes
    .filter((s) => s.pre || s.post)
    .map((s) => s.scope)
    .join(" + ");
}
