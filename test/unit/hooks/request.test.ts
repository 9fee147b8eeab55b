import { strict as assert } from "node:assert";
import { HOOK_MAX_BODY_BYTES, HOOK_MAX_NESTING_DEPTH } from "../../../sidecar/hooks/adapter";
import { DIALECTS, sniffDialect } from "../../../sidecar/hooks/dialects";
import type { HookHost } from "../../../sidecar/hooks/hosts";
import { derivedToolUseId, guardBody, patchPaths } from "../../../sidecar/hooks/request";
import { MAX_BODY_BYTES, MAX_NESTING_DEPTH } from "../../../sidecar/protocol/v1";
import { COPILOT_PASCAL, DOCUMENTED } from "./payloads";

/** The guard request a hook makes (issue 12 contract, item 4), per host. */

function bodyOf(host: HookHost, payload: Record<string, unknown>, processCwd = "/proc/cwd") {
  const dialect = DIALECTS[host];
  const parsed = dialect.schema().safeParse(payload);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return guardBody(dialect, dialect.read(parsed.data), processCwd);
}

describe("hooks: the guard request", () => {
  it("Claude Code's documented Bash call: agent key, host tool name, shell vocabulary, metadata", () => {
    assert.deepEqual(bodyOf("claude-code", DOCUMENTED["claude-code"]), {
      agent_key: "claude-code",
      tool: { name: "Bash", provider: "claude-code" },
      action: { type: "execute", name: "Bash" },
      resource: { type: "shell_command" },
      risk_level: "high",
      arguments: { command: "npm test", description: "Run test suite", timeout: 120000, run_in_background: false },
      metadata: {
        cwd: "/home/user/my-project",
        hook: { host: "claude-code", session_id: "abc123", tool_use_id: "toolu_01ABC123", transcript_path: "/home/user/.claude/projects/p/transcript.jsonl" },
      },
    });
  });

  it("a Claude subagent is decided under claude-code/<agent_type>", () => {
    const body = bodyOf("claude-code", { ...DOCUMENTED["claude-code"], agent_id: "a1", agent_type: "Explore" });
    assert.equal(body.agent_key, "claude-code/Explore");
  });

  it("each host's vocabulary: read, write, fetch, agent; unknown tools carry no action (engine inference)", () => {
    const cases: [HookHost, string, Record<string, unknown>, string | undefined, string | undefined, string | undefined][] = [
      ["claude-code", "Read", { file_path: "/x/.env" }, "read", "file", "low"],
      ["claude-code", "MultiEdit", { file_path: "/x/a.ts", edits: [] }, "update", "file", "medium"],
      ["claude-code", "NotebookEdit", { notebook_path: "/x/a.ipynb" }, "update", "file", "medium"],
      ["claude-code", "Glob", { pattern: "**/*.ts" }, "read", "file", "low"],
      ["claude-code", "WebFetch", { url: "https://x", prompt: "p" }, "read", "http_request", "medium"],
      ["claude-code", "Task", { prompt: "p", subagent_type: "Explore" }, "execute", "agent", "low"],
      ["claude-code", "TodoWrite", { todos: [] }, undefined, undefined, undefined],
      ["vscode", "read_file", { filePath: "/x/a" }, "read", "file", "low"],
      ["vscode", "replace_string_in_file", { filePath: "/x/a" }, "update", "file", "medium"],
      ["vscode", "fetch_webpage", { urls: ["https://x"] }, "read", "http_request", "medium"],
      ["vscode", "runSubagent", { prompt: "p" }, "execute", "agent", "low"],
      ["gemini-cli", "write_file", { file_path: "/x", content: "" }, "update", "file", "medium"],
      ["gemini-cli", "web_fetch", { prompt: "https://x" }, "read", "http_request", "medium"],
      ["cursor", "Write", { file_path: "/x" }, "update", "file", "medium"],
      ["codex", "apply_patch", { command: "*** Begin Patch\n*** End Patch" }, "update", "file", "medium"],
    ];
    for (const [host, tool, input, action, resource, risk] of cases) {
      const base = DOCUMENTED[host];
      const body = bodyOf(host, { ...base, tool_name: tool, tool_input: input });
      assert.equal(body.action?.type, action, `${host} ${tool}`);
      assert.equal(body.action?.name, action === undefined ? undefined : tool);
      assert.equal(body.resource?.type, resource, `${host} ${tool}`);
      assert.equal(body.risk_level, risk, `${host} ${tool}`);
      assert.deepEqual(body.tool, { name: tool, provider: host });
    }
  });

  it("MCP tools: provider mcp, name server.tool (mcp__server__tool, Cursor MCP:<name>)", () => {
    const claude = bodyOf("claude-code", { ...DOCUMENTED["claude-code"], tool_name: "mcp__github__create_issue", tool_input: { title: "t" } });
    assert.deepEqual(claude.tool, { name: "github.create_issue", provider: "mcp" });
    assert.equal(claude.action, undefined);
    assert.equal(claude.risk_level, undefined);
    const codex = bodyOf("codex", { ...DOCUMENTED.codex, tool_name: "mcp__fs__read_file", tool_input: {} });
    assert.deepEqual(codex.tool, { name: "fs.read_file", provider: "mcp" });
    const cursor = bodyOf("cursor", { ...DOCUMENTED.cursor, tool_name: "MCP:fetch", tool_input: '{"url":"https://x"}' });
    assert.deepEqual(cursor.tool, { name: "fetch", provider: "mcp" });
    assert.deepEqual(cursor.arguments, { url: "https://x" });
  });

  it("Copilot CLI: toolArgs sent as a JSON string is parsed; no tool-use id, so one is derived the same in pre and post", () => {
    const body = bodyOf("copilot-cli", DOCUMENTED["copilot-cli"]);
    assert.equal(body.agent_key, "copilot-cli");
    assert.deepEqual(body.arguments, { command: "rm -rf dist", description: "Clean build directory" });
    assert.deepEqual(body.tool, { name: "bash", provider: "copilot-cli" });
    assert.equal(body.action?.type, "execute");
    const id = body.metadata.hook.tool_use_id;
    assert.equal(id, derivedToolUseId("sess-7", "bash", { description: "Clean build directory", command: "rm -rf dist" }), "key order does not matter");
    const post = bodyOf("copilot-cli", { ...DOCUMENTED["copilot-cli"], toolResult: { resultType: "success", textResultForLlm: "ok" } });
    assert.equal(post.metadata.hook.tool_use_id, id);
    assert.notEqual(derivedToolUseId("sess-7", "bash", { command: "ls" }), id);
    // toolArgs as an object (the newer reference's `unknown`) reads the same.
    assert.deepEqual(bodyOf("copilot-cli", { ...DOCUMENTED["copilot-cli"], toolArgs: { command: "rm -rf dist" } }).arguments, { command: "rm -rf dist" });
    // The PascalCase payload uses Claude's tool names.
    const pascal = bodyOf("copilot-cli", COPILOT_PASCAL);
    assert.deepEqual(pascal.tool, { name: "Bash", provider: "copilot-cli" });
    assert.equal(pascal.metadata.hook.session_id, "sess-8");
  });

  it("Codex apply_patch is sent as {patch, paths}, never as a shell command", () => {
    const patch = [
      "*** Begin Patch",
      "*** Add File: src/new.ts",
      "+export {};",
      "*** Update File: src/old.ts",
      "*** Move to: src/renamed.ts",
      "@@",
      "-a",
      "+b",
      "*** Delete File: /etc/hosts",
      "*** End Patch",
    ].join("\n");
    const body = bodyOf("codex", { ...DOCUMENTED.codex, tool_name: "apply_patch", tool_input: { command: patch } });
    assert.deepEqual(body.arguments, { patch, paths: ["src/new.ts", "src/old.ts", "src/renamed.ts", "/etc/hosts"] });
    assert.equal(body.resource?.type, "file");
    assert.deepEqual(patchPaths("*** Begin Patch\r\n*** Update File: a b.txt\r\n*** End Patch"), ["a b.txt"]);
  });

  it("Codex's `apply_patch <<'EOF'` shell call (applied by Codex as a patch) is judged as the file write it is; any other shape stays a shell command", () => {
    const patch = "*** Begin Patch\n*** Update File: /home/u/.env\n@@\n-A=1\n+A=2\n*** End Patch";
    const command = `apply_patch <<'EOF'\n${patch}\nEOF\n`;
    const body = bodyOf("codex", { ...DOCUMENTED.codex, tool_name: "Bash", tool_input: { command } });
    assert.deepEqual(body.arguments, { command, patch, paths: ["/home/u/.env"] });
    assert.deepEqual([body.action?.type, body.resource?.type], ["update", "file"]);
    for (const other of [
      `apply_patch <<EOF\n${patch}\nEOF`, // unquoted: a shell would expand the body
      `apply_patch <<'EOF'\n${patch}\nEOF\nrm -rf ~`, // something after the heredoc
      `cd x && apply_patch <<'EOF'\n${patch}\nEOF`,
      `apply_patch <<'EOF'\nnot a patch\nEOF`,
    ]) {
      const shell = bodyOf("codex", { ...DOCUMENTED.codex, tool_name: "Bash", tool_input: { command: other } });
      assert.deepEqual([shell.resource?.type, shell.arguments], ["shell_command", { command: other }], other);
    }
    const claude = bodyOf("claude-code", { ...DOCUMENTED["claude-code"], tool_name: "Bash", tool_input: { command } });
    assert.equal(claude.resource?.type, "shell_command", "only Codex applies such a call as a patch");
  });

  it("metadata.cwd is absolute: a relative or missing payload cwd resolves against the hook's own", () => {
    assert.equal(bodyOf("claude-code", { ...DOCUMENTED["claude-code"], cwd: "sub/dir" }, "/work").metadata.cwd, "/work/sub/dir");
    const { cwd: _cwd, ...noCwd } = DOCUMENTED.vscode;
    assert.equal(bodyOf("vscode", noCwd, "/work").metadata.cwd, "/work");
    const { cwd: _c, ...cursorNoCwd } = DOCUMENTED.cursor;
    assert.equal(bodyOf("cursor", cursorNoCwd).metadata.cwd, "/home/u/proj", "Cursor: the first workspace root");
  });

  it("VS Code: both spellings of the common fields (6/3 docs camelCase, 9/16 docs and code snake_case)", () => {
    const { session_id: _s, hook_event_name: _h, ...rest } = DOCUMENTED.vscode;
    const camel = bodyOf("vscode", { ...rest, sessionId: "9b1c", hookEventName: "PreToolUse" });
    assert.equal(camel.metadata.hook.session_id, "9b1c");
  });

  it("sniffing (HOOKS.md §8.2): each documented payload is its own host's", () => {
    for (const [host, payload] of Object.entries(DOCUMENTED)) assert.equal(sniffDialect(payload)?.host, host, host);
    assert.equal(sniffDialect(COPILOT_PASCAL)?.host, "copilot-cli");
    assert.equal(sniffDialect({ hello: 1 }), undefined);
  });

  it("the hook's nesting and body limits are the sidecar's", () => {
    assert.equal(HOOK_MAX_NESTING_DEPTH, MAX_NESTING_DEPTH);
    assert.equal(HOOK_MAX_BODY_BYTES, MAX_BODY_BYTES);
  });
});
