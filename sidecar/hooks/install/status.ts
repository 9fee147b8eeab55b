import { parse } from "jsonc-parser";
import { access, constants, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HOOK_HOST_INFO, HOOK_HOSTS, type HookHost } from "../hosts";
import { findOurEntries, HookConfigError, parseHookFile } from "./configEdit";
import { readTextIfExists } from "./configFile";
import { FORMATS, HOST_HOOK_CONFIGS, SCOPES, type HookEvent, type Scope } from "./hostConfigs";
import { hookLocation, type Where } from "./installer";
import { LAUNCHER_RELATIVE_PATH, launcherPath, readLauncher, type LauncherState } from "./launcher";

/**
 * `apie hooks status` (and `apie doctor`'s hook lines, and the editor's pick lists): per host, whether it is
 * on this machine, where our hooks are installed (pre/post, timeout), whether the command they run still
 * resolves (launcher → node + dist/hook.js), and what the host still needs before it runs them.
 */

export interface ScopeStatus {
  scope: Scope;
  file: string;
  exists: boolean;
  /** Our pre-tool-use hook is in the file for every pre event of the host (and likewise post). */
  pre: boolean;
  post: boolean;
  /** Our session-end hook is there for every end event of the host (true where the host has none). */
  end: boolean;
  /** The timeout our entries were written with, in seconds. */
  timeoutSeconds: number | undefined;
  /** The file could not be read as a hook file (it is then never edited). */
  error: string | undefined;
  /** Our entries run a launcher other than this home's (a file copied from elsewhere). */
  foreignLauncher: string | undefined;
}

export interface HostHookStatus {
  host: HookHost;
  displayName: string;
  /** Why we think the host is on this machine (empty: not found). */
  detected: string[];
  scopes: ScopeStatus[];
  installed: boolean;
  /** Installed and the command would run Apie's adapter (undefined when not installed). */
  resolves: boolean | undefined;
  /** What the host still needs, or a setting found that stops it running hooks. */
  needs: string[];
}

export interface HooksStatus {
  launcher: LauncherState;
  hosts: HostHookStatus[];
}

export interface StatusOptions extends Where {
  env?: NodeJS.ProcessEnv;
  hosts?: readonly HookHost[];
}

export async function hooksStatus(options: StatusOptions): Promise<HooksStatus> {
  const home = options.home ?? os.homedir();
  const env = options.env ?? process.env;
  const launcher = await readLauncher(home);
  const hosts = await Promise.all((options.hosts ?? HOOK_HOSTS).map((host) => hostStatus(host, { ...options, home }, env, launcher)));
  return { launcher, hosts };
}

async function hostStatus(host: HookHost, where: Where & { home: string }, env: NodeJS.ProcessEnv, launcher: LauncherState): Promise<HostHookStatus> {
  const config = HOST_HOOK_CONFIGS[host];
  // Codex's and Cursor's user and workspace files have the same relative path: in the home folder they are one file.
  const scopes = (await Promise.all(SCOPES.map((scope) => scopeStatus(host, scope, where)))).filter(
    (s, i, all) => all.findIndex((o) => o.file === s.file) === i,
  );
  const installedScopes = scopes.filter((s) => s.pre || s.post);
  const installed = installedScopes.length > 0;
  const needs = [...new Set(installedScopes.flatMap((s) => config.needs[s.scope]))];
  for (const s of installedScopes) {
    if (!s.pre) needs.push(`${s.file} has no pre-tool-use hook of ours: run \`apie hooks install --host ${host} --scope ${s.scope}\``);
    if (!s.post) needs.push(`${s.file} has no post-tool-use hook of ours (outcomes are not recorded): run \`apie hooks install --host ${host} --scope ${s.scope}\``);
    if (!s.end) needs.push(`${s.file} has no session-end hook of ours (the Runs view shows its sessions running forever): run \`apie hooks install --host ${host} --scope ${s.scope}\``);
    if (s.foreignLauncher !== undefined) needs.push(`${s.file} runs ${s.foreignLauncher}, not this machine's ${launcherPath(where.home)}: run \`apie hooks install --host ${host} --scope ${s.scope}\``);
  }
  needs.push(...(await hostSettingsProblems(host, where)));
  const resolves = installed ? launcher.resolves && installedScopes.every((s) => s.foreignLauncher === undefined) : undefined;
  if (installed && !launcher.resolves && launcher.problem !== undefined) needs.unshift(`the hooks answer "no opinion" until the launcher works: ${launcher.problem}`);
  return { host, displayName: HOOK_HOST_INFO[host].displayName, detected: await detectHost(host, where.home, env), scopes, installed, resolves, needs };
}

async function scopeStatus(host: HookHost, scope: Scope, where: Where & { home: string }): Promise<ScopeStatus> {
  const { file } = hookLocation(host, scope, where);
  const config = HOST_HOOK_CONFIGS[host];
  const empty: ScopeStatus = { scope, file, exists: false, pre: false, post: false, end: false, timeoutSeconds: undefined, error: undefined, foreignLauncher: undefined };
  let text: string | undefined;
  try {
    text = await readTextIfExists(file);
  } catch (error) {
    return { ...empty, exists: true, error: `cannot read it: ${(error as Error).message}` };
  }
  if (text === undefined) return empty;
  let entries;
  try {
    entries = findOurEntries(parseHookFile(text, file), config.format, host, config.events);
  } catch (error) {
    if (error instanceof HookConfigError) return { ...empty, exists: true, error: error.message };
    throw error;
  }
  const has = (kind: HookEvent) => entries.filter((e) => e.kind === kind).every((e) => e.handlers.length > 0);
  const handlers = entries.flatMap((e) => e.handlers);
  // The pre and post entries' timeout (the session end's is always short: installer.ts END_HOOK_TIMEOUT_SECONDS).
  const timeout = entries.filter((e) => e.kind !== "end").flatMap((e) => e.handlers).map((h) => h.timeout).find((t): t is number => typeof t === "number");
  const foreign = handlers.map((h) => launcherOfCommand(h.command)).find((l) => l !== undefined && l !== "$HOME" && l !== launcherPath(where.home));
  return {
    ...empty,
    exists: true,
    pre: has("pre"),
    post: has("post"),
    end: has("end"),
    timeoutSeconds: timeout === undefined ? undefined : FORMATS[config.format].timeout.unit === "ms" ? timeout / 1000 : timeout,
    foreignLauncher: foreign,
  };
}

/** The launcher a command of ours runs: `$HOME` for a workspace command, else its path. */
export function launcherOfCommand(command: string): string | undefined {
  if (command.includes(`"$HOME/${LAUNCHER_RELATIVE_PATH}"`)) return "$HOME";
  const quoted = /'((?:[^']|'\\'')*apie-hook)'/.exec(command)?.[1]?.replace(/'\\''/g, "'");
  return quoted ?? /(\S*apie-hook)(?=\s|$)/.exec(command)?.[1];
}

// ---------------------------------------------------------------------------------------------------------
// Is the host on this machine?

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Executables on PATH, folders in the home directory, and for VS Code: running inside it. */
export async function detectHost(host: HookHost, home: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const { detect } = HOST_HOOK_CONFIGS[host];
  const found: string[] = [];
  if (host === "vscode" && (env.TERM_PROGRAM === "vscode" || env.VSCODE_PID !== undefined || env.VSCODE_IPC_HOOK_CLI !== undefined)) found.push("running in VS Code");
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  for (const binary of detect.binaries) {
    for (const dir of dirs) {
      if (await isExecutable(path.join(dir, binary))) {
        found.push(`${binary} on PATH (${path.join(dir, binary)})`);
        break;
      }
    }
  }
  for (const dir of detect.homeDirs) if (await isDirectory(path.join(home, dir))) found.push(`~/${dir}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Settings that stop a host from running hooks at all

async function readJsonc(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readTextIfExists(file).catch(() => undefined);
  const doc: unknown = text === undefined ? undefined : parse(text, [], { allowTrailingComma: true });
  return typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
}

/** VS Code's user settings files on Linux and macOS (stable, Insiders, code-server). */
function vscodeUserSettings(home: string): string[] {
  return [
    path.join(home, ".config", "Code", "User", "settings.json"),
    path.join(home, ".config", "Code - Insiders", "User", "settings.json"),
    path.join(home, "Library", "Application Support", "Code", "User", "settings.json"),
    path.join(home, ".local", "share", "code-server", "User", "settings.json"),
  ];
}

/**
 * Whether `[features] hooks = false` (or the deprecated `codex_hooks = false`) is set in a Codex
 * config.toml. We never edit config.toml (our hooks live in hooks.json, which Codex reads alongside it);
 * this is a read-only scan of the one table we care about, not a TOML parser.
 */
export function codexHooksDisabled(toml: string): boolean {
  let inFeatures = false;
  for (const raw of toml.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    const table = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (table) {
      inFeatures = table[1] === "features";
      continue;
    }
    if (inFeatures && /^"?(hooks|codex_hooks)"?\s*=\s*false$/.test(line)) return true;
    if (!inFeatures && /^features\.(hooks|codex_hooks)\s*=\s*false$/.test(line)) return true;
  }
  return false;
}

async function hostSettingsProblems(host: HookHost, where: Where & { home: string }): Promise<string[]> {
  const problems: string[] = [];
  switch (host) {
    case "codex": {
      for (const file of [path.join(where.home, ".codex", "config.toml"), path.join(where.workspace, ".codex", "config.toml")]) {
        const toml = await readTextIfExists(file).catch(() => undefined);
        if (toml !== undefined && codexHooksDisabled(toml)) problems.push(`Codex hooks are turned off in ${file} ([features] hooks = false): Codex runs no hooks until it is removed`);
      }
      break;
    }
    case "vscode": {
      for (const file of [...vscodeUserSettings(where.home), path.join(where.workspace, ".vscode", "settings.json")]) {
        if ((await readJsonc(file))?.["chat.useHooks"] === false) problems.push(`\`chat.useHooks\` is false in ${file}: VS Code runs no hooks`);
      }
      break;
    }
    case "claude-code": {
      for (const file of [path.join(where.home, ".claude", "settings.json"), path.join(where.workspace, ".claude", "settings.json"), path.join(where.workspace, ".claude", "settings.local.json")]) {
        if ((await readJsonc(file))?.disableAllHooks === true) problems.push(`\`disableAllHooks\` is true in ${file}: Claude Code runs no hooks`);
      }
      break;
    }
    case "gemini-cli": {
      for (const file of [path.join(where.home, ".gemini", "settings.json"), path.join(where.workspace, ".gemini", "settings.json")]) {
        const config = (await readJsonc(file))?.hooksConfig as { enabled?: unknown; disabled?: unknown } | undefined;
        if (config?.enabled === false) problems.push(`\`hooksConfig.enabled\` is false in ${file}: Gemini CLI runs no hooks`);
        if (Array.isArray(config?.disabled) && config.disabled.includes("apie")) problems.push(`\`hooksConfig.disabled\` lists "apie" in ${file}: Gemini CLI skips Apie's hooks`);
      }
      break;
    }
    case "copilot-cli": {
      for (const file of [path.join(where.home, ".copilot", "settings.json"), path.join(where.workspace, ".github", "copilot", "settings.json"), path.join(where.workspace, ".github", "copilot", "settings.local.json")]) {
        if ((await readJsonc(file))?.disableAllHooks === true) problems.push(`\`disableAllHooks\` is true in ${file}: Copilot CLI runs no hooks`);
      }
      break;
    }
    default:
      break;
  }
  return problems;
}
