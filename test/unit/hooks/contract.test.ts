import { strict as assert } from "node:assert";
import { runHook, type HookOptions } from "../../../sidecar/hooks/adapter";
import { HOOK_HOST_INFO, HOOK_HOSTS, type HookHost } from "../../../sidecar/hooks/hosts";
import { DOCUMENTED } from "./payloads";
import { scriptedEnvironment, type Script } from "./scriptedSidecar";
import type { HookSettings } from "../../../sidecar/hooks/hookSettings";

/**
 * Contract per host (issue 12, HOOKS.md §8.3): each documented payload, each guard outcome → the exact
 * answer on stdout, in that host's own format.
 */

type Expected = { none: string; warn(m: string): string; allow(r: string): string; deny(r: string): string; ask?(r: string): string };

const hookSpecific = (decision: string, reason: string): string =>
  JSON.stringify({ hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: decision, permissionDecisionReason: reason } });

const claudeLike: Expected = {
  none: "{}",
  warn: (m) => JSON.stringify({ systemMessage: m }),
  allow: (r) => hookSpecific("allow", r),
  deny: (r) => hookSpecific("deny", r),
  ask: (r) => hookSpecific("ask", r),
};

const copilotBoth = (decision: string, reason: string): string =>
  JSON.stringify({
    permissionDecision: decision,
    permissionDecisionReason: reason,
    hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: decision, permissionDecisionReason: reason },
  });

const EXPECTED: Record<HookHost, Expected> = {
  vscode: claudeLike,
  "claude-code": claudeLike,
  "copilot-cli": { none: "{}", warn: () => "{}", allow: (r) => copilotBoth("allow", r), deny: (r) => copilotBoth("deny", r), ask: (r) => copilotBoth("ask", r) },
  codex: { none: "", warn: (m) => JSON.stringify({ systemMessage: m }), allow: () => "", deny: (r) => hookSpecific("deny", r) },
  cursor: {
    none: "{}",
    warn: () => "{}",
    allow: () => JSON.stringify({ permission: "allow" }),
    deny: (r) => JSON.stringify({ permission: "deny", user_message: r, agent_message: r }),
  },
  "gemini-cli": {
    none: "{}",
    warn: (m) => JSON.stringify({ systemMessage: m }),
    allow: () => JSON.stringify({ decision: "allow" }),
    deny: (r) => JSON.stringify({ decision: "deny", reason: r }),
  },
};

const BLOCK = {
  policy_decision: "block",
  effective_decision: "block",
  enforcement_action: "block",
  reason: "destructive shell command",
  matched_guardrails: [{ key: "prod-shell", name: "Production shell", decision: "block", reason: "destructive shell command", source: "template" }],
};
const WARN = {
  policy_decision: "warn",
  effective_decision: "warn",
  enforcement_action: "warn",
  reason: "outside the workspace",
  matched_guardrails: [{ key: "outside-workspace-writes", decision: "warn", reason: "outside the workspace" }],
};
const APPROVAL = {
  policy_decision: "require_approval",
  effective_decision: "require_approval",
  enforcement_action: "wait_for_approval",
  reason: "touches credential file",
  matched_guardrails: [{ key: "local-secret-files", decision: "require_approval", reason: "touches credential file" }],
  approval_request: { id: "apr_1", status: "pending", expires_at: "2026-10-02T09:19:03Z" },
};
const MONITOR_BLOCK = { ...BLOCK, effective_decision: "allow", enforcement_action: "proceed", mode: "monitor", annotation: "would_block" };

async function answer(host: HookHost, script: Script, settings: Partial<HookSettings> = {}, options: Partial<HookOptions> = {}) {
  const scripted = scriptedEnvironment(script, settings);
  const out = await runHook({ host, event: "pre", timeoutS: 900, ...options }, { text: JSON.stringify(DOCUMENTED[host]) }, scripted.env);
  return { out, ...scripted };
}

describe("hooks: each host's documented payload → its exact answer", () => {
  for (const host of HOOK_HOSTS) {
    const e = EXPECTED[host];
    describe(host, () => {
      it("allow with nothing matched → no opinion", async () => {
        const { out, requests } = await answer(host, {});
        assert.equal(out, e.none);
        assert.equal(requests.length, 1);
        assert.equal(requests[0]!.path, "/v1/hooks/evaluate");
      });

      it("warn → proceeds with a visible message", async () => {
        const { out, logs } = await answer(host, { decision: WARN });
        const message = "apie: warning [outside-workspace-writes] — outside the workspace";
        assert.equal(out, e.warn(message));
        // Where the host has no warning field, the message goes to stderr.
        if (out === "{}") assert.ok(logs.includes(message), logs.join("\n"));
      });

      it("block → deny with the guardrail's reason", async () => {
        const { out } = await answer(host, { decision: BLOCK });
        assert.equal(out, e.deny("apie: blocked [prod-shell] — destructive shell command"));
      });

      it("require_approval, approved in the editor → the grant is redeemed → allow", async () => {
        const { out, requests } = await answer(host, { decision: APPROVAL, approval: "approved" });
        assert.equal(out, e.allow("apie: approved (apr_1)"));
        const redeem = requests.at(-1)!;
        assert.equal(redeem.path, "/v1/hooks/evaluate");
        // The same call (the grant is bound to its hash), with the grant and a new deadline.
        const { deadline_at: first, ...asked } = requests[0]!.body as { deadline_at: number };
        const { deadline_at: second, ...redeemed } = redeem.body as { deadline_at: number };
        assert.deepEqual(redeemed, { ...asked, approval_id: "apr_1" });
        assert.equal(first, 1_000_000 + 10_000, "the first request says when the hook stops waiting: its answer budget");
        assert.equal(second, 1_000_000 + 2_000, "the redeeming request: its own 2 s budget");
      });

      it("require_approval, rejected → deny with the reason", async () => {
        const { out } = await answer(host, { decision: APPROVAL, approval: "rejected" });
        assert.equal(out, e.deny("apie: approval apr_1 rejected by editor: not on a Friday (approval required [local-secret-files] — touches credential file)"));
      });

      it("require_approval, expired → deny with the reason", async () => {
        const { out } = await answer(host, { decision: APPROVAL, approval: "expired" });
        assert.match(out, /approval apr_1 expired: nobody answered in time/);
        assert.equal(out, e.deny("apie: approval apr_1 expired: nobody answered in time (approval required [local-secret-files] — touches credential file)"));
      });

      it("require_approval, no answer before the hook's deadline → deny and the approval is cancelled", async () => {
        const { out, requests } = await answer(host, { decision: APPROVAL, approval: "timeout" }, {}, { timeoutS: 60 });
        assert.equal(out, e.deny("apie: approval timed out (apr_1, no answer within 55 s); the approval was cancelled — retry to ask again"));
        const cancel = requests.find((r) => r.path === "/v1/approvals/apr_1/cancel");
        assert.ok(cancel, "the approval was cancelled");
        assert.match(String((cancel.body as { reason: string }).reason), /approval timed out/);
        // The waits together never ran past the deadline (timeout minus the 5 s margin).
        const waited = requests.filter((r) => r.path.includes("/wait?")).reduce((sum, r) => sum + Number(/timeout=(\d+)/.exec(r.path)![1]), 0);
        assert.equal(waited, 55_000);
      });

      it("the host cancels the hook (SIGTERM) while it waits → the approval is cancelled, deny", async () => {
        const scripted = scriptedEnvironment({ decision: APPROVAL, approval: "timeout" });
        scripted.abort();
        const out = await runHook({ host, event: "pre", timeoutS: 900 }, { text: JSON.stringify(DOCUMENTED[host]) }, scripted.env);
        assert.ok(scripted.requests.some((r) => r.path === "/v1/approvals/apr_1/cancel"));
        assert.equal(out, e.deny(`apie: ${HOOK_HOST_INFO[host].displayName} cancelled the hook while it waited for approval apr_1; the approval was cancelled`));
      });

      it("monitor mode: a would-block proceeds, with a visible message", async () => {
        const { out } = await answer(host, { decision: MONITOR_BLOCK });
        assert.equal(out, e.warn("apie (monitor mode): would block [prod-shell] — destructive shell command"));
      });

      it("an error the sidecar answered → deny with its message, never allow", async () => {
        const { out } = await answer(host, { reply: { status: 413, json: { error: { code: "too_large", message: "the body is larger than 1048576 bytes" } } } });
        assert.equal(out, e.deny("apie: the guard refused the request: the body is larger than 1048576 bytes (too_large)"));
        const garbage = await answer(host, { reply: { status: 200, json: { hello: "world" } } });
        assert.equal(garbage.out, e.deny("apie: the sidecar's answer is not a guard decision; refusing the call"));
      });

      it("sidecar down, fail_open → no opinion with a visible warning", async () => {
        const { out } = await answer(host, { down: true }, { failureMode: "fail_open" });
        const warning = "apie: guard unavailable (no answer within 300 ms); this call is not guarded (hooks.failureMode: fail_open)";
        assert.equal(out, e.warn(warning));
      });

      it("sidecar down, fail_closed → deny", async () => {
        const { out } = await answer(host, { down: true }, { failureMode: "fail_closed" });
        assert.equal(out, e.deny("apie guard unavailable (no answer within 300 ms); hooks.failureMode is fail_closed"));
        const missing = await answer(host, { missing: true }, { failureMode: "fail_closed" });
        assert.match(missing.out, /apie guard unavailable \(no sidecar/);
      });

      it("hooks.approvals \"host\": the host's own prompt where it has one, else the editor", async () => {
        const asked = { ...APPROVAL, approval_request: null, hook: { session_id: "s", run_id: "r", ask: true } };
        const { out, requests } = await answer(host, { decision: asked });
        const reason = "apie: approval required [local-secret-files] — touches credential file";
        if (e.ask !== undefined) {
          assert.equal(out, e.ask(reason));
          assert.equal(requests.length, 1);
        } else {
          // The sidecar never sets `ask` for these hosts; if it did, nothing was opened to wait for: deny.
          assert.equal(out, e.deny(`${reason}; no approval could be opened`));
        }
      });
    });
  }
});
