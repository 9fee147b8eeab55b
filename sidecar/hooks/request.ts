import path from "node:path";
import type { Dialect, HookCall } from "./dialect";
import { hookAgentKey, type HookHost } from "./hosts";
import { CATEGORY_FACTS, mcpToolName, type ToolCategory } from "./vocabulary";

/**
 * The guard request a hook makes (issue 12 contract, item 4), as the body of POST /v1/hooks/evaluate — an
 * evaluate body (protocol/v1.ts EvaluateBodySchema) whose `metadata.hook` says which host session it
 * belongs to (protocol/hooks.ts):
 * - agent_key: the host's, `/<agent type>` for a subagent;
 * - tool: the host's own tool name, provider = the host; MCP tools provider `mcp`, name `server.tool`;
 * - action / resource / risk_level from the dialect's tool table (vocabulary.ts); none for MCP and unknown
 *   tools, which the engine infers;
 * - arguments: the tool input as an object (a JSON-string input parsed); Codex-style `apply_patch` sent as
 *   `{patch, paths}` so a patch is never read as a shell command;
 * - metadata: `{cwd, hook: {host, session_id, tool_use_id, transcript_path}}` — `cwd` absolute, the directory
 *   relative paths in the arguments are relative to.
 */
export interface HookGuardBody {
  agent_key: string;
  tool: { name: string; provider: string };
  action?: { type: string; name: string };
  resource?: { type: string };
  risk_level?: string;
  arguments?: unknown;
  metadata: { cwd: string; hook: HookRef };
  approval_id?: string;
  /** When the hook stops waiting for this answer (epoch ms; EvaluateBodySchema.deadline_at). */
  deadline_at?: number;
}

/** Which host session and call a request belongs to (POST /v1/hooks/evaluate and /v1/hooks/outcome). */
export interface HookRef {
  host: HookHost;
  session_id: string | null;
  tool_use_id: string;
  /** Our addition to the contract: the host's transcript, for the session's summary (first prompt). */
  transcript_path?: string;
}

export function categoryOf(dialect: Dialect, toolName: string): ToolCategory {
  if (mcpToolName(toolName) !== undefined) return "mcp";
  return dialect.tools[toolName] ?? "other";
}

export function guardBody(dialect: Dialect, call: HookCall, processCwd: string): HookGuardBody {
  let category = categoryOf(dialect, call.toolName);
  const mcp = category === "mcp" ? mcpToolName(call.toolName) : undefined;
  let args = normaliseArguments(call.toolName, parseJsonString(call.toolInput));
  const heredocPatch = dialect.host === "codex" && category === "shell" ? shellApplyPatch(args) : undefined;
  if (heredocPatch !== undefined) {
    category = "write";
    args = heredocPatch;
  }
  const facts = CATEGORY_FACTS[category];
  const cwd = path.resolve(processCwd, call.cwd ?? ".");
  return {
    agent_key: hookAgentKey(dialect.host, call.subagentType),
    tool: mcp === undefined ? { name: call.toolName, provider: dialect.host } : { name: mcp, provider: "mcp" },
    ...(facts === undefined
      ? {}
      : { action: { type: facts.action, name: call.toolName }, resource: { type: facts.resource }, risk_level: facts.risk }),
    ...(args === undefined ? {} : { arguments: args }),
    metadata: { cwd, hook: hookRef(dialect.host, call, args) },
  };
}

export function hookRef(host: HookHost, call: HookCall, args: unknown): HookRef {
  return {
    host,
    session_id: call.sessionId ?? null,
    tool_use_id: call.toolUseId ?? derivedToolUseId(call.sessionId, call.toolName, args),
    ...(call.transcriptPath === undefined ? {} : { transcript_path: call.transcriptPath }),
  };
}

/**
 * Copilot CLI (and Gemini CLI) send no id for a call: the pre and post hooks of one call both derive this one
 * from what they share — session, tool and input (HOOKS.md §8.2). Two identical calls in one session share it;
 * the post hook then links to the latest of them, which is the one that just ran.
 */
export function derivedToolUseId(sessionId: string | undefined, toolName: string, args: unknown): string {
  const text = `${sessionId ?? ""}\u0000${toolName}\u0000${stableJson(args)}`;
  // Required on use: node:crypto adds ~0.8 MB to the heap of every hook process that loads it, which the
  // hosts that send their own tool-use id never need.
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return `apie_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
}

/**
 * JSON with object keys sorted, so the same input hashes the same however a host ordered it. The adapter
 * checks the nesting of the arguments first (adapter.ts), so this never recurses past MAX_NESTING_DEPTH.
 */
function stableJson(value: unknown): string {
  return (
    JSON.stringify(value ?? null, (_key, v: unknown) =>
      v === null || typeof v !== "object" || Array.isArray(v) ? v : Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])),
    ) ?? "null"
  );
}

/** A tool input sent as a JSON string (Copilot's `toolArgs`, Cursor's MCP input) is parsed; else as is. */
export function parseJsonString(input: unknown): unknown {
  if (typeof input !== "string") return input;
  const trimmed = input.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return input;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return input;
  }
}

const PATCH_START = "*** Begin Patch";

/**
 * `apply_patch` input (Codex: `{command: <patch>}`; some hosts `{input: <patch>}` or the patch text itself)
 * becomes `{patch, paths}`: every file the patch adds, updates, deletes or moves to, as written in it.
 */
function normaliseArguments(toolName: string, args: unknown): unknown {
  if (toolName !== "apply_patch") return args;
  const text =
    typeof args === "string"
      ? args
      : args !== null && typeof args === "object" && !Array.isArray(args)
        ? [(args as Record<string, unknown>).command, (args as Record<string, unknown>).input, (args as Record<string, unknown>).patch].find(
            (v): v is string => typeof v === "string" && v.includes(PATCH_START),
          )
        : undefined;
  if (text === undefined || !text.includes(PATCH_START)) return args;
  return { patch: text, paths: patchPaths(text) };
}

/**
 * Codex applies a shell call of exactly the form `apply_patch <<'EOF'\n*** Begin Patch …\nEOF` as a patch
 * (no shell runs it), and its hook sees it as `Bash {command}` with no patch handling (observed with Codex
 * 0.171.0, test/fixtures/hooks). Such a call is judged as the file write it is: arguments `{command, patch,
 * paths}` under the write category, so the files it touches meet local-secret-files and
 * outside-workspace-writes, while `command` is still read by the shell analyzer. Only that exact form
 * qualifies: a quoted delimiter (a shell would expand nothing in the body either) and nothing before or
 * after the heredoc; anything else stays a shell command.
 */
function shellApplyPatch(args: unknown): { command: string; patch: string; paths: string[] } | undefined {
  const command = args !== null && typeof args === "object" && !Array.isArray(args) ? (args as Record<string, unknown>).command : undefined;
  if (typeof command !== "string") return undefined;
  const m = HEREDOC_APPLY_PATCH.exec(command);
  if (m === null || !m[3]!.trimStart().startsWith(PATCH_START)) return undefined;
  return { command, patch: m[3]!, paths: patchPaths(m[3]!) };
}

const HEREDOC_APPLY_PATCH = /^\s*apply_patch[ \t]+<<[ \t]*(['"])([A-Za-z_][A-Za-z0-9_]*)\1[ \t]*\n([\s\S]*?)\n\2[ \t]*\n?$/;

const PATCH_PATH = /^\*\*\* (?:Add File|Update File|Delete File|Move to): (.+)$/;

export function patchPaths(patch: string): string[] {
  const paths: string[] = [];
  for (const line of patch.split("\n")) {
    const m = PATCH_PATH.exec(line.replace(/\r$/, ""));
    if (m !== null && !paths.includes(m[1]!.trim())) paths.push(m[1]!.trim());
  }
  return paths;
}
