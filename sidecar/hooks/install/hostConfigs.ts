import type { HookHost } from "../hosts";

/**
 * Where and how each coding-agent host reads its hooks (facts and sources: ../shared/research/HOOKS.md
 * §1.2–1.3, 2.1/2.6, 3.1/3.6, 4, 5, 6, 8.5), as data: `apie hooks install | uninstall | status` and the
 * editor's "Apie: Guard Coding Agents…" read only this table. Adding a host = one row here (and a format
 * below if its file shape is new).
 *
 * Scopes. A workspace file inside the repository travels with it: `.github/hooks/*.json` is also read by
 * Copilot's cloud agent and by teammates' machines without Apie, `.codex/`, `.cursor/` and `.gemini/` are
 * usually committed too. So the default scope is the user's own file for those hosts, and every
 * workspace-scope file runs a command that checks the launcher exists and otherwise prints the host's
 * "no opinion" answer and exits 0 (never a non-zero exit: Copilot CLI denies on one). Claude Code's
 * workspace file is `.claude/settings.local.json` (personal, git-ignored by Claude Code), so its default is
 * the workspace: a user-level Claude hook would also run in every project without an Apie sidecar.
 *
 * VS Code's agent and Copilot CLI both read every `*.json` in `~/.copilot/hooks/` and `.github/hooks/`, so
 * two entries (one per host) would each run for every tool call of both hosts: two decisions, two approvals.
 * They share ONE entry instead, in `apie.json` in Copilot's format (`version: 1`, PascalCase events, `bash`
 * / `powershell`, `timeoutSec`; VS Code maps it to its own), the file HOOKS.md §8.5 recommends and Rampart
 * ships. Its command says `--host copilot-cli`; the adapter answers each payload as the host whose shape it
 * has (a VS Code Local payload as VS Code's). Installing either host guards both; removing either removes it.
 * PascalCase selects Copilot CLI's VS Code-compatible payload (snake_case, Claude tool names).
 */

export type Scope = "workspace" | "user";
export const SCOPES = ["workspace", "user"] as const;
export type HookEvent = "pre" | "post" | "end";
/** Every kind of our hook entries, in the order they are written. */
export const HOOK_EVENT_KINDS = ["pre", "post", "end"] as const;

/** The file shapes. Every one keeps its hooks under a top-level `"hooks"` object keyed by event name. */
export type ConfigFormat = "copilot" | "claude" | "codex" | "cursor" | "gemini";

export interface HostHookConfig {
  host: HookHost;
  /** The hook file per scope: `workspace` relative to the workspace folder, `user` relative to the home directory. */
  files: Readonly<Record<Scope, string>>;
  defaultScope: Scope;
  format: ConfigFormat;
  /** The `--host` our command carries, and how our entry is recognised (`copilot-cli` for the shared file). */
  commandHost: HookHost;
  /** The other host whose entry this is too (VS Code's agent and Copilot CLI). */
  sharedWith?: HookHost;
  /**
   * The host's event names that run `apie hook --event pre`, `--event post` and `--event end` (its session
   * end; none where the host has none — VS Code's Local harness, whose `Stop` ends a request, not a session).
   */
  events: Readonly<Record<HookEvent, readonly string[]>>;
  /** What the host takes as "no opinion" on stdout (printed by a workspace file when the launcher is missing). */
  noOpinion: string;
  /** How to tell the host is on this machine: executables on PATH, folders in the home directory. */
  detect: { binaries: readonly string[]; homeDirs: readonly string[] };
  /** What the host still needs after the file is written (shown by `status`, `install` and the editor). */
  needs: Readonly<Record<Scope, readonly string[]>>;
}

export const HOST_HOOK_CONFIGS: Readonly<Record<HookHost, HostHookConfig>> = {
  vscode: {
    host: "vscode",
    files: { workspace: ".github/hooks/apie.json", user: ".copilot/hooks/apie.json" },
    defaultScope: "user",
    format: "copilot",
    commandHost: "copilot-cli",
    sharedWith: "copilot-cli",
    // The shared file's SessionEnd entry serves Copilot CLI; VS Code's Local harness has no such event.
    events: { pre: ["PreToolUse"], post: ["PostToolUse"], end: ["SessionEnd"] },
    noOpinion: "{}",
    detect: { binaries: ["code", "code-insiders", "code-server"], homeDirs: [".vscode", ".vscode-server", ".vscode-insiders", ".vscode-oss"] },
    needs: {
      workspace: [
        "VS Code runs these hooks in Local agent sessions only, with the setting `chat.useHooks` on (the default) and the workspace trusted",
        "an organization that turns off Copilot preview features also turns off Local hooks (the ChatHooks policy)",
      ],
      user: [
        "VS Code runs these hooks in Local agent sessions only, with the setting `chat.useHooks` on (the default)",
        "an organization that turns off Copilot preview features also turns off Local hooks (the ChatHooks policy)",
      ],
    },
  },
  "claude-code": {
    host: "claude-code",
    files: { workspace: ".claude/settings.local.json", user: ".claude/settings.json" },
    defaultScope: "workspace",
    format: "claude",
    commandHost: "claude-code",
    events: { pre: ["PreToolUse"], post: ["PostToolUse", "PostToolUseFailure"], end: ["SessionEnd"] },
    noOpinion: "{}",
    detect: { binaries: ["claude"], homeDirs: [".claude"] },
    needs: {
      workspace: ["VS Code's own agent reads Claude-format files only with `chat.useClaudeHooks` on; install --host vscode for it instead"],
      user: ["VS Code's own agent reads Claude-format files only with `chat.useClaudeHooks` on; install --host vscode for it instead"],
    },
  },
  "copilot-cli": {
    host: "copilot-cli",
    files: { workspace: ".github/hooks/apie.json", user: ".copilot/hooks/apie.json" },
    defaultScope: "user",
    format: "copilot",
    commandHost: "copilot-cli",
    sharedWith: "vscode",
    events: { pre: ["PreToolUse"], post: ["PostToolUse"], end: ["SessionEnd"] },
    noOpinion: "{}",
    detect: { binaries: ["copilot"], homeDirs: [".copilot"] },
    needs: {
      workspace: ["Copilot CLI loads repository hooks only after you trust the folder (and in `-p` only for trusted folders)"],
      user: [],
    },
  },
  codex: {
    host: "codex",
    files: { workspace: ".codex/hooks.json", user: ".codex/hooks.json" },
    defaultScope: "user",
    format: "codex",
    commandHost: "codex",
    // SessionEnd, not Stop: Codex's Stop ends a turn (the session goes on).
    events: { pre: ["PreToolUse"], post: ["PostToolUse"], end: ["SessionEnd"] },
    // Codex reads empty stdout as "no objection" (HOOKS.md §4).
    noOpinion: "",
    detect: { binaries: ["codex"], homeDirs: [".codex"] },
    needs: {
      workspace: [
        "Codex runs new or changed hooks only after you trust them: start `codex` and open `/hooks`",
        "Codex reads a project's .codex/ only when the project is trusted",
      ],
      user: ["Codex runs new or changed hooks only after you trust them: start `codex` and open `/hooks`"],
    },
  },
  cursor: {
    host: "cursor",
    files: { workspace: ".cursor/hooks.json", user: ".cursor/hooks.json" },
    defaultScope: "user",
    format: "cursor",
    commandHost: "cursor",
    events: { pre: ["preToolUse"], post: ["postToolUse"], end: ["sessionEnd"] },
    noOpinion: "{}",
    detect: { binaries: ["cursor-agent", "cursor"], homeDirs: [".cursor"] },
    needs: { workspace: [], user: [] },
  },
  "gemini-cli": {
    host: "gemini-cli",
    files: { workspace: ".gemini/settings.json", user: ".gemini/settings.json" },
    defaultScope: "user",
    format: "gemini",
    commandHost: "gemini-cli",
    events: { pre: ["BeforeTool"], post: ["AfterTool"], end: ["SessionEnd"] },
    noOpinion: "{}",
    detect: { binaries: ["gemini"], homeDirs: [".gemini"] },
    needs: {
      workspace: ["Gemini CLI runs new or changed project hooks only after you confirm them (project hooks are fingerprinted)"],
      user: [],
    },
  },
};

/** The string every command we write contains, and how `uninstall` and `status` recognise our entries. */
export const HOOK_MARKER = "apie-hook";

/** One hook handler in the host's own words: what runs, and for how long the host waits. */
export interface HandlerSpec {
  /** The shell command (POSIX sh). */
  command: string;
  timeoutSeconds: number;
}

export interface FormatSpec {
  /** Written at the top of a file we create (`{"version": 1}` for Copilot and Cursor). */
  newFile: Readonly<Record<string, unknown>>;
  /**
   * Claude, Codex and Gemini nest handlers in matcher groups (`{matcher, hooks: [handler]}`); the others list
   * handlers directly under the event. The matcher selects every tool: Apie filters, the host does not.
   */
  matcher: string | undefined;
  /** The handler object, exactly as written. */
  handler(spec: HandlerSpec): Record<string, unknown>;
  /** The handler fields holding the command: where our marker is looked for. */
  commandFields: readonly string[];
  /** The handler field holding the timeout, and its unit. */
  timeout: { field: string; unit: "s" | "ms" };
}

const STATUS_MESSAGE = "apie: checking policy";

export const FORMATS: Readonly<Record<ConfigFormat, FormatSpec>> = {
  // Copilot: `version: 1`, `bash` / `powershell`, `timeoutSec`. `timeout` too, with the same value: Copilot CLI
  // reads it as an alias of `timeoutSec`, and it is VS Code's own property — VS Code "maps Copilot command
  // property names" (HOOKS.md §1.3) but does not document `timeoutSec` among them, and a hook cut at VS Code's
  // 30 s default would end every approval wait in VS Code's fail-open timeout path.
  // Windows has no POSIX launcher: `powershell` answers "no opinion", so a file that reaches Windows does no harm.
  copilot: {
    newFile: { version: 1 },
    matcher: undefined,
    handler: ({ command, timeoutSeconds }) => ({ type: "command", bash: command, powershell: "Write-Output '{}'", timeoutSec: timeoutSeconds, timeout: timeoutSeconds }),
    commandFields: ["bash", "command"],
    timeout: { field: "timeoutSec", unit: "s" },
  },
  claude: {
    newFile: {},
    matcher: "*",
    handler: ({ command, timeoutSeconds }) => ({ type: "command", command, timeout: timeoutSeconds, statusMessage: STATUS_MESSAGE }),
    commandFields: ["command"],
    timeout: { field: "timeout", unit: "s" },
  },
  codex: {
    newFile: {},
    matcher: "*",
    handler: ({ command, timeoutSeconds }) => ({ type: "command", command, timeout: timeoutSeconds, statusMessage: STATUS_MESSAGE }),
    commandFields: ["command"],
    timeout: { field: "timeout", unit: "s" },
  },
  // Cursor: flat, `version: 1`; `failClosed` so a crashed or timed-out hook blocks instead of passing.
  cursor: {
    newFile: { version: 1 },
    matcher: undefined,
    handler: ({ command, timeoutSeconds }) => ({ type: "command", command, timeout: timeoutSeconds, failClosed: true }),
    commandFields: ["command"],
    timeout: { field: "timeout", unit: "s" },
  },
  // Gemini: nested, regex matchers, timeout in MILLISECONDS (the command's --timeout stays in seconds).
  gemini: {
    newFile: {},
    matcher: ".*",
    handler: ({ command, timeoutSeconds }) => ({ name: "apie", type: "command", command, timeout: timeoutSeconds * 1000 }),
    commandFields: ["command"],
    timeout: { field: "timeout", unit: "ms" },
  },
};
