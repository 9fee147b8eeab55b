import { strict as assert } from "node:assert";
import type { WireEvent } from "../../../sidecar/protocol/events";
import { callLabel } from "../../../extension/model/callLabel";
import { CALL_STATE_ICON, CALL_STATES, callState, matchesStates, type CallState } from "../../../extension/model/callPresenters";
import { runLabel, sessionLabel, groupOf } from "../../../extension/model/runNames";
import { foldRun, type CallRequest, type ToolCall } from "../../../extension/model/toolCalls";
import { approval, decision, rec, request, resetSeq } from "./fixtures";

/** A wire event as an SDK sends it: only the fields it has (the schema keeps the rest as sent). */
const wire = (e: Record<string, unknown>) => e as unknown as WireEvent;

const places = { workspace: "/home/dev/app", home: "/home/dev" };

function req(agentKey: string, tool: string, args: unknown, provider: string | null = null, resource: Partial<CallRequest["resource"]> = {}): CallRequest {
  return { agentKey, tool: { name: tool, provider }, action: { type: null, name: null }, resource: { type: null, environment: null, external_id: null, ...resource }, arguments: args };
}

describe("presenters: a tool call's label, in each host's vocabulary", () => {
  const cases: [string, CallRequest, string][] = [
    ["Claude Code Bash", req("claude-code", "Bash", { command: "npm test", description: "Run tests" }), "Bash · npm test"],
    ["Claude Code Edit (workspace-relative)", req("claude-code", "Edit", { file_path: "/home/dev/app/src/app.ts", old_string: "a", new_string: "b" }), "Edit · src/app.ts"],
    ["Claude Code Read (home)", req("claude-code", "Read", { file_path: "/home/dev/.ssh/id_rsa" }), "Read · ~/.ssh/id_rsa"],
    ["Claude Code WebFetch", req("claude-code", "WebFetch", { url: "https://example.com/docs?q=1", prompt: "summarize" }), "WebFetch · example.com"],
    ["Claude Code Grep", req("claude-code", "Grep", { pattern: "TODO", path: undefined }), "Grep · TODO"],
    ["Claude Code subagent MCP", req("claude-code/Explore", "github.create_issue", { repo: "apie-sh/apie", title: "x" }, "mcp"), "github.create_issue · apie-sh/apie"],
    ["Codex shell argv", req("codex", "shell", { command: ["bash", "-lc", "npm   run build"] }), "shell · npm run build"],
    ["Codex exec_command", req("codex", "exec_command", { cmd: "ls -la" }), "exec_command · ls -la"],
    ["Codex apply_patch", req("codex", "apply_patch", { patch: "*** Begin Patch", paths: ["/home/dev/app/a.ts", "/home/dev/app/b.ts"] }), "apply_patch · a.ts +1"],
    ["Copilot CLI bash", req("copilot-cli", "bash", { command: "git status" }), "bash · git status"],
    ["Copilot CLI view", req("copilot-cli", "view", { path: "/home/dev/app/README.md" }), "view · README.md"],
    ["VS Code agent run_in_terminal", req("vscode-agent", "run_in_terminal", { command: "npm test", explanation: "tests", isBackground: false }), "run_in_terminal · npm test"],
    ["VS Code agent read_file", req("vscode-agent", "read_file", { filePath: "/home/dev/app/src/app.ts", startLine: 1 }), "read_file · src/app.ts"],
    ["VS Code agent fetch_webpage", req("vscode-agent", "fetch_webpage", { urls: ["https://example.com/pricing"], query: "pricing" }), "fetch_webpage · example.com"],
    ["Gemini CLI run_shell_command", req("gemini-cli", "run_shell_command", { command: "rm -rf build/" }), "run_shell_command · rm -rf build/"],
    ["Gemini CLI read_file", req("gemini-cli", "read_file", { absolute_path: "/etc/passwd" }), "read_file · /etc/passwd"],
    ["Cursor Shell", req("cursor", "Shell", { command: "make" }), "Shell · make"],
    ["Cursor Read", req("cursor", "Read", { target_file: "/home/dev/app/x.py" }), "Read · x.py"],
    ["SDK deploy", req("release-gate", "deploy.release", { version: "1.4.2" }, "cicd", { type: "deployment_event", environment: "production" }), "deploy.release · production"],
    ["SDK without anything to say", req("bot", "cache.flush", null), "cache.flush"],
    ["MCP proxy tool", req("mcp-agent", "filesystem.read_file", { path: "/home/dev/app/notes.md" }, "mcp"), "filesystem.read_file · notes.md"],
  ];
  for (const [name, request, label] of cases) {
    it(`${name}: ${label}`, () => assert.equal(callLabel(request, places), label));
  }

  it("keeps a long or multi-line command on one short line", () => {
    const label = callLabel(req("claude-code", "Bash", { command: `echo ${"a".repeat(200)}\nrm -rf /` }), places);
    assert.ok(!label.includes("\n") && label.length <= 70, label);
    assert.ok(label.endsWith("…"));
  });
});

describe("presenters: every state has its icon", () => {
  beforeEach(() => resetSeq());
  const allow = decision({ decision_id: "d", policy_decision: "allow", effective_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] });
  const outcome = (type: string) => rec("event", { event: wire({ type, agent_key: "release-gate", run_id: "run_1", metadata: { decision_id: "d" }, error: { message: "boom" } }) });
  const one = (records: ReturnType<typeof rec>[]): ToolCall => (foldRun("run_1", records)[0] as { call: ToolCall }).call;
  const d = (over: Parameters<typeof decision>[0], extra: Record<string, unknown> = {}) => rec("decision", { request: request(), decision: decision({ decision_id: "d", ...over }), approval_id: null, ...extra });
  const asked = (status: "pending" | "approved" | "rejected" | "expired" | "cancelled") => {
    const records = [rec("decision", { request: request(), decision: decision({ decision_id: "d", effective_decision: "require_approval", policy_decision: "require_approval" }), approval_id: "apr_1" }), rec("approval.requested", { approval: approval({ decision_id: "d" }) })];
    if (status !== "pending") records.push(rec("approval.resolved", { id: "apr_1", status, resolved_at: "2026-11-24T12:01:00.000Z", resolved_by: "editor", resolution_reason: null }));
    return one(records);
  };
  const byState: Record<CallState, () => ToolCall> = {
    allowed: () => one([rec("decision", { request: request(), decision: allow, approval_id: null })]),
    warned: () => one([d({ effective_decision: "warn", policy_decision: "warn" }), outcome("agent.action.completed")]),
    would_block: () => one([d({ effective_decision: "allow", mode: "monitor", annotation: "would_block" }), outcome("agent.action.completed")]),
    blocked: () => one([d({})]),
    waiting: () => asked("pending"),
    approved: () => asked("approved"),
    rejected: () => asked("rejected"),
    expired: () => asked("expired"),
    cancelled: () => asked("cancelled"),
    completed: () => one([rec("decision", { request: request(), decision: allow, approval_id: null }), outcome("agent.action.completed")]),
    failed: () => one([rec("decision", { request: request(), decision: allow, approval_id: null }), outcome("agent.action.failed")]),
    started: () => one([rec("event", { event: wire({ type: "agent.tool.called", agent_key: "release-gate", run_id: "run_1", tool: { name: "x" } }) })]),
  };
  for (const state of CALL_STATES) {
    it(`${state}: $(${CALL_STATE_ICON[state].icon})`, () => {
      assert.equal(callState(byState[state]()), state);
      assert.ok(CALL_STATE_ICON[state].icon.length > 0);
    });
  }

  it("icons tell the states apart (one codicon per state, colored by meaning)", () => {
    const icons = CALL_STATES.map((s) => CALL_STATE_ICON[s].icon);
    assert.equal(new Set(icons).size, icons.length);
    assert.equal(CALL_STATE_ICON.blocked.color, "errorForeground");
    assert.equal(CALL_STATE_ICON.completed.color, "testing.iconPassed");
  });

  it("filters per call: by its final state, by what the guard said, or by its outcome", () => {
    const approvedAndRan = one([
      rec("decision", { request: request(), decision: decision({ decision_id: "d", effective_decision: "require_approval", policy_decision: "require_approval" }), approval_id: "apr_1" }),
      rec("approval.requested", { approval: approval({ decision_id: "d" }) }),
      rec("approval.resolved", { id: "apr_1", status: "approved", resolved_at: "2026-11-24T12:01:00.000Z", resolved_by: "editor", resolution_reason: null }),
      outcome("agent.action.completed"),
    ]);
    assert.equal(matchesStates(approvedAndRan, new Set(["approved"])), true);
    assert.equal(matchesStates(approvedAndRan, new Set(["completed"])), true);
    assert.equal(matchesStates(approvedAndRan, new Set(["blocked"])), false);
    assert.equal(matchesStates(approvedAndRan, new Set(["waiting"])), false, "no longer waiting");
    assert.equal(matchesStates(approvedAndRan, undefined), true);
    assert.equal(matchesStates(byState.blocked(), new Set(["blocked", "failed"])), true);
  });
});

describe("presenters: sessions and runs named for people, grouped by agent or host", () => {
  const run = (agent_key: string, input_summary: string | null, session_id: string | null = null) => ({ id: "run_1", session_id, agent_key, status: "running" as const, environment: null, input_summary, output_summary: null, started_at: "x", completed_at: null, event_count: 0 });
  const session = (input_summary: string | null) => ({ id: "ses_1", kind: "single_agent", status: "running" as const, environment: null, input_summary, output_summary: null, started_at: "x", completed_at: null, run_ids: [] });

  it("a coding agent's session: the host's group, named by the first prompt; its runs by agent", () => {
    assert.equal(groupOf("claude-code/Explore"), "Claude Code");
    assert.equal(sessionLabel(session("Claude Code · fix the login bug"), "Claude Code"), "fix the login bug");
    assert.equal(sessionLabel(session("Claude Code · /home/dev/app"), "Claude Code"), "in app", "no prompt found: named by its folder");
    assert.equal(runLabel(run("claude-code", "Claude Code · fix the login bug", "ses_1"), true), "Claude Code");
    assert.equal(runLabel(run("claude-code/Explore", "Claude Code (Explore) · fix the login bug", "ses_1"), true), "Claude Code · Explore");
  });

  it("an SDK run: the agent's group, named by the run's summary", () => {
    assert.equal(groupOf("release-gate"), "release-gate");
    assert.equal(runLabel(run("release-gate", "Production deploy attempt"), false), "Production deploy attempt");
    assert.equal(runLabel(run("release-gate", null), false), "run run_1");
    assert.equal(runLabel(run("worker", "Lookup", "ses_1"), true), "worker · Lookup");
  });
});
