import { strict as assert } from "node:assert";
import { agentLabel, approvalPrompt, decisionOutcome, expiresIn, isHighRisk, presentRecord, statusBarText, timeLeft } from "../../../extension/model/presenters";
import { approval, decision, rec, request } from "./fixtures";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";

describe("extension presenters", () => {
  it("names what happened: blocked, would block, waiting, allowed", () => {
    assert.equal(decisionOutcome(decision()), "blocked");
    assert.equal(decisionOutcome(decision({ effective_decision: "allow", annotation: "would_block", mode: "monitor" })), "would_block");
    assert.equal(decisionOutcome(decision({ effective_decision: "require_approval" })), "pending");
    assert.equal(decisionOutcome(decision({ effective_decision: "allow", matched_guardrails: [] })), "allow");
  });

  it("shows a decision row with the tool, the outcome, the guardrail and the details", () => {
    const row = presentRecord(rec("decision", { request: request(), decision: decision(), approval_id: null }));
    assert.equal(row.label, "deploy.release");
    assert.equal(row.description, "blocked · prod-deploys");
    assert.equal(row.icon, "circle-slash");
    assert.ok(row.details.includes("prod-deploys (block): deployment in production"));
    assert.ok(row.details.includes('arguments: {"version":"1.4.2"}'));
  });

  it("says when the MCP proxy made a decision itself, and flags one the sidecar would not have made", () => {
    const allow = decision({ effective_decision: "allow", policy_decision: "allow", matched_guardrails: [] });
    const agreed = presentRecord(rec("decision", { request: request(), decision: allow, approval_id: null, reported: { by: "replica", diverged: false } }));
    assert.equal(agreed.description, "allowed");
    assert.ok(agreed.details.some((line) => /decided in the MCP proxy .*the sidecar decided the same/.test(line)));
    const late = presentRecord(rec("decision", { request: request(), decision: decision(), approval_id: null, reported: { by: "replica", diverged: true } }));
    assert.equal(late.description, "blocked · prod-deploys · after the fact");
    assert.ok(late.details.some((line) => /before a guard change reached it; the call ran/.test(line)));
    const own = presentRecord(rec("decision", { request: request(), decision: allow, approval_id: null }));
    assert.ok(!own.details.some((line) => /MCP proxy/.test(line)));
  });

  it("says when the caller had given up before the decision: the call did not run under it", () => {
    const allow = decision({ effective_decision: "allow", policy_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] });
    const row = presentRecord(rec("decision", { request: request(), decision: allow, approval_id: null, late: { caller_gave_up_at: "2026-11-24T12:00:00.300Z" } }));
    assert.equal(row.description, "allowed (caller gave up)");
    assert.ok(row.details.some((line) => /after the caller stopped waiting \(its deadline was 2026-11-24T12:00:00.300Z\): the call did not run/.test(line)));
    assert.equal(presentRecord(rec("decision", { request: request(), decision: allow, approval_id: null })).description, "allowed");
  });

  it("says who resolved an approval and why", () => {
    const row = presentRecord(rec("approval.resolved", { id: "apr_1", status: "rejected", resolved_at: "x", resolved_by: "editor", resolution_reason: "not today" }));
    assert.equal(row.label, "approval rejected");
    assert.equal(row.description, "by editor · not today · apr_1");
    assert.equal(row.icon, "close");
  });

  it("prompts with exactly what will run", () => {
    assert.equal(approvalPrompt(approval()), "release-gate wants to run deploy.release (execute) on deployment_event in production [prod-deploys]: deployment in production");
    assert.equal(isHighRisk(approval()), true);
    assert.equal(isHighRisk(approval({ risk_level: "low" })), false);
  });

  it("counts down and renders the status bar", () => {
    const expires = "2026-11-24T12:05:00.000Z";
    assert.equal(timeLeft(expires, Date.parse("2026-11-24T12:00:48.000Z")), "4m 12s left");
    assert.equal(timeLeft(expires, Date.parse("2026-11-24T12:06:00.000Z")), "expiring");
    assert.equal(statusBarText("enforce", 2, "running"), "$(shield) Apie: Enforce · 2 pending");
    assert.equal(statusBarText("monitor", 0, "running"), "$(eye) Apie: Monitor");
    assert.equal(statusBarText("enforce", 0, "stopped"), "$(error) Apie: Enforce · sidecar stopped");
  });

  it("counts an approval's notification down in whole minutes, then seconds", () => {
    const expires = "2026-11-24T12:05:00.000Z";
    const at = (t: string) => expiresIn(expires, Date.parse(`2026-11-24T${t}Z`));
    assert.equal(at("12:00:00.000"), "expires in 5 min");
    assert.equal(at("12:00:48.000"), "expires in 5 min");
    assert.equal(at("12:03:59.000"), "expires in 2 min");
    assert.equal(at("12:04:00.000"), "expires in 1 min");
    assert.equal(at("12:04:00.500"), "expires in 1 min");
    assert.equal(at("12:04:01.000"), "expires in 59 s");
    assert.equal(at("12:04:59.100"), "expires in 1 s");
    assert.equal(at("12:05:00.000"), "expiring");
  });
});

describe("presenters: coding agents' hooks", () => {
  const hookApproval = (over: Partial<ApprovalView>): ApprovalView => ({ ...approval(), matched_guardrails: [], ...over });

  it("names the host and what it runs: the shell command, or the tool and the path it touches", () => {
    const bash = hookApproval({ agent_key: "claude-code", tool: { name: "Bash", provider: "claude-code" }, action: { type: "execute", name: "Bash" }, resource: { type: "shell_command", environment: null, external_id: null }, arguments: { command: "cat ~/.ssh/id_rsa" }, reason: "secret file" });
    assert.equal(approvalPrompt(bash), "Claude Code wants to run `cat ~/.ssh/id_rsa` (Bash) (execute) on shell_command: secret file");
    const read = hookApproval({ agent_key: "claude-code/Explore", tool: { name: "Read", provider: "claude-code" }, action: { type: "read", name: "Read" }, resource: { type: "file", environment: null, external_id: null }, arguments: { file_path: "/home/me/.ssh/id_rsa" }, reason: "secret file" });
    assert.equal(approvalPrompt(read), "Claude Code (Explore) wants to run `Read /home/me/.ssh/id_rsa` (read) on file: secret file");
    const patch = hookApproval({ agent_key: "codex", tool: { name: "apply_patch", provider: "codex" }, action: { type: "update", name: "apply_patch" }, resource: { type: "file", environment: null, external_id: null }, arguments: { patch: "*** Begin Patch", paths: ["a.ts", "b.ts"] }, reason: "r" });
    assert.match(approvalPrompt(patch), /^Codex wants to run `apply_patch a\.ts b\.ts`/);
  });

  it("keeps an agent's command on one line, in one code span, and short", () => {
    const evil = hookApproval({ agent_key: "gemini-cli", tool: { name: "run_shell_command", provider: "gemini-cli" }, arguments: { command: "echo `x`\n[Approve](command:evil)" + "y".repeat(300) } });
    const prompt = approvalPrompt(evil);
    assert.equal(prompt.split("`").length, 3, prompt);
    assert.ok(!prompt.includes("\n"));
    assert.match(prompt, /^Gemini CLI wants to run `echo x \[Approve\]\(command:evil\)y+\.\.\.` \(run_shell_command\)/);
  });

  it("an SDK agent's prompt is unchanged", () => {
    assert.match(approvalPrompt(approval({ agent_key: "claude-codex" })), /^claude-codex wants to run deploy\.release/);
  });
});

describe("presenters: agent labels", () => {
  it("names a hook host's agent by the host (and subagent), others by their name or key", () => {
    assert.equal(agentLabel("claude-code"), "Claude Code");
    assert.equal(agentLabel("claude-code/Explore"), "Claude Code · Explore");
    assert.equal(agentLabel("vscode-agent", null), "VS Code agent");
    assert.equal(agentLabel("gemini-cli"), "Gemini CLI");
    assert.equal(agentLabel("release-gate", "Release gate"), "Release gate");
    assert.equal(agentLabel("release-gate"), "release-gate");
  });
});
