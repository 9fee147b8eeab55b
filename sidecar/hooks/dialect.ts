import type { ZodMiniType } from "zod/mini";
import type { HookHost } from "./hosts";
import type { ToolVocabulary } from "./vocabulary";

/**
 * A host's hook dialect, described as data: how to recognise its payload, the zod schema that validates it,
 * how its fields map onto one {@link HookCall}, its tool table, and how it wants each kind of answer written.
 * One adapter core (adapter.ts) serves every dialect; adding a host means adding one of these (dialects.ts).
 * Facts per host: ../shared/research/HOOKS.md (sections 1–6, 8.2, 8.3).
 */
export interface Dialect {
  host: HookHost;
  /** The host's default hook timeout in seconds, for a hook run without `--timeout`. */
  defaultTimeoutS: number;
  /** Whether a parsed JSON payload has this host's shape (HOOKS.md §8.2); checked in DIALECTS order. */
  fits(payload: Record<string, unknown>): boolean;
  /** The payload as this host sends it (pre and post events). Loose: fields we do not read pass. Built on first use. */
  schema(): ZodMiniType<unknown>;
  /** The validated payload as the adapter's one call shape. */
  read(payload: any): HookCall;
  tools: ToolVocabulary;
  /** The answer on stdout: the exact text (Codex: "" for no opinion). */
  render(answer: HookAnswer, event: HookEvent): string;
  /**
   * The host's session end (`apie hook --event end`), or undefined where the host has none: VS Code's Local
   * harness has only `Stop`, which ends a request, not the session (docs/coding-agents.md, "Session end").
   */
  end: SessionEndDialect | undefined;
}

/**
 * `pre`: before a tool call (decides); `post`: after it (records its outcome); `end`: the host's session
 * ended (completes its Apie session and runs). `post` and `end` never decide: their answer is no opinion.
 */
export type HookEvent = "pre" | "post" | "end";

/** How a host says its session ended: the event's payload, as data like the tool-call payloads. */
export interface SessionEndDialect {
  /** The host's event names that end a session (never a per-turn `Stop`). */
  events: readonly string[];
  /** The end payload as the host sends it. Loose, like the tool-call schemas. */
  schema(): ZodMiniType<unknown>;
  read(payload: any): HookSessionEnd;
}

/** A session end as every dialect reads it. */
export interface HookSessionEnd {
  /** The host's session id (Cursor: conversation id); undefined when it sent none. */
  sessionId: string | undefined;
  cwd: string | undefined;
  /** The host's reason, as sent (Claude Code: `clear`, `logout`, `prompt_input_exit`, `other`…). */
  reason: string | undefined;
}

/** One tool call as every dialect reads it. */
export interface HookCall {
  event: HookEvent;
  /** The host's session id (Cursor: conversation id); undefined when the host sent none. */
  sessionId: string | undefined;
  toolName: string;
  /** The tool input as sent (a JSON string is parsed later, in request.ts). */
  toolInput: unknown;
  /** The host's id of this call; Copilot CLI has none (request.ts derives one). */
  toolUseId: string | undefined;
  cwd: string | undefined;
  /** A subagent's type (Claude Code, Codex): the call is decided under `<host key>/<type>`. */
  subagentType: string | undefined;
  transcriptPath: string | undefined;
  /** Post event only: why the call failed, undefined when it completed. */
  failure: string | undefined;
}

/**
 * What the adapter answers, before the host's format:
 * - none: no opinion — the host's own safeguards and prompts stay in charge; `warning` is shown where the
 *   host can show one (systemMessage), else written to stderr;
 * - allow: an explicit allow (after an approval) — skips the host's own prompt where the host has one;
 * - deny: refused, `reason` reaches the model (and the user);
 * - ask: the host's own prompt decides (only where the host has one: HOOK_HOST_INFO nativeAsk).
 */
export type HookAnswer =
  | { kind: "none"; warning?: string | undefined }
  | { kind: "allow"; reason?: string | undefined }
  | { kind: "deny"; reason: string }
  | { kind: "ask"; reason: string };

/** Output strings are capped by hosts (Claude: 10 000 chars); ours stay well below. */
const MAX_MESSAGE = 4_000;
export const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text);

const json = (value: unknown): string => JSON.stringify(value);

/**
 * Claude Code's PreToolUse answer, which VS Code's Local harness also speaks: `hookSpecificOutput` with
 * `permissionDecision` allow/deny/ask, `systemMessage` for a warning, `{}` for no opinion.
 */
export function renderHookSpecific(answer: HookAnswer, event: HookEvent, extraFlat = false): string {
  if (event !== "pre" || answer.kind === "none") {
    const warning = answer.kind === "none" ? answer.warning : undefined;
    return warning === undefined || extraFlat ? "{}" : json({ systemMessage: clip(warning) });
  }
  const reason = answer.kind === "allow" ? answer.reason : answer.reason;
  const specific = {
    hookEventName: "PreToolUse",
    permissionDecision: answer.kind,
    ...(reason === undefined ? {} : { permissionDecisionReason: clip(reason) }),
  };
  // Copilot CLI: the flat fields are its documented answer; hookSpecificOutput is what it (1.0.66+) and VS Code
  // also act on for PascalCase configs (HOOKS.md §3.3). Both in one object is the safe choice.
  if (extraFlat) {
    return json({
      permissionDecision: answer.kind,
      ...(reason === undefined ? {} : { permissionDecisionReason: clip(reason) }),
      hookSpecificOutput: specific,
    });
  }
  return json({ hookSpecificOutput: specific });
}

/**
 * Schemas are built on first use: a hook process validates one payload with one dialect's schema, so it
 * builds that one only (start-up time is what a hook costs on every tool call; bench/hook.bench.ts).
 */
export function once<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
