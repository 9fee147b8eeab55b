import { strict as assert } from "node:assert";
import { runHook, type HookOptions } from "../../../sidecar/hooks/adapter";
import { DIALECTS } from "../../../sidecar/hooks/dialects";
import type { HookSettings } from "../../../sidecar/hooks/hookSettings";
import { parseHookArgs } from "../../../sidecar/hooks/hookProcess";
import type { HookHost } from "../../../sidecar/hooks/hosts";
import { endOutcome } from "../../../sidecar/server/hookSessions";
import { scriptedEnvironment, type Script } from "./scriptedSidecar";

/**
 * `apie hook --event end` (docs/coding-agents.md, "Session end"): each host's session-end payload → one POST
 * /v1/hooks/session-end naming the host's session, and the host's no-opinion answer, whatever happens.
 */

async function run(text: string, options: Partial<HookOptions>, script: Script = {}, settings: Partial<HookSettings> = {}) {
  const scripted = scriptedEnvironment(script, settings);
  const out = await runHook({ host: "claude-code", event: "end", timeoutS: 10, ...options }, { text }, scripted.env);
  return { out, ...scripted };
}

/** The session-end payloads as each host documents (or, for Claude Code and Codex, sends) them. */
const END_PAYLOADS: Record<Exclude<HookHost, "vscode">, { payload: Record<string, unknown>; sessionId: string; cwd: string; reason: string }> = {
  "claude-code": {
    payload: { session_id: "c0ffee", transcript_path: "/home/u/.claude/projects/x/c0ffee.jsonl", cwd: "/home/u/src/app", permission_mode: "default", hook_event_name: "SessionEnd", reason: "prompt_input_exit" },
    sessionId: "c0ffee",
    cwd: "/home/u/src/app",
    reason: "prompt_input_exit",
  },
  // session-end.command.input of Codex 0.171.0: exactly these fields, reason always "other".
  codex: {
    payload: { session_id: "019a-thread", transcript_path: null, cwd: "/home/u/src/app", hook_event_name: "SessionEnd", reason: "other" },
    sessionId: "019a-thread",
    cwd: "/home/u/src/app",
    reason: "other",
  },
  "copilot-cli": {
    payload: { sessionId: "cp-1", timestamp: 1704618000000, cwd: "/home/u/src/app", reason: "complete" },
    sessionId: "cp-1",
    cwd: "/home/u/src/app",
    reason: "complete",
  },
  cursor: {
    payload: { conversation_id: "conv-9", generation_id: "gen-1", hook_event_name: "sessionEnd", cursor_version: "3.9.16", workspace_roots: ["/home/u/src/app"], reason: "user_close", duration_ms: 5000 },
    sessionId: "conv-9",
    cwd: "/home/u/src/app",
    reason: "user_close",
  },
  "gemini-cli": {
    payload: { session_id: "gem-1", transcript_path: "/tmp/t.json", cwd: "/home/u/src/app", hook_event_name: "SessionEnd", timestamp: "2026-12-07T06:00:00Z", reason: "exit" },
    sessionId: "gem-1",
    cwd: "/home/u/src/app",
    reason: "exit",
  },
};

describe("hooks: the session-end event (--event end)", () => {
  for (const [host, c] of Object.entries(END_PAYLOADS) as [Exclude<HookHost, "vscode">, (typeof END_PAYLOADS)["codex"]][]) {
    it(`${host}: its session end → one POST /v1/hooks/session-end with the host's session and reason; the answer is no opinion`, async () => {
      const { out, requests } = await run(JSON.stringify(c.payload), { host });
      assert.equal(out, host === "codex" ? "" : "{}");
      assert.deepEqual(requests, [{ method: "POST", path: "/v1/hooks/session-end", body: { host, session_id: c.sessionId, cwd: c.cwd, reason: c.reason } }]);
    });
  }

  it("a payload with no session id ends the cwd's session (null), relative to the hook's directory", async () => {
    const { requests } = await run(JSON.stringify({ hook_event_name: "SessionEnd", reason: "other" }), { host: "gemini-cli" });
    assert.deepEqual(requests.map((r) => r.body), [{ host: "gemini-cli", session_id: null, cwd: "/home/u/src/app", reason: "other" }]);
  });

  it("a per-turn Stop wired to --event end by hand ends nothing (Claude Code, Codex, Gemini's AfterAgent)", async () => {
    for (const [host, event] of [["claude-code", "Stop"], ["codex", "Stop"], ["gemini-cli", "AfterAgent"], ["cursor", "stop"]] as const) {
      const { out, requests, logs } = await run(JSON.stringify({ session_id: "s", conversation_id: "s", cwd: "/x", hook_event_name: event, turn_id: "t1", stop_hook_active: false }), { host });
      assert.equal(out, host === "codex" ? "" : "{}");
      assert.deepEqual(requests, [], host);
      assert.match(logs.join("\n"), /is not .* session end/);
    }
  });

  it("VS Code's Local harness has no session end: nothing sent, no opinion", async () => {
    assert.equal(DIALECTS.vscode.end, undefined);
    const { out, requests, logs } = await run(JSON.stringify({ hookEventName: "Stop", sessionId: "v1", cwd: "/x" }), { host: "vscode" });
    assert.equal(out, "{}");
    assert.deepEqual(requests, []);
    assert.match(logs.join("\n"), /vscode has no session-end event/);
  });

  it("never decides: sidecar down, missing, erroring, or a garbled payload → no opinion, even with fail_closed", async () => {
    const claude = JSON.stringify(END_PAYLOADS["claude-code"].payload);
    for (const script of [{ down: true }, { missing: true }, { reply: { status: 500, json: { error: { message: "boom" } } } }] as Script[]) {
      assert.equal((await run(claude, {}, script, { failureMode: "fail_closed" })).out, "{}");
      assert.equal((await run(claude, { host: "codex" }, script, { failureMode: "fail_closed" })).out, "");
    }
    for (const text of ["{not json", "", "[]", JSON.stringify({ session_id: 42, hook_event_name: "SessionEnd" })]) {
      const { out, requests } = await run(text, {}, {}, { failureMode: "fail_closed" });
      assert.equal(out, "{}");
      assert.deepEqual(requests, []);
    }
  });

  it("--host auto: Cursor's and Copilot's marks are recognised; the shared SessionEnd shape of Claude/Codex/Gemini is not guessed", async () => {
    const cursor = await run(JSON.stringify(END_PAYLOADS.cursor.payload), { host: "auto" });
    assert.equal((cursor.requests[0]?.body as { host: string }).host, "cursor");
    const copilot = await run(JSON.stringify(END_PAYLOADS["copilot-cli"].payload), { host: "auto" });
    assert.equal((copilot.requests[0]?.body as { host: string }).host, "copilot-cli");
    const claude = await run(JSON.stringify(END_PAYLOADS["claude-code"].payload), { host: "auto" });
    assert.equal(claude.out, "{}");
    assert.deepEqual(claude.requests, []);
  });

  it("`--event end` is an event of the command line", () => {
    assert.equal(parseHookArgs(["--host", "codex", "--event", "end"], () => undefined).event, "end");
  });

  it("the host's reason → the run's and session's outcome: error → failed, abort → cancelled, else completed", () => {
    assert.deepEqual(endOutcome("claude-code", "prompt_input_exit"), { status: "completed", summary: "Claude Code session ended (prompt_input_exit)" });
    assert.equal(endOutcome("cursor", "error").status, "failed");
    assert.equal(endOutcome("cursor", "aborted").status, "cancelled");
    assert.equal(endOutcome("copilot-cli", "abort").status, "cancelled");
    assert.equal(endOutcome("codex", undefined).summary, "Codex session ended");
  });
});
