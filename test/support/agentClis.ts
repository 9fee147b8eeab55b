import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * The real coding-agent CLIs the agent-host tests drive headless: where test/hosts/setup.sh installed them,
 * how each is pointed at a scripted model on 127.0.0.1, and how it is run and stopped (by its process group,
 * so the hooks it spawned go with it).
 */
export const AGENT_CLIS = process.env.AGENT_CLIS ?? path.join(os.homedir(), ".cache/apie-vscode/agent-clis");

export const CLAUDE_BIN = path.join(AGENT_CLIS, "claude-code/node_modules/.bin/claude");
export const CODEX_BIN = path.join(AGENT_CLIS, "codex/node_modules/.bin/codex");

/** Why a suite skips, or undefined when the CLI is installed. */
export function missingCli(bin: string): string | undefined {
  return existsSync(bin) ? undefined : `${bin} is not installed: run test/hosts/setup.sh (.ci/run does)`;
}

/** A mocha `before` hook that skips the suite, saying why, when the CLI is not installed. */
export function skipUnlessInstalled(bin: string): (this: Mocha.Context) => void {
  return function () {
    const missing = missingCli(bin);
    if (missing) {
      console.log(`    skipped: ${missing}`);
      this.skip();
    }
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
}

const running = new Set<ChildProcess>();

/**
 * Starts a CLI in its own process group with exactly `env` (nothing of the test runner's environment leaks in:
 * no APIE_* variables, no real HOME). `stopAllClis` ends whatever is still running.
 */
export function startCli(bin: string, args: readonly string[], options: { cwd: string; env: Record<string, string> }): CliRun {
  const child = spawn(bin, [...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

/** SIGKILLs the process group of every CLI still running (its hooks included) and waits for each to close. */
export async function stopAllClis(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of running) {
    waits.push(new Promise((resolve) => child.once("close", resolve)));
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await Promise.all(waits);
}

// ---- Claude Code --------------------------------------------------------------------------------------------

/**
 * The environment of a headless Claude Code run against a scripted Messages API: no telemetry, no update
 * check, no other nonessential traffic; a dummy key; IS_SANDBOX=1 so `--permission-mode bypassPermissions`
 * runs as root (as in CI containers).
 */
export function claudeEnv(home: string, modelBaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    ANTHROPIC_BASE_URL: modelBaseUrl,
    ANTHROPIC_API_KEY: "dummy",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_ERROR_REPORTING: "1",
    IS_SANDBOX: "1",
    ...extra,
  };
}

/** `claude -p PROMPT --output-format json --permission-mode bypassPermissions`: only the hooks can refuse a call. */
/** `args`: more of claude's arguments, e.g. `["--resume", sessionId]`. */
export function startClaude(prompt: string, options: { cwd: string; env: Record<string, string>; args?: string[] }): CliRun {
  return startCli(CLAUDE_BIN, ["-p", prompt, "--output-format", "json", "--permission-mode", "bypassPermissions", ...(options.args ?? [])], options);
}

/** The one JSON result `claude -p --output-format json` prints. */
export const ClaudeResultSchema = z.looseObject({
  type: z.literal("result"),
  session_id: z.string(),
  is_error: z.boolean(),
  result: z.string().optional(),
  permission_denials: z.array(z.looseObject({ tool_name: z.string(), tool_use_id: z.string() })).optional(),
});

// ---- Codex --------------------------------------------------------------------------------------------------

/**
 * CODEX_HOME/config.toml for a custom model provider at a scripted Responses API (`wire_api = "responses"`,
 * key from SCRIPTED_MODEL_KEY); no retries, so a script error fails the run instead of repeating. The model is
 * one of Codex's bundled catalog (`codex debug models`), so Codex offers its usual tools (exec_command and the
 * freeform apply_patch); an unknown name falls back to metadata without apply_patch.
 */
export const CODEX_MODEL = "gpt-5.5";

export function writeCodexConfig(codexHome: string, modelBaseUrl: string): void {
  writeFileSync(
    path.join(codexHome, "config.toml"),
    [
      `model = "${CODEX_MODEL}"`,
      `model_provider = "scripted"`,
      ``,
      `[model_providers.scripted]`,
      `name = "scripted"`,
      `base_url = "${modelBaseUrl}/v1"`,
      `wire_api = "responses"`,
      `env_key = "SCRIPTED_MODEL_KEY"`,
      `request_max_retries = 0`,
      `stream_max_retries = 0`,
      ``,
    ].join("\n"),
  );
}

export function codexEnv(home: string, codexHome: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CODEX_HOME: codexHome, SCRIPTED_MODEL_KEY: "dummy", ...extra };
}

/**
 * `codex exec` headless: no git repository needed, Codex's own approvals and sandbox off (its
 * `bypassPermissions`), so only the hooks can refuse a call; `--json` prints one event per line.
 */
export function startCodex(prompt: string, options: { cwd: string; env: Record<string, string> }): CliRun {
  return startCli(CODEX_BIN, ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "--json", prompt], options);
}

/** The tool events (all take a matcher, which is part of the hash) and their keys in Codex's hook state. */
const CODEX_EVENT_KEYS: Record<string, string> = {
  PreToolUse: "pre_tool_use",
  PostToolUse: "post_tool_use",
  PermissionRequest: "permission_request",
  SessionEnd: "session_end",
};

const CodexHooksFileSchema = z.object({
  hooks: z.record(
    z.string(),
    z.array(z.object({ matcher: z.string().optional(), hooks: z.array(z.looseObject({ type: z.string(), command: z.string().optional(), timeout: z.number().optional(), timeoutSec: z.number().optional(), async: z.boolean().optional(), statusMessage: z.string().optional() })) })),
  ),
});

/**
 * What a user's review in Codex's `/hooks` records, written headless: Codex runs a non-managed command hook
 * only when `[hooks.state."<hooks.json path>:<event>:<group>:<handler>"] trusted_hash` in its config equals the
 * hook's current hash (codex-rs hooks/src/engine/discovery.rs: `command_hook_hash`, `hook_trust_status`). The
 * hash is `sha256:` + hex SHA-256 of the canonical JSON (keys sorted) of the normalised identity
 * `{event_name, matcher, hooks: [{type, command, timeout (default 600), async (default false), statusMessage?}]}`.
 * Trusts every command handler of the tool events in CODEX_HOME/hooks.json; appends to CODEX_HOME/config.toml.
 */
export function trustCodexHooks(codexHome: string): void {
  const hooksJson = path.join(codexHome, "hooks.json");
  const file = CodexHooksFileSchema.parse(JSON.parse(readFileSync(hooksJson, "utf8")));
  let toml = "";
  for (const [event, groups] of Object.entries(file.hooks)) {
    const eventKey = CODEX_EVENT_KEYS[event];
    if (eventKey === undefined) continue;
    groups.forEach((group, g) =>
      group.hooks.forEach((h, i) => {
        if (h.type !== "command" || h.command === undefined) return;
        const handler: Record<string, unknown> = { type: "command", command: h.command, timeout: Math.max(1, h.timeout ?? h.timeoutSec ?? 600), async: h.async ?? false };
        if (h.statusMessage !== undefined) handler.statusMessage = h.statusMessage;
        const identity = { event_name: eventKey, ...(group.matcher !== undefined ? { matcher: group.matcher } : {}), hooks: [handler] };
        const hash = `sha256:${createHash("sha256").update(JSON.stringify(sortKeys(identity))).digest("hex")}`;
        toml += `\n[hooks.state.${JSON.stringify(`${hooksJson}:${eventKey}:${g}:${i}`)}]\ntrusted_hash = "${hash}"\n`;
      }),
    );
  }
  appendFileSync(path.join(codexHome, "config.toml"), toml);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The events `codex exec --json` prints, one JSON object a line. */
export function codexEvents(stdout: string): Array<Record<string, any>> {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, any>);
}
