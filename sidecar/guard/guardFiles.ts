import { DEFAULT_STATE_DIR, DISCOVERY_FILE } from "../protocol/discovery";
import { MCP_CONFIG_FILE, POLICY_FILE } from "../protocol/workspaceFiles";
import { normalize, type PathContext } from "./paths";

/**
 * Apie's own files: the ones through which an agent could undo its guard without anyone noticing — the
 * workspace policy, the MCP proxy's config, the sidecar's state (its log, its keys) and the settings in which
 * each coding agent's hooks are installed (sidecar/hooks/install/hostConfigs.ts; test/unit/guard/guardFiles
 * holds the two lists together). The `guard-files` template asks a person before an agent changes one.
 *
 * Pure path work, like paths.ts: absolute, normalised paths in; no file system.
 */

/** Apie's files under one root (the workspace, the home directory), relative to it, by what they are to a person. */
interface GuardFileSet {
  files: ReadonlyMap<string, string>;
  /** Folders whose every file is Apie's, with their trailing slash. */
  dirs: readonly (readonly [string, string])[];
  /**
   * The folders that hold those files and folders, as a whole: removing or replacing one (`rm -rf .claude`)
   * removes them. Other files in them (`.claude/commands/x.md`) are the agent's own business.
   */
  holders: ReadonlyMap<string, string>;
}

function guardFileSet(files: readonly (readonly [string, string])[], dirs: readonly (readonly [string, string])[]): GuardFileSet {
  const holders = new Map<string, string>();
  const hold = (folder: string, what: string) => {
    if (folder !== "" && !holders.has(folder)) holders.set(folder, `the folder of ${what}`);
  };
  for (const [file, what] of files) hold(file.slice(0, Math.max(0, file.lastIndexOf("/"))), what);
  for (const [dir, what] of dirs) hold(dir, what);
  return { files: new Map(files), dirs: dirs.map(([dir, what]) => [`${dir}/`, what] as const), holders };
}

const IN_WORKSPACE = guardFileSet(
  [
    [POLICY_FILE, "the guard's policy"],
    [MCP_CONFIG_FILE, "the MCP proxy's config"],
    [".claude/settings.json", "Claude Code's settings (its hooks)"],
    [".claude/settings.local.json", "Claude Code's settings (its hooks)"],
    [".codex/hooks.json", "Codex's hooks"],
    [".codex/config.toml", "Codex's config (its hooks)"],
    [".cursor/hooks.json", "Cursor's hooks"],
    [".gemini/settings.json", "Gemini CLI's settings (its hooks)"],
    [".github/copilot/settings.json", "Copilot's settings (its hooks)"],
    [".github/copilot/settings.local.json", "Copilot's settings (its hooks)"],
  ],
  [
    [DEFAULT_STATE_DIR, "the sidecar's state"],
    [".github/hooks", "Copilot's and VS Code's hooks"],
  ],
);

const IN_HOME = guardFileSet(
  [
    [".claude/settings.json", "Claude Code's settings (its hooks)"],
    [".codex/hooks.json", "Codex's hooks"],
    [".codex/config.toml", "Codex's config (its hooks)"],
    [".cursor/hooks.json", "Cursor's hooks"],
    [".gemini/settings.json", "Gemini CLI's settings (its hooks)"],
    [".copilot/settings.json", "Copilot CLI's settings (its hooks)"],
    [".copilot/config.json", "Copilot CLI's config (its hooks)"],
  ],
  [[".copilot/hooks", "Copilot CLI's hooks"]],
);

/**
 * VS Code's settings, where `chat.useHooks` and its kin turn the agent's hooks off: an agent edits these
 * files for many ordinary reasons, so only a change that names such a setting is one of Apie's.
 */
const VSCODE_SETTINGS_IN_WORKSPACE = ".vscode/settings.json";
const VSCODE_USER_SETTINGS = [".config/Code/User/settings.json", ".config/Code - Insiders/User/settings.json", "Library/Application Support/Code/User/settings.json", ".local/share/code-server/User/settings.json"];
const HOOK_SETTING = /chat\.(?:use\w*Hooks|hook\w*)/i;

/**
 * What `path` (absolute, normalised) is to Apie, e.g. "the guard's policy"; undefined for any other file.
 * `argumentsText`: the call's arguments as text, read only for VS Code's settings files (see above).
 */
export function guardFileOf(path: string, ctx: PathContext, argumentsText: () => string): string | undefined {
  if (isDiscoveryFile(path)) return "the sidecar's keys";
  const { workspace, home } = rootsOf(ctx);
  const inWorkspace = relativeTo(path, workspace);
  const inHome = relativeTo(path, home);
  const found = (inWorkspace === undefined ? undefined : lookUp(inWorkspace, IN_WORKSPACE)) ?? (inHome === undefined ? undefined : lookUp(inHome, IN_HOME));
  if (found !== undefined) return found;
  const isVsCodeSettings = inWorkspace === VSCODE_SETTINGS_IN_WORKSPACE || (inHome !== undefined && VSCODE_USER_SETTINGS.includes(inHome));
  return isVsCodeSettings && HOOK_SETTING.test(argumentsText()) ? "VS Code's hook settings" : undefined;
}

const DISCOVERY_PATH = `${DEFAULT_STATE_DIR}/${DISCOVERY_FILE}`;

/**
 * The sidecar's discovery file, `.apie/sidecar.json` in any folder (`path` normalised, absolute or relative):
 * it holds the sidecar's agent and admin keys, and whoever reads the admin key can resolve approvals and
 * change the policy.
 */
export function isDiscoveryFile(path: string): boolean {
  return path === DISCOVERY_PATH || path.endsWith(`/${DISCOVERY_PATH}`);
}

function lookUp(relative: string, set: GuardFileSet): string | undefined {
  const file = set.files.get(relative);
  if (file !== undefined) return file;
  for (const [dir, what] of set.dirs) if (relative.startsWith(dir)) return what;
  return set.holders.get(relative);
}

/** The workspace root and home directory as `/a/b/` prefixes, worked out once per PathContext (a call's hot path). */
const roots = new WeakMap<PathContext, { workspace: string | undefined; home: string | undefined }>();

function rootsOf(ctx: PathContext): { workspace: string | undefined; home: string | undefined } {
  let known = roots.get(ctx);
  if (known === undefined) {
    known = { workspace: prefixOf(ctx.workspaceRoot), home: prefixOf(ctx.homeDir) };
    roots.set(ctx, known);
  }
  return known;
}

/** An absolute directory other than `/` as the prefix of the paths below it; undefined otherwise. */
function prefixOf(dir: string | undefined): string | undefined {
  if (dir === undefined || !dir.startsWith("/")) return undefined;
  const root = normalize(dir);
  return root === "/" ? undefined : `${root}/`;
}

/** `path` (absolute, normalised) relative to the directory `prefix` names, when it is below it. */
function relativeTo(path: string, prefix: string | undefined): string | undefined {
  return prefix !== undefined && path.startsWith(prefix) && path.length > prefix.length ? path.slice(prefix.length) : undefined;
}
