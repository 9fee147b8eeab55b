import * as z from "zod/mini";
import { clip, once, renderHookSpecific, type Dialect, type HookAnswer, type HookCall, type HookEvent, type HookSessionEnd, type SessionEndDialect } from "./dialect";
import type { HookHost } from "./hosts";
import type { ToolVocabulary } from "./vocabulary";

/**
 * The six hosts' dialects (HOOKS.md sections 1–6). Payload schemas are loose: a host adding fields must not
 * make the adapter fail; a field we read that has the wrong type fails the schema, and the adapter answers
 * its safe answer (adapter.ts).
 */

const str = z.optional(z.nullable(z.string()));
const anyValue = z.optional(z.unknown());
const has = (p: Record<string, unknown>, key: string): boolean => p[key] !== undefined;
const opt = (value: string | null | undefined): string | undefined => (value === null || value === "" ? undefined : value);
const json = (value: unknown): string => JSON.stringify(value);


/**
 * Whether a post-tool-use response says the call failed: hosts report failures differently, and several
 * only in the response object (`error`, `success: false`, a non-zero `exit_code`/`exitCode`).
 */
export function failureOf(response: unknown): string | undefined {
  if (response === null || typeof response !== "object" || Array.isArray(response)) return undefined;
  const r = response as Record<string, unknown>;
  if (typeof r.error === "string" && r.error !== "") return r.error;
  if (r.error !== undefined && r.error !== null && r.error !== false && typeof r.error === "object") {
    const message = (r.error as Record<string, unknown>).message;
    return typeof message === "string" && message !== "" ? message : "the tool reported an error";
  }
  if (r.success === false || r.is_error === true || r.isError === true) return "the tool reported an error";
  const code = r.exit_code ?? r.exitCode;
  if (typeof code === "number" && code !== 0) return `exited with code ${code}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------- Session end

/**
 * The session-end payloads (`apie hook --event end`; docs/coding-agents.md, "Session end"). Every host that has one sends
 * its session id, cwd and a reason; the answer is always the host's no opinion (the event cannot be refused).
 * - Claude Code `SessionEnd` {session_id, transcript_path, cwd, hook_event_name, reason}; also in `claude -p`
 *   when the process exits (test/integration/agentHostsClaudeCode.test.ts).
 * - Codex `SessionEnd` {session_id, transcript_path, cwd, hook_event_name, reason: "other"} (the
 *   session-end.command.input schema in the Codex 0.171.0 binary). Codex's `Stop` ends a turn: not used.
 * - Gemini CLI `SessionEnd` {session_id, cwd, hook_event_name, reason}.
 * - Copilot CLI `sessionEnd` {sessionId?, timestamp, cwd, reason} (camelCase config), `SessionEnd` with
 *   snake_case fields in the PascalCase config our shared file uses.
 * - Cursor `sessionEnd` {conversation_id, session_id, workspace_roots, reason, …}.
 * - VS Code Local: none (`Stop` ends one request; a session goes on): its sessions stay running.
 */
const SessionEndPayload = () =>
  z.looseObject({
    session_id: str,
    sessionId: str,
    conversation_id: str,
    cwd: str,
    workspace_roots: z.optional(z.nullable(z.array(z.unknown()))),
    hook_event_name: str,
    hookEventName: str,
    reason: str,
  });

function readSessionEnd(p: z.infer<ReturnType<typeof SessionEndPayload>>): HookSessionEnd {
  return {
    sessionId: opt(p.conversation_id) ?? opt(p.session_id) ?? opt(p.sessionId),
    cwd: opt(p.cwd) ?? p.workspace_roots?.find((r): r is string => typeof r === "string"),
    reason: opt(p.reason),
  };
}

const sessionEnd = (...events: string[]): SessionEndDialect => ({ events, schema: once(SessionEndPayload), read: readSessionEnd });

// ---------------------------------------------------------------------------------------------- Claude Code

const CLAUDE_TOOLS: ToolVocabulary = {
  Bash: "shell",
  PowerShell: "shell",
  Read: "read",
  Glob: "read",
  Grep: "read",
  LS: "read",
  NotebookRead: "read",
  Write: "write",
  Edit: "write",
  MultiEdit: "write",
  NotebookEdit: "write",
  WebFetch: "fetch",
  WebSearch: "fetch",
  Agent: "agent",
  Task: "agent",
};

/** Claude Code (and VS Code's Claude harness): HOOKS.md §2.3/2.4. */
const ClaudePayload = () =>
  z.looseObject({
  session_id: z.string(),
  transcript_path: str,
  cwd: str,
  permission_mode: str,
  hook_event_name: z.string(),
  tool_name: z.string(),
  tool_input: anyValue,
  tool_use_id: str,
  agent_id: str,
  agent_type: str,
  tool_response: anyValue,
  error: anyValue,
});

function claudeEventFailure(event: string, error: unknown, response: unknown): string | undefined {
  if (/failure$/i.test(event)) return typeof error === "string" && error !== "" ? error : "the tool call failed";
  return failureOf(response);
}

/** A Claude-shaped payload (Claude Code, and Codex, which adds `turn_id`) as the adapter's one call shape. */
function readClaudeShape(p: z.infer<ReturnType<typeof ClaudePayload>>): HookCall {
  return {
    event: /^Post/.test(p.hook_event_name) ? "post" : "pre",
    sessionId: opt(p.session_id),
    toolName: p.tool_name,
    toolInput: p.tool_input,
    toolUseId: opt(p.tool_use_id),
    cwd: opt(p.cwd),
    subagentType: opt(p.agent_type),
    transcriptPath: opt(p.transcript_path),
    failure: claudeEventFailure(p.hook_event_name, p.error, p.tool_response),
  };
}

const claudeCode: Dialect = {
  host: "claude-code",
  defaultTimeoutS: 600,
  fits: (p) => has(p, "hook_event_name") && has(p, "permission_mode") && has(p, "tool_use_id") && !has(p, "turn_id"),
  schema: once(ClaudePayload),
  read: readClaudeShape,
  tools: CLAUDE_TOOLS,
  render: (answer, event) => renderHookSpecific(answer, event),
  end: sessionEnd("SessionEnd"),
};

// ------------------------------------------------------------------------------------------ VS Code (Local)

const VSCODE_TOOLS: ToolVocabulary = {
  run_in_terminal: "shell",
  run_task: "shell",
  create_and_run_task: "shell",
  run_notebook_cell: "shell",
  create_file: "write",
  replace_string_in_file: "write",
  multi_replace_string_in_file: "write",
  insert_edit_into_file: "write",
  apply_patch: "write",
  edit_notebook_file: "write",
  create_directory: "write",
  read_file: "read",
  list_dir: "read",
  file_search: "read",
  grep_search: "read",
  semantic_search: "read",
  get_changed_files: "read",
  get_errors: "read",
  view_image: "read",
  read_notebook_cell_output: "read",
  get_terminal_output: "read",
  fetch_webpage: "fetch",
  github_repo: "fetch",
  runSubagent: "agent",
};

/**
 * VS Code's Local harness (HOOKS.md §1.4). The 6/3/2026 docs spell the common fields in camelCase
 * (`sessionId`, `hookEventName`), the 9/16 docs and the code in snake_case: both are read.
 */
const VsCodePayload = () =>
  z.looseObject({
  hook_event_name: str,
  hookEventName: str,
  session_id: str,
  sessionId: str,
  transcript_path: str,
  cwd: str,
  tool_name: z.string(),
  tool_input: anyValue,
  tool_use_id: str,
  tool_response: anyValue,
  error: anyValue,
});

const vscode: Dialect = {
  host: "vscode",
  defaultTimeoutS: 30,
  fits: (p) => (has(p, "hook_event_name") || has(p, "hookEventName")) && has(p, "tool_use_id") && !has(p, "permission_mode") && !has(p, "turn_id"),
  schema: once(VsCodePayload),
  read: (p: z.infer<ReturnType<typeof VsCodePayload>>): HookCall => {
    const event = p.hook_event_name ?? p.hookEventName ?? "PreToolUse";
    return {
      event: /^Post/.test(event) ? "post" : "pre",
      sessionId: opt(p.session_id) ?? opt(p.sessionId),
      toolName: p.tool_name,
      toolInput: p.tool_input,
      toolUseId: opt(p.tool_use_id),
      cwd: opt(p.cwd),
      subagentType: undefined,
      transcriptPath: opt(p.transcript_path),
      failure: claudeEventFailure(event, p.error, p.tool_response),
    };
  },
  tools: VSCODE_TOOLS,
  render: (answer, event) => renderHookSpecific(answer, event),
  end: undefined,
};

// -------------------------------------------------------------------------------------------- Copilot CLI

/** Native names (camelCase configs) and the Claude names the PascalCase ("VS Code compatible") configs get. */
const COPILOT_TOOLS: ToolVocabulary = {
  bash: "shell",
  powershell: "shell",
  view: "read",
  glob: "read",
  grep: "read",
  rg: "read",
  create: "write",
  edit: "write",
  str_replace_editor: "write",
  apply_patch: "write",
  web_fetch: "fetch",
  web_search: "fetch",
  task: "agent",
  ...CLAUDE_TOOLS,
};

/**
 * Copilot CLI (and VS Code's Copilot harness): two payloads chosen by the config's event-name casing
 * (HOOKS.md §3.2). camelCase: `sessionId`, `toolName`, `toolArgs` (a JSON string in the older docs, any
 * value in the newer: both read); PascalCase: snake_case like VS Code's, with no `tool_use_id`.
 */
const CopilotPayload = () =>
  z.looseObject({
  sessionId: str,
  session_id: str,
  hook_event_name: str,
  hookEventName: str,
  timestamp: z.optional(z.union([z.string(), z.number()])),
  cwd: str,
  toolName: str,
  tool_name: str,
  toolArgs: anyValue,
  tool_input: anyValue,
  toolResult: anyValue,
  tool_response: anyValue,
  tool_result: anyValue,
});

function copilotFailure(p: z.infer<ReturnType<typeof CopilotPayload>>): string | undefined {
  const result = p.toolResult ?? p.tool_result;
  if (result !== null && typeof result === "object") {
    const r = result as Record<string, unknown>;
    const type = r.resultType ?? r.result_type;
    if (typeof type === "string" && type !== "success") {
      const text = r.textResultForLlm ?? r.text_result_for_llm;
      return typeof text === "string" && text !== "" ? clip(text) : `the tool call ended: ${type}`;
    }
  }
  return failureOf(p.tool_response ?? result);
}

const copilotCli: Dialect = {
  host: "copilot-cli",
  defaultTimeoutS: 30,
  fits: (p) =>
    has(p, "toolName") ||
    has(p, "toolArgs") ||
    (has(p, "hook_event_name") && !has(p, "tool_use_id") && !has(p, "permission_mode") && !has(p, "turn_id") && typeof p.timestamp === "string"),
  schema: once(() => CopilotPayload().check(z.refine((p) => (p.toolName ?? p.tool_name) != null, { message: "toolName (or tool_name): required" }))),
  read: (p: z.infer<ReturnType<typeof CopilotPayload>>): HookCall => {
    const event = p.hook_event_name ?? p.hookEventName ?? "";
    const post = /^post/i.test(event) || p.toolResult !== undefined || p.tool_result !== undefined;
    return {
      event: post ? "post" : "pre",
      sessionId: opt(p.sessionId) ?? opt(p.session_id),
      toolName: (p.toolName ?? p.tool_name)!,
      toolInput: p.toolArgs !== undefined ? p.toolArgs : p.tool_input,
      toolUseId: undefined,
      cwd: opt(p.cwd),
      subagentType: undefined,
      transcriptPath: undefined,
      failure: post ? copilotFailure(p) : undefined,
    };
  },
  tools: COPILOT_TOOLS,
  // No documented warning field: a warning goes to stderr (adapter.ts), the answer stays `{}`.
  render: (answer, event) => renderHookSpecific(answer, event, true),
  end: sessionEnd("sessionEnd", "SessionEnd"),
};

// -------------------------------------------------------------------------------------------------- Codex

const CODEX_TOOLS: ToolVocabulary = {
  Bash: "shell",
  shell: "shell",
  local_shell: "shell",
  exec_command: "shell",
  apply_patch: "write",
};

/** Codex CLI / IDE extension / app (HOOKS.md §4): Claude-like, plus `turn_id`; `transcript_path` nullable. */
const CodexPayload = () => z.extend(ClaudePayload(), { turn_id: anyValue });

/**
 * Codex accepts only a deny (and a warning's systemMessage): no opinion and allow are an empty stdout, since
 * a bare `permissionDecision: "allow"` or `ask` is "unsupported" there, which Codex treats as a failed hook
 * and runs the tool (HOOKS.md §4, output_parser.rs).
 */
function renderCodex(answer: HookAnswer, event: HookEvent): string {
  if (event !== "pre" || answer.kind === "allow") return "";
  if (answer.kind === "none") return answer.warning === undefined ? "" : json({ systemMessage: clip(answer.warning) });
  const reason = answer.kind === "ask" ? `${answer.reason} (Codex has no approval prompt for hooks)` : answer.reason;
  return json({ hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: "deny", permissionDecisionReason: clip(reason) || "apie: denied" } });
}

const codex: Dialect = {
  host: "codex",
  defaultTimeoutS: 600,
  fits: (p) => has(p, "turn_id"),
  schema: once(CodexPayload),
  read: readClaudeShape,
  tools: CODEX_TOOLS,
  render: renderCodex,
  end: sessionEnd("SessionEnd"),
};

// ------------------------------------------------------------------------------------------------- Cursor

const CURSOR_TOOLS: ToolVocabulary = {
  Shell: "shell",
  Read: "read",
  Grep: "read",
  Glob: "read",
  LS: "read",
  Write: "write",
  Edit: "write",
  Delete: "write",
  WebFetch: "fetch",
  WebSearch: "fetch",
  Task: "agent",
};

/** Cursor (HOOKS.md §5): `conversation_id` is the session; `preToolUse` / `postToolUse` / `postToolUseFailure`. */
const CursorPayload = () =>
  z.looseObject({
  conversation_id: str,
  session_id: str,
  generation_id: str,
  hook_event_name: str,
  cursor_version: str,
  workspace_roots: z.optional(z.nullable(z.array(z.unknown()))),
  transcript_path: str,
  cwd: str,
  tool_name: z.string(),
  tool_input: anyValue,
  tool_use_id: str,
  tool_output: anyValue,
  error_message: str,
});

function renderCursor(answer: HookAnswer, event: HookEvent): string {
  if (event !== "pre" || answer.kind === "none") return "{}";
  if (answer.kind === "allow") return json({ permission: "allow" });
  // `ask` is not enforced on preToolUse (HOOKS.md §5): the adapter never asks Cursor, but if it did, refuse.
  const reason = clip(answer.reason);
  return json({ permission: "deny", user_message: reason, agent_message: reason });
}

const cursor: Dialect = {
  host: "cursor",
  defaultTimeoutS: 30,
  fits: (p) => has(p, "conversation_id") || has(p, "generation_id") || has(p, "cursor_version"),
  schema: once(CursorPayload),
  read: (p: z.infer<ReturnType<typeof CursorPayload>>): HookCall => {
    const event = p.hook_event_name ?? "preToolUse";
    const root = p.workspace_roots?.find((r): r is string => typeof r === "string");
    return {
      event: /^post/i.test(event) ? "post" : "pre",
      sessionId: opt(p.conversation_id) ?? opt(p.session_id),
      toolName: p.tool_name,
      toolInput: p.tool_input,
      toolUseId: opt(p.tool_use_id),
      cwd: opt(p.cwd) ?? root,
      subagentType: undefined,
      transcriptPath: opt(p.transcript_path),
      failure: /failure$/i.test(event) ? (opt(p.error_message) ?? "the tool call failed") : failureOf(p.tool_output),
    };
  },
  tools: CURSOR_TOOLS,
  render: renderCursor,
  end: sessionEnd("sessionEnd"),
};

// --------------------------------------------------------------------------------------------- Gemini CLI

const GEMINI_TOOLS: ToolVocabulary = {
  run_shell_command: "shell",
  read_file: "read",
  read_many_files: "read",
  list_directory: "read",
  glob: "read",
  search_file_content: "read",
  write_file: "write",
  replace: "write",
  web_fetch: "fetch",
  google_web_search: "fetch",
};

/** Gemini CLI (HOOKS.md §6): `BeforeTool` / `AfterTool`. */
const GeminiPayload = () =>
  z.looseObject({
  session_id: str,
  transcript_path: str,
  cwd: str,
  hook_event_name: z.string(),
  tool_name: z.string(),
  tool_input: anyValue,
  tool_response: anyValue,
});

function renderGemini(answer: HookAnswer, event: HookEvent): string {
  if (event !== "pre" || answer.kind === "none") {
    const warning = answer.kind === "none" ? answer.warning : undefined;
    return warning === undefined ? "{}" : json({ systemMessage: clip(warning) });
  }
  if (answer.kind === "allow") return json({ decision: "allow" });
  return json({ decision: "deny", reason: clip(answer.reason) });
}

const geminiCli: Dialect = {
  host: "gemini-cli",
  defaultTimeoutS: 60,
  fits: (p) => p.hook_event_name === "BeforeTool" || p.hook_event_name === "AfterTool",
  schema: once(GeminiPayload),
  read: (p: z.infer<ReturnType<typeof GeminiPayload>>): HookCall => ({
    event: p.hook_event_name === "AfterTool" ? "post" : "pre",
    sessionId: opt(p.session_id),
    toolName: p.tool_name,
    toolInput: p.tool_input,
    toolUseId: undefined,
    cwd: opt(p.cwd),
    subagentType: undefined,
    transcriptPath: opt(p.transcript_path),
    failure: failureOf(p.tool_response),
  }),
  tools: GEMINI_TOOLS,
  render: renderGemini,
  end: sessionEnd("SessionEnd"),
};

/**
 * In sniffing order (HOOKS.md §8.2): the most specific marks first — Copilot's camelCase fields, Cursor's
 * ids, Codex's `turn_id`, Gemini's event names — then Claude Code (`permission_mode`), VS Code Local
 * (`tool_use_id` without it) and last Copilot's PascalCase payload (no `tool_use_id`, an ISO timestamp).
 */
const SNIFF_ORDER: readonly Dialect[] = [cursor, codex, geminiCli, claudeCode, vscode, copilotCli];

export const DIALECTS: Readonly<Record<HookHost, Dialect>> = {
  vscode,
  "claude-code": claudeCode,
  "copilot-cli": copilotCli,
  codex,
  cursor,
  "gemini-cli": geminiCli,
};

/** The dialect a payload's shape says it is, or undefined when it fits none. */
export function sniffDialect(payload: Record<string, unknown>): Dialect | undefined {
  if (has(payload, "toolName") || has(payload, "toolArgs")) return copilotCli;
  return SNIFF_ORDER.find((d) => d.fits(payload));
}

/**
 * The answer for a payload no dialect could read under `--host auto`: every host's deny field at once, so
 * whichever host reads it finds its own. (Codex would see unknown fields and fail open; nothing better
 * exists when the host is unknown — install with an explicit `--host`.)
 */
export function renderUnknownHost(answer: HookAnswer): string {
  if (answer.kind !== "deny") return "{}";
  const reason = clip(answer.reason);
  return json({
    hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: "deny", permissionDecisionReason: reason },
    permissionDecision: "deny",
    permissionDecisionReason: reason,
    permission: "deny",
    user_message: reason,
    agent_message: reason,
    decision: "deny",
    reason,
  });
}

/**
 * The dialect of a session-end payload under `--host auto`: only the marks that tell hosts apart there
 * (Cursor's ids, Copilot's camelCase). Claude Code, Codex and Gemini send the same SessionEnd shape, so
 * theirs is not guessed: the installed commands carry `--host`.
 */
export function sniffSessionEnd(payload: Record<string, unknown>): Dialect | undefined {
  if (has(payload, "conversation_id") || has(payload, "cursor_version")) return cursor;
  if (has(payload, "sessionId") || has(payload, "hookEventName")) return copilotCli;
  return undefined;
}
