import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { HOOK_HOST_INFO, HOOK_HOSTS } from "../../hooks/hosts";
import {
  DEFAULT_HOOK_TIMEOUT_SECONDS,
  HookConfigError,
  hooksStatus,
  HOST_HOOK_CONFIGS,
  installHooks,
  SCOPES,
  uninstallHooks,
  type HooksStatus,
  type HostHookStatus,
  type LauncherTarget,
} from "../../hooks/install";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";

export const hooksUsage = `Usage:
  apie hooks install --host HOST [--scope workspace|user] [--timeout SECONDS] [--workspace DIR]
  apie hooks uninstall --host HOST [--scope workspace|user] [--workspace DIR]
  apie hooks status [--json] [--workspace DIR]
Installs Apie's pre- and post-tool-use hooks in a coding agent's own config, so each of its tool calls is
decided by this workspace's sidecar (\`apie hook\`). The file is edited in place: the agent's other hooks,
comments and formatting stay; installing twice changes nothing; uninstall removes only Apie's entries.
Hosts: ${HOOK_HOSTS.join(", ")}.
Options:
  --host HOST         the coding agent
  --scope S           workspace: this workspace's file; user: your own file in the home directory.
                      Default: workspace for claude-code (.claude/settings.local.json, personal), user for
                      the others (their workspace files are usually committed and travel with the repo).
                      uninstall without --scope removes Apie's hooks from both.
  --timeout SECONDS   how long the agent waits for the hook, written into its config (default ${DEFAULT_HOOK_TIMEOUT_SECONDS}:
                      an approval can take minutes)
  --workspace DIR     the workspace folder (default: the current directory)
  --json              status as JSON
The hook commands run the launcher ~/.apie/bin/apie-hook, which install (and the Apie extension, when it
activates) points at this node and Apie's dist/hook.js, so host configs survive Apie updates.`;

const Host = z.enum(HOOK_HOSTS, { error: `expected one of ${HOOK_HOSTS.join("|")}` });
const Common = {
  workspace: z.string().min(1).default("."),
};
const InstallArgs = z.object({
  ...Common,
  host: Host,
  scope: z.enum(SCOPES).optional(),
  timeout: z.coerce.number({ error: "expected whole seconds" }).int("expected whole seconds").min(1).max(86_400).default(DEFAULT_HOOK_TIMEOUT_SECONDS),
  positionals: z.tuple([z.literal("install")]),
});
const UninstallArgs = z.object({ ...Common, host: Host, scope: z.enum(SCOPES).optional(), positionals: z.tuple([z.literal("uninstall")]) });
const StatusArgs = z.object({ ...Common, json: z.boolean().default(false), positionals: z.tuple([z.literal("status")]) });

const OPTIONS = {
  host: { type: "string" },
  scope: { type: "string" },
  timeout: { type: "string" },
  workspace: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The node running this CLI and the dist/hook.js next to it (dist/cli.js is one bundle, so __dirname is dist/). */
export function cliLauncherTarget(): LauncherTarget {
  return { node: process.execPath, hookScript: path.join(__dirname, "hook.js") };
}

const home = (file: string) => {
  const h = os.homedir();
  return file.startsWith(h + path.sep) ? `~${file.slice(h.length)}` : file;
};

export async function hooksCommand(argv: readonly string[], io: Io): Promise<number> {
  const sub = argv[0];
  try {
    if (sub === "install") return await install(argv, io);
    if (sub === "uninstall") return await uninstall(argv, io);
    if (sub === "status") return await status(argv, io);
  } catch (error) {
    if (error instanceof HookConfigError) {
      io.err(`apie hooks: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  throw new UsageError(sub === undefined ? "missing subcommand (install, uninstall or status)" : `unknown subcommand "${sub}"`);
}

async function install(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, OPTIONS, InstallArgs);
  const workspace = path.resolve(args.workspace);
  const result = await installHooks({ host: args.host, scope: args.scope, timeoutSeconds: args.timeout, workspace, launcher: cliLauncherTarget() });
  const name = HOOK_HOST_INFO[args.host].displayName;
  const events = (kind: "pre" | "post") => result.entries.filter((e) => e.kind === kind).map((e) => e.event).join(", ");
  const what = `${events("pre")} → apie hook --event pre; ${events("post")} → --event post; timeout ${result.timeoutSeconds} s`;
  io.out(
    result.changed
      ? `${name}: ${result.created ? "created" : "updated"} ${home(result.file)} (${result.scope} scope; ${what})\n`
      : `${name}: ${home(result.file)} already has Apie's hooks (${result.scope} scope; ${what}); unchanged\n`,
  );
  const shared = HOST_HOOK_CONFIGS[args.host].sharedWith;
  if (shared !== undefined) io.out(`  one entry for ${name} and ${HOOK_HOST_INFO[shared].displayName}: both read this file, so each is guarded by it\n`);
  const launcher = (await hooksStatus({ workspace, hosts: [args.host] })).launcher;
  io.out(`  launcher ${home(launcher.path)} → ${launcher.target?.node ?? "?"} ${launcher.target?.hookScript ?? "?"}${result.launcher?.changed ? " (refreshed)" : ""}\n`);
  if (!launcher.resolves) io.out(`  ! the launcher does not resolve (${launcher.problem}): the hooks answer "no opinion" until it does\n`);
  for (const need of result.needs) io.out(`  next: ${need}\n`);
  return 0;
}

async function uninstall(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, OPTIONS, UninstallArgs);
  const workspace = path.resolve(args.workspace);
  const name = HOOK_HOST_INFO[args.host].displayName;
  const scopes = args.scope === undefined ? SCOPES : [args.scope];
  const seen = new Set<string>();
  for (const scope of scopes) {
    const r = await uninstallHooks({ host: args.host, scope, workspace });
    if (seen.has(r.file)) continue; // Codex and Cursor: user and workspace are one file in the home folder
    seen.add(r.file);
    if (!r.exists || r.removed === 0) io.out(`${name}: no Apie hooks in ${home(r.file)} (${scope} scope)\n`);
    else {
      const shared = HOST_HOOK_CONFIGS[args.host].sharedWith;
      const also = shared === undefined ? "" : ` (the entry ${HOOK_HOST_INFO[shared].displayName} shares: it is unguarded too)`;
      io.out(`${name}: removed ${r.removed} Apie hook${r.removed === 1 ? "" : "s"} from ${home(r.file)}${also}${r.deleted ? " and deleted it (Apie had created it and nothing else was in it)" : ""}\n`);
    }
  }
  return 0;
}

async function status(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, OPTIONS, StatusArgs);
  const result = await hooksStatus({ workspace: path.resolve(args.workspace) });
  if (args.json) io.out(JSON.stringify(result, null, 2) + "\n");
  else io.out(formatStatus(result));
  return 0;
}

export function formatStatus(result: HooksStatus): string {
  const lines: string[] = [];
  const l = result.launcher;
  lines.push(l.resolves ? `launcher ${home(l.path)}: ok (${l.target!.node} ${l.target!.hookScript})` : `launcher ${home(l.path)}: ${l.problem}`);
  for (const host of result.hosts) lines.push("", ...formatHostStatus(host));
  return lines.join("\n") + "\n";
}

export function formatHostStatus(h: HostHookStatus): string[] {
  const lines = [`${h.displayName} (${h.host}): ${h.detected.length > 0 ? `on this machine (${h.detected.join(", ")})` : "not found on this machine"}`];
  for (const s of h.scopes) {
    const state = s.error ?? (s.pre || s.post ? `pre ${s.pre ? "yes" : "NO"}, post ${s.post ? "yes" : "NO"}, end ${s.end ? "yes" : "NO"}${s.timeoutSeconds === undefined ? "" : `, timeout ${s.timeoutSeconds} s`}` : s.exists ? "no Apie hooks" : "no file");
    lines.push(`  ${s.scope.padEnd(9)} ${home(s.file)}: ${state}`);
  }
  if (h.installed) lines.push(`  command resolves: ${h.resolves ? "yes" : "NO"}`);
  else lines.push(`  not installed: apie hooks install --host ${h.host}`);
  for (const need of h.needs) lines.push(`  needs: ${need}`);
  return lines;
}
