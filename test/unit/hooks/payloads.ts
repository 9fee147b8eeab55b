/**
 * Each host's pre-tool-use payload as HOOKS.md documents it (sections 1.4, 2.3, 3.2, 4, 5, 6), a shell call
 * `rm -rf build`-style unless a test changes the input. Shared by the contract tests and the fuzzer.
 */
import type { HookHost } from "../../../sidecar/hooks/hosts";

export const DOCUMENTED: Record<HookHost, Record<string, unknown>> = {
  // §1.4, constructed from [V2] + [C2]
  vscode: {
    timestamp: "2026-10-02T09:14:03.120Z",
    hook_event_name: "PreToolUse",
    session_id: "9b1c",
    transcript_path: "/home/u/.vscode/transcripts/9b1c.json",
    cwd: "/home/u/src/app",
    tool_name: "run_in_terminal",
    tool_input: { command: "rm -rf build", explanation: "clean", isBackground: false },
    tool_use_id: "call_x8",
  },
  // §2.3 [CC1]
  "claude-code": {
    session_id: "abc123",
    prompt_id: "550e8400-e29b-41d4-a716-446655440000",
    transcript_path: "/home/user/.claude/projects/p/transcript.jsonl",
    cwd: "/home/user/my-project",
    permission_mode: "default",
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    tool_input: { command: "npm test", description: "Run test suite", timeout: 120000, run_in_background: false },
    tool_use_id: "toolu_01ABC123",
  },
  // §3.2, camelCase config [G1]
  "copilot-cli": {
    sessionId: "sess-7",
    timestamp: 1704614600000,
    cwd: "/path/to/project",
    toolName: "bash",
    toolArgs: '{"command":"rm -rf dist","description":"Clean build directory"}',
  },
  // §4 [X5][R6]
  codex: {
    session_id: "019a-codex",
    turn_id: "turn-3",
    transcript_path: null,
    cwd: "/home/u/repo",
    hook_event_name: "PreToolUse",
    model: "gpt-5-codex",
    permission_mode: "on-request",
    tool_name: "Bash",
    tool_input: { command: "cargo test" },
    tool_use_id: "call_codex_1",
  },
  // §5 [CU1]
  cursor: {
    conversation_id: "conv-1",
    generation_id: "gen-1",
    model: "auto",
    hook_event_name: "preToolUse",
    cursor_version: "3.9.16",
    workspace_roots: ["/home/u/proj"],
    user_email: "u@example.com",
    transcript_path: "/home/u/.cursor/t.jsonl",
    tool_name: "Shell",
    tool_input: { command: "ls -la" },
    tool_use_id: "tool-1",
    cwd: "/home/u/proj",
  },
  // §6 [GE1]
  "gemini-cli": {
    session_id: "gem-1",
    transcript_path: "/home/u/.gemini/tmp/chat.json",
    cwd: "/home/u/g",
    hook_event_name: "BeforeTool",
    timestamp: "2026-10-02T09:14:03Z",
    tool_name: "run_shell_command",
    tool_input: { command: "ls" },
    mcp_context: null,
  },
};

/** Copilot CLI's PascalCase ("VS Code compatible") payload, §3.2. */
export const COPILOT_PASCAL = {
  hook_event_name: "PreToolUse",
  session_id: "sess-8",
  timestamp: "2026-10-02T09:14:03Z",
  cwd: "/path",
  tool_name: "Bash",
  tool_input: { command: "rm -rf dist" },
};
