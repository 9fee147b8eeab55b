import os from "node:os";
import path from "node:path";
import { HOOK_HOST_INFO, type HookHost } from "../hosts";
import { installHookEntries, removeHookEntries } from "./configEdit";
import { deleteCreated, readTextIfExists, rememberCreated, wasCreatedByUs, writeTextAtomic } from "./configFile";
import { DEFAULT_HOOK_TIMEOUT_SECONDS, hookCommand } from "./hookCommand";
import { HOOK_EVENT_KINDS, HOST_HOOK_CONFIGS, type HookEvent, type Scope } from "./hostConfigs";
import { writeLauncher, type LauncherTarget } from "./launcher";

/**
 * `apie hooks install | uninstall` and the editor's "Guard Coding Agents…" / "Remove Agent Guards…": one
 * host's hook file, edited in place (configEdit), plus the launcher it runs. Pure fs + jsonc-parser, so the
 * extension bundles it without the rest of the sidecar.
 */

export interface HookLocation {
  host: HookHost;
  scope: Scope;
  /** Absolute path of the host's hook file for that scope. */
  file: string;
}

export interface Where {
  /** The workspace folder (workspace scope's files are relative to it). */
  workspace: string;
  /** The home directory (default os.homedir(), i.e. $HOME): user files and the launcher live under it. */
  home?: string;
}

export function hookLocation(host: HookHost, scope: Scope | undefined, where: Where): HookLocation {
  const config = HOST_HOOK_CONFIGS[host];
  const s = scope ?? config.defaultScope;
  const base = s === "user" ? (where.home ?? os.homedir()) : where.workspace;
  return { host, scope: s, file: path.join(base, config.files[s]) };
}

export interface InstallPlan extends HookLocation {
  timeoutSeconds: number;
  /** The host's event names written, with the command each runs. */
  entries: Array<{ event: string; kind: HookEvent; command: string }>;
  /** What the host still needs afterwards (a trust step, a setting). */
  needs: readonly string[];
}

/** What `install` would write, and where: shown by the editor's quick pick before anything is written. */
export function planInstall(host: HookHost, scope: Scope | undefined, where: Where, timeoutSeconds = DEFAULT_HOOK_TIMEOUT_SECONDS): InstallPlan {
  const location = hookLocation(host, scope, where);
  const config = HOST_HOOK_CONFIGS[host];
  const home = where.home ?? os.homedir();
  const entries = HOOK_EVENT_KINDS.flatMap((kind) => config.events[kind].map((event) => ({ event, kind, command: hookCommand(host, kind, handlerTimeout(kind, timeoutSeconds), location.scope, home) })));
  return { ...location, timeoutSeconds, entries, needs: config.needs[location.scope] };
}

/**
 * The session-end hook only tells the sidecar (one short request); a host waits for it while it exits
 * (Claude Code gives SessionEnd hooks 1.5 s by default; Codex clamps a SessionEnd hook's timeout to 3 s and
 * says so on every run), so its entry gets a short timeout, never the approval-sized one.
 */
export const END_HOOK_TIMEOUT_SECONDS = 3;

function handlerTimeout(kind: HookEvent, timeoutSeconds: number): number {
  return kind === "end" ? Math.min(END_HOOK_TIMEOUT_SECONDS, timeoutSeconds) : timeoutSeconds;
}

export interface InstallResult extends InstallPlan {
  /** The file did not exist before. */
  created: boolean;
  /** The file's text changed (false: it already held exactly these entries). */
  changed: boolean;
  /** The launcher, when `launcher` was given. */
  launcher: { path: string; changed: boolean } | undefined;
}

export interface InstallOptions extends Where {
  host: HookHost;
  scope?: Scope;
  timeoutSeconds?: number;
  /** Refresh `~/.apie/bin/apie-hook` to run this node and dist/hook.js (the CLI and the extension pass their own). */
  launcher?: LauncherTarget;
}

export async function installHooks(options: InstallOptions): Promise<InstallResult> {
  const timeout = options.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) throw new RangeError(`timeout: expected whole seconds between 1 and 86400, got ${timeout}`);
  const plan = planInstall(options.host, options.scope, options, timeout);
  const home = options.home ?? os.homedir();
  const config = HOST_HOOK_CONFIGS[options.host];
  const launcher = options.launcher === undefined ? undefined : await writeLauncher(options.launcher, home);
  const before = await readTextIfExists(plan.file);
  const after = installHookEntries(before, plan.file, config.format, options.host, config.events, (kind) => ({
    command: hookCommand(options.host, kind, handlerTimeout(kind, timeout), plan.scope, home),
    timeoutSeconds: handlerTimeout(kind, timeout),
  }));
  if (after !== before) {
    await writeTextAtomic(plan.file, after);
    if (before === undefined) await rememberCreated(home, plan.file);
  }
  return { ...plan, created: before === undefined, changed: after !== before, launcher };
}

export interface UninstallResult extends HookLocation {
  /** How many of our handlers were removed. */
  removed: number;
  /** The file was deleted: we had created it and nothing of anyone else's is left in it. */
  deleted: boolean;
  exists: boolean;
}

export async function uninstallHooks(options: Where & { host: HookHost; scope?: Scope }): Promise<UninstallResult> {
  const location = hookLocation(options.host, options.scope, options);
  const home = options.home ?? os.homedir();
  const text = await readTextIfExists(location.file);
  if (text === undefined) return { ...location, removed: 0, deleted: false, exists: false };
  const result = removeHookEntries(text, location.file, HOST_HOOK_CONFIGS[options.host].format, options.host);
  if (!result.leftover && (await wasCreatedByUs(home, location.file))) {
    await deleteCreated(home, location.file);
    return { ...location, removed: result.removed, deleted: true, exists: true };
  }
  if (result.text !== text) await writeTextAtomic(location.file, result.text);
  return { ...location, removed: result.removed, deleted: false, exists: true };
}

export function displayName(host: HookHost): string {
  return HOOK_HOST_INFO[host].displayName;
}
