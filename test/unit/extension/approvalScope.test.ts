import { strict as assert } from "node:assert";
import { approvalButtons, approvalDetails, approvalNotice, staleApprovalMessage } from "../../../extension/model/approvalNotice";
import { alwaysAllowGuardrail, sessionScopeText } from "../../../extension/model/approvalScope";
import { GuardEngine } from "../../../sidecar/guard/engine";
import type { GuardRequest } from "../../../sidecar/guard/types";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";
import { approval } from "./fixtures";

const clock = (iso: string) => `T${iso.slice(11, 19)}`;
const now = Date.parse("2026-11-24T12:01:00.000Z");

/** A Claude Code Bash call that `prod-shell`-like custom rule `ask-shell` sent for approval. */
const bash = (overrides: Partial<ApprovalView> = {}) =>
  approval({
    agent_key: "claude-code",
    run_id: "run_hook_1",
    tool: { name: "Bash", provider: "claude-code" },
    action: { type: "execute", name: "Bash" },
    resource: { type: "shell_command", environment: null, external_id: null },
    risk_level: "high",
    arguments: { command: "git push --force  origin feature", description: "push" },
    matched_guardrails: [{ key: "git-force-push", name: "Force push", decision: "require_approval", reason: "force push", source: "template" }],
    grant_pattern: { kind: "command", key: "k", command: "git push --force origin feature", argument: "$.command", cwd: "/w" },
    ...overrides,
  });

const call = (command: string, cwd = "/w"): GuardRequest => ({
  agentKey: "claude-code",
  tool: { name: "Bash", provider: "claude-code" },
  action: { type: "execute", name: "Bash" },
  resource: { type: "shell_command" },
  arguments: { command },
  metadata: { cwd },
});

describe("approval scopes in the editor", () => {
  it("offers Approve for Session only where the sidecar can grant it, and says what it covers", () => {
    assert.deepEqual(approvalButtons(bash()), ["Approve", "Approve for Session", "Deny", "More…"]);
    assert.deepEqual(approvalButtons(bash({ run_id: null })), ["Approve", "Deny", "More…"]);
    assert.match(approvalNotice(bash(), now, clock).text, /Approve for Session also allows `git push --force origin feature` \(Bash\) in \/w until this session ends\.$/);
    assert.equal(sessionScopeText(bash({ grant_pattern: { kind: "path", key: "k", paths: ["/w/src/app.ts"] }, tool: { name: "Edit", provider: "claude-code" } })), "Edit of /w/src/app.ts");
  });

  it("a resolved approval says how far it reached: approved for this session, by whom, when", () => {
    const resolved = bash({ status: "approved", scope: "session", resolved_by: "editor", resolved_at: "2026-11-24T12:02:00.000Z" });
    assert.match(staleApprovalMessage("apr_1", resolved, now, clock)!, /was already approved for this session in the editor at T12:02:00; nothing was done\.$/);
    assert.match(approvalDetails(resolved, clock), /- approved for this session \(`git push --force origin feature` \(Bash\) in \/w\) in the editor at T12:02:00/);
    assert.match(staleApprovalMessage("apr_1", { ...resolved, scope: "once" }, now, clock)!, /already approved in the editor/);
  });

  it("Always allow… proposes a guardrail the policy accepts, which lifts the asking template for the same command only", () => {
    const { guardrail, summary } = alwaysAllowGuardrail(bash(), ["always-allow-bash-1"]);
    assert.equal(guardrail.key, "always-allow-bash-2", "a key not yet in the policy");
    assert.deepEqual(guardrail.overrides, ["git-force-push"]);
    assert.match(summary, /lifts the approval of git-force-push/);
    const policy = { mode: "enforce", templates: { "git-force-push": { decision: "require_approval" } } };
    const without = new GuardEngine();
    without.loadPolicyText(JSON.stringify(policy));
    assert.equal(without.evaluate(call("git push --force origin feature")).effective_decision, "require_approval");
    const engine = new GuardEngine();
    assert.deepEqual(engine.loadPolicyText(JSON.stringify({ ...policy, guardrails: [guardrail] })), []);
    assert.equal(engine.evaluate(call("git  push --force origin   feature")).effective_decision, "allow");
    assert.equal(engine.evaluate(call("git push --force origin main")).effective_decision, "require_approval");
    assert.equal(engine.evaluate(call("git push --force origin feature", "/other")).effective_decision, "require_approval");
  });

  it("Always allow… for a file binds the path; for anything else it says it allows any arguments", () => {
    const edit = alwaysAllowGuardrail(bash({ tool: { name: "Edit", provider: "claude-code" }, arguments: { file_path: "src/app.ts", old_string: "a" }, grant_pattern: { kind: "path", key: "k", paths: ["/w/src/app.ts"] } }), []);
    assert.deepEqual(edit.guardrail.match, { "tool.name": "Edit", "tool.provider": "claude-code", arguments: { "$.file_path": { in: ["src/app.ts", "/w/src/app.ts"] } } });
    const deploy = alwaysAllowGuardrail(approval({ grant_pattern: { kind: "action", key: "k" } }), []);
    assert.deepEqual(deploy.guardrail.match, { "tool.name": "deploy.release", "tool.provider": "cicd", "action.name": "deploy.release", "resource.type": "deployment_event", "resource.environment": "production" });
    assert.match(deploy.summary, /ANY arguments/);
  });
});
