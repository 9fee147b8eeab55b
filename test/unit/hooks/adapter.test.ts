import { strict as assert } from "node:assert";
import { MAX_PAYLOAD_BYTES, runHook, type HookOptions } from "../../../sidecar/hooks/adapter";
import type { HookSettings } from "../../../sidecar/hooks/hookSettings";
import { DOCUMENTED } from "./payloads";
import { scriptedEnvironment, type Script } from "./scriptedSidecar";

/** Payloads that cannot be guarded, hosts that disagree with --host, the post event. */

async function run(text: string | { tooLarge: number }, options: Partial<HookOptions>, script: Script = {}, settings: Partial<HookSettings> = {}) {
  const scripted = scriptedEnvironment(script, settings);
  const out = await runHook({ host: "claude-code", event: "pre", timeoutS: 900, ...options }, typeof text === "string" ? { text } : text, scripted.env);
  return { out, ...scripted };
}

const claudeDeny = (reason: string) => JSON.stringify({ hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: "deny", permissionDecisionReason: reason } });
const claude = JSON.stringify(DOCUMENTED["claude-code"]);

describe("hooks: payloads that cannot be guarded → the safe answer", () => {
  const unreadable: [string, string, string][] = [
    ["garbled", "{not json", "the hook payload is not JSON (garbled or truncated)"],
    ["truncated", claude.slice(0, claude.length / 2), "the hook payload is not JSON (garbled or truncated)"],
    ["empty", "", "the hook payload is empty"],
    ["not an object", "[1,2,3]", "the hook payload is not a JSON object"],
    ["wrong field types", JSON.stringify({ ...DOCUMENTED["claude-code"], tool_name: 42 }), "the claude-code payload is invalid (tool_name: expected string)"],
  ];
  for (const [what, text, why] of unreadable) {
    it(`${what}: fail_closed → deny; fail_open → no opinion with a warning; nothing is sent`, async () => {
      const closed = await run(text, {}, {}, { failureMode: "fail_closed" });
      assert.equal(closed.out, claudeDeny(`apie guard unavailable (${why}); hooks.failureMode is fail_closed`));
      assert.equal(closed.requests.length, 0);
      const open = await run(text, {}, {}, { failureMode: "fail_open" });
      assert.equal(open.out, JSON.stringify({ systemMessage: `apie: guard unavailable (${why}); this call is not guarded (hooks.failureMode: fail_open)` }));
    });
  }

  it("a payload over 8 MiB → deny whatever the failure mode (the sidecar refuses large bodies too)", async () => {
    for (const failureMode of ["fail_open", "fail_closed"] as const) {
      const claudeOut = await run({ tooLarge: MAX_PAYLOAD_BYTES + 1 }, {}, {}, { failureMode });
      assert.equal(claudeOut.out, claudeDeny("apie: the hook payload is larger than 8388608 bytes, too large to inspect"));
      const codex = await run({ tooLarge: MAX_PAYLOAD_BYTES + 1 }, { host: "codex" }, {}, { failureMode });
      assert.equal(codex.out, claudeDeny("apie: the hook payload is larger than 8388608 bytes, too large to inspect"));
      assert.equal(codex.requests.length, 0);
    }
  });

  it("--host auto with no recognisable shape: every host's deny fields at once (fail_closed), {} (fail_open)", async () => {
    const closed = await run(JSON.stringify({ something: "else" }), { host: "auto" }, {}, { failureMode: "fail_closed" });
    const answer = JSON.parse(closed.out) as Record<string, unknown>;
    assert.equal(answer.permissionDecision, "deny");
    assert.equal(answer.permission, "deny");
    assert.equal(answer.decision, "deny");
    assert.equal((answer.hookSpecificOutput as { permissionDecision: string }).permissionDecision, "deny");
    const open = await run(JSON.stringify({ something: "else" }), { host: "auto" });
    assert.equal(open.out, "{}");
  });

  it("fail_closed with hooks.approvals \"host\" on a host with its own prompt: ask instead of deny", async () => {
    const { out } = await run("{not json", {}, {}, { failureMode: "fail_closed", approvals: "host" });
    assert.match(out, /"permissionDecision":"ask"/);
  });

  it("arguments nested past the sidecar's limit → deny without asking it", async () => {
    const deep = `${'{"d":'.repeat(5_000)}"x"${"}".repeat(5_000)}`;
    const { out, requests } = await run(claude.replace('{"command":"npm test","description":"Run test suite","timeout":120000,"run_in_background":false}', deep), {});
    assert.equal(out, claudeDeny("apie: the Bash input is nested deeper than 64 levels, too deep to inspect"));
    assert.equal(requests.length, 0);
  });
});

describe("hooks: the host is chosen by --host and checked against the payload", () => {
  it("--host vscode with a Claude payload (VS Code's Claude harness) is answered as Claude Code", async () => {
    const { requests, logs } = await run(claude, { host: "vscode" });
    assert.equal((requests[0]!.body as { agent_key: string }).agent_key, "claude-code");
    assert.ok(logs.some((l) => l.includes("the payload is claude-code's")));
  });

  it("--host copilot-cli with a Codex payload answers in Codex's format (empty stdout for no opinion)", async () => {
    const { out, requests } = await run(JSON.stringify(DOCUMENTED.codex), { host: "copilot-cli" });
    assert.equal(out, "");
    assert.equal((requests[0]!.body as { agent_key: string }).agent_key, "codex");
  });

  it("--host auto sniffs each documented payload", async () => {
    for (const [host, payload] of Object.entries(DOCUMENTED)) {
      const { requests } = await run(JSON.stringify(payload), { host: "auto" });
      assert.equal((requests[0]!.body as { tool: { provider: string } }).tool.provider, host);
    }
  });

  it("an explicit allow guardrail → an explicit allow (the host's prompt is skipped)", async () => {
    const { out } = await run(claude, {}, { decision: { matched_guardrails: [{ key: "tests-ok", decision: "allow", reason: "npm test" }] } });
    assert.equal(out, JSON.stringify({ hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: "allow", permissionDecisionReason: "apie: allowed by tests-ok" } }));
  });

  it("a sidecar without the hook routes (older than the hook) → deny, saying to restart it", async () => {
    const { out } = await run(claude, {}, { reply: { status: 404, json: { error: { code: "not_found", message: "no route POST /v1/hooks/evaluate" } } } });
    assert.equal(out, claudeDeny("apie: the guard refused the request: no route POST /v1/hooks/evaluate (not_found); the running sidecar is older than this hook: restart it (or the editor)"));
  });

  it("SIGTERM while the first request is in flight: its answer still comes, and the approval it opened is cancelled", async () => {
    const approval = { enforcement_action: "wait_for_approval", effective_decision: "require_approval", reason: "r", approval_request: { id: "apr_8", status: "pending" } };
    const script: Script = { decision: approval, approval: "timeout" };
    const scripted = scriptedEnvironment(script);
    script.duringEvaluate = () => scripted.abort();
    const out = await runHook({ host: "claude-code", event: "pre", timeoutS: 900 }, { text: claude }, scripted.env);
    assert.equal(out, claudeDeny("apie: Claude Code cancelled the hook while it waited for approval apr_8; the approval was cancelled"));
    assert.ok(scripted.requests.some((r) => r.path === "/v1/approvals/apr_8/cancel"));
  });

  it("the deadline counts from the hook's start (the host's timeout does), not from when stdin was read", async () => {
    const approval = { enforcement_action: "wait_for_approval", effective_decision: "require_approval", reason: "r", approval_request: { id: "apr_7", status: "pending" } };
    const scripted = scriptedEnvironment({ decision: approval, approval: "timeout" });
    const out = await runHook({ host: "claude-code", event: "pre", timeoutS: 60 }, { text: claude }, { ...scripted.env, startedAt: scripted.env.now() - 50_000 });
    assert.match(out, /approval timed out/);
    const waited = scripted.requests.filter((r) => r.path.includes("/wait?")).reduce((sum, r) => sum + Number(/timeout=(\d+)/.exec(r.path)![1]), 0);
    assert.equal(waited, 5_000, "60 s − 5 s margin − 50 s already spent");
  });

  it("an approved grant that cannot be redeemed → deny", async () => {
    const approval = { enforcement_action: "wait_for_approval", effective_decision: "require_approval", reason: "r", approval_request: { id: "apr_9", status: "pending" } };
    const { out } = await run(claude, {}, { decision: approval, approval: "approved", redeemed: { enforcement_action: "block", reason: "grant already used" } });
    assert.equal(out, claudeDeny("apie: the approval apr_9 for this call could not be redeemed — grant already used"));
  });
});

describe("hooks: the post-tool-use event records the outcome and never decides", () => {
  it("Claude PostToolUse → completed; PostToolUseFailure → failed with the error", async () => {
    const post = { ...DOCUMENTED["claude-code"], hook_event_name: "PostToolUse", tool_response: { stdout: "ok" } };
    const ok = await run(JSON.stringify(post), { event: "post" });
    assert.equal(ok.out, "{}");
    assert.deepEqual(ok.requests.map((r) => r.path), ["/v1/hooks/outcome"]);
    assert.deepEqual(ok.requests[0]!.body, {
      agent_key: "claude-code",
      tool: { name: "Bash", provider: "claude-code" },
      metadata: {
        cwd: "/home/user/my-project",
        hook: { host: "claude-code", session_id: "abc123", tool_use_id: "toolu_01ABC123", transcript_path: "/home/user/.claude/projects/p/transcript.jsonl" },
      },
      status: "completed",
    });
    const failed = await run(JSON.stringify({ ...post, hook_event_name: "PostToolUseFailure", error: "exit 1" }), { event: "post" });
    assert.equal((failed.requests[0]!.body as { status: string }).status, "failed");
    assert.equal((failed.requests[0]!.body as { error: string }).error, "exit 1");
  });

  it("each host's post event: Copilot toolResult, Cursor postToolUseFailure, Gemini AfterTool error, Codex empty stdout", async () => {
    const copilot = await run(JSON.stringify({ ...DOCUMENTED["copilot-cli"], toolResult: { resultType: "failure", textResultForLlm: "boom" } }), { host: "copilot-cli", event: "post" });
    assert.equal((copilot.requests[0]!.body as { error: string }).error, "boom");
    assert.equal(copilot.out, "{}");
    const cursor = await run(JSON.stringify({ ...DOCUMENTED.cursor, hook_event_name: "postToolUseFailure", error_message: "denied" }), { host: "cursor", event: "post" });
    assert.equal((cursor.requests[0]!.body as { error: string }).error, "denied");
    const gemini = await run(JSON.stringify({ ...DOCUMENTED["gemini-cli"], hook_event_name: "AfterTool", tool_response: { error: { message: "nope" } } }), { host: "gemini-cli" });
    assert.equal((gemini.requests[0]!.body as { status: string }).status, "failed");
    const codex = await run(JSON.stringify({ ...DOCUMENTED.codex, hook_event_name: "PostToolUse", tool_response: { exit_code: 2 } }), { host: "codex", event: "post" });
    assert.equal(codex.out, "");
    assert.equal((codex.requests[0]!.body as { error: string }).error, "exited with code 2");
  });

  it("sidecar down: the post event still answers no opinion", async () => {
    const post = { ...DOCUMENTED["claude-code"], hook_event_name: "PostToolUse" };
    assert.equal((await run(JSON.stringify(post), { event: "post" }, { down: true }, { failureMode: "fail_closed" })).out, "{}");
    assert.equal((await run("{garbled", { event: "post" }, {}, { failureMode: "fail_closed" })).out, "{}");
  });
});
