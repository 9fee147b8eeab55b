import { strict as assert } from "node:assert";
import { APPROVAL_BUTTONS, approvalDetails, approvalNotice, plainNotificationText, staleApprovalMessage } from "../../../extension/model/approvalNotice";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";
import { approval } from "./fixtures";

/** A fixed clock (the real one is local time): "T12:04:30" for "2026-11-24T12:04:30.000Z". */
const clock = (iso: string) => `T${iso.slice(11, 19)}`;
const now = Date.parse("2026-11-24T12:01:00.000Z");
/** VS Code's own notification link syntax (parseLinkedText): any match would be a clickable link. */
const LINK = /\[[^\]]+\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\2))?\)/;

describe("approval notifications: wording and level", () => {
  it("says who, what, why and until when, at warning level for high risk, with Approve / Approve for Session / Deny / More…", () => {
    assert.deepEqual(approvalNotice(approval(), now, clock), {
      level: "warning",
      text: "HIGH RISK · Apie: release-gate wants to run deploy.release (execute) on deployment_event in production. Why: guardrail prod-deploys: deployment in production. Expires at T12:05:00 (in 4 min).",
    });
    assert.deepEqual(APPROVAL_BUTTONS, ["Approve", "Approve for Session", "Deny", "More…"]);
  });

  it("is info level below high risk, and critical says so", () => {
    assert.equal(approvalNotice(approval({ risk_level: "medium" }), now, clock).level, "info");
    assert.match(approvalNotice(approval({ risk_level: "medium" }), now, clock).text, /^Apie: release-gate wants/);
    assert.equal(approvalNotice(approval({ risk_level: null }), now, clock).level, "info");
    const critical = approvalNotice(approval({ risk_level: "critical" }), now, clock);
    assert.equal(critical.level, "warning");
    assert.match(critical.text, /^CRITICAL RISK · /);
  });

  it("names a coding agent's host and exactly what it runs", () => {
    const read = approval({
      agent_key: "claude-code",
      tool: { name: "Read", provider: "claude-code" },
      action: { type: "read", name: "Read" },
      resource: { type: "file", environment: null, external_id: null },
      arguments: { file_path: "~/.ssh/id_rsa" },
      risk_level: "high",
      reason: "reads a secret file",
      matched_guardrails: [{ key: "local-secret-files", name: "Local secret files", decision: "require_approval", reason: "reads a secret file", source: "template" }],
    });
    assert.equal(approvalNotice(read, now, clock).text, "HIGH RISK · Apie: Claude Code wants to run `Read ~/.ssh/id_rsa` (read) on file. Why: guardrail local-secret-files: reads a secret file. Expires at T12:05:00 (in 4 min).");
  });

  it("lets no agent-chosen text form a link or break the line", () => {
    const evil = approval({
      agent_key: "gemini-cli",
      tool: { name: "[Approve](command:workbench.action.terminal.sendSequence?%5B%5D)", provider: "gemini-cli" },
      resource: { type: "[x](https://evil.example)", environment: "prod\n[y](file:///etc/passwd)", external_id: null },
      arguments: { command: "echo [Approve](command:apie.approve?%5B%22apr_2%22%5D)" },
    });
    const { text } = approvalNotice(evil, now, clock);
    assert.doesNotMatch(text, LINK);
    assert.ok(!text.includes("[") && !text.includes("\n"), text);
    assert.doesNotMatch(plainNotificationText("a [b](command:c) d"), LINK);
    const stale = staleApprovalMessage("apr_1", { ...evil, status: "rejected", resolved_by: "editor", resolved_at: "2026-11-24T12:02:00.000Z", resolution_reason: "[z](command:evil)" }, now, clock);
    assert.doesNotMatch(stale!, LINK);
  });
});

describe("approval notifications: a click after the approval stopped pending", () => {
  const resolved = (over: Partial<ApprovalView>) => approval({ resolved_at: "2026-11-24T12:00:40.000Z", ...over });

  it("lets a click act only while the approval pends and has not expired", () => {
    assert.equal(staleApprovalMessage("apr_1", approval(), now, clock), undefined);
  });

  it("says who answered and when, and that nothing was done", () => {
    assert.equal(
      staleApprovalMessage("apr_1", resolved({ status: "approved", resolved_by: "admin-key" }), now, clock),
      "Apie: deploy.release (release-gate) was already approved with the admin key (apie approvals or the API) at T12:00:40; nothing was done.",
    );
    assert.equal(
      staleApprovalMessage("apr_1", resolved({ status: "rejected", resolved_by: "editor", resolution_reason: "not on a Friday" }), now, clock),
      "Apie: deploy.release (release-gate) was already denied in the editor at T12:00:40 (not on a Friday); nothing was done.",
    );
    assert.equal(
      staleApprovalMessage("apr_1", resolved({ status: "cancelled", resolved_by: "agent" }), now, clock),
      "Apie: deploy.release (release-gate) was already cancelled by the agent at T12:00:40; nothing was done.",
    );
  });

  it("says an approval expired: by the sidecar's word, or by the clock before that word arrives", () => {
    assert.equal(staleApprovalMessage("apr_1", resolved({ status: "expired", resolved_by: "expiry", resolved_at: "2026-11-24T12:05:00.000Z" }), now, clock), "Apie: deploy.release (release-gate) expired at T12:05:00; nothing was done.");
    assert.equal(staleApprovalMessage("apr_1", approval(), Date.parse("2026-11-24T12:05:00.000Z"), clock), "Apie: deploy.release (release-gate) expired at T12:05:00; nothing was done.");
  });

  it("says an approval this window no longer knows is gone", () => {
    assert.equal(staleApprovalMessage("apr_9", undefined, now, clock), "Apie: approval apr_9 no longer exists; nothing was done.");
  });
});

describe("approval details", () => {
  it("lists what runs, why, the arguments and the answer", () => {
    const text = approvalDetails(approval({ status: "rejected", resolved_by: "editor", resolved_at: "2026-11-24T12:02:00.000Z", resolution_reason: "not today" }), clock);
    assert.match(text, /^# Approval apr_1: rejected\n\nrelease-gate wants to run deploy\.release \(execute\) on deployment_event in production\./);
    assert.match(text, /- guardrail prod-deploys \(require_approval\): deployment in production/);
    assert.match(text, /- rejected in the editor at T12:02:00: not today/);
    assert.match(text, /"version": "1\.4\.2"/);
  });
});
