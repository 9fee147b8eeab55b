import { strict as assert } from "node:assert";
import { approvalPrompt, decisionOutcome, isHighRisk, presentRecord, statusBarText, timeLeft } from "../../../extension/model/presenters";
import { approval, decision, rec, request } from "./fixtures";

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
});
