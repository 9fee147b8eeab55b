import { strict as assert } from "node:assert";
import { buildStory } from "../../../extension/story/storyBuilder";
import { decision, rec, request, resetSeq } from "./fixtures";

const run = { id: "run_1", session_id: null, agent_key: "release-gate", status: "failed" as const, environment: "production", input_summary: "Production deploy attempt", output_summary: null, started_at: "x", completed_at: "y", event_count: 5 };

describe("story card", () => {
  beforeEach(() => resetSeq());

  it("tells what the agent did, what was blocked or waited and why, each sentence linked to its record and guardrails", () => {
    const records = [
      rec("run.started", { run, parent_run_id: null, step_key: null, step_name: null, role: null }),
      rec("decision", { request: request(), decision: decision({ effective_decision: "require_approval", policy_decision: "require_approval", enforcement_action: "wait_for_approval" }), approval_id: "apr_1" }),
      rec("approval.resolved", { id: "apr_1", status: "rejected", resolved_at: "z", resolved_by: "editor", resolution_reason: "not in the freeze" }),
      rec("decision", { request: { ...request(), tool: { name: "vault.read", provider: null, risk_level: null } }, decision: decision(), approval_id: null }),
      rec("run.completed", { id: "run_1", status: "failed", output_summary: null, completed_at: "y" }),
    ];
    const story = buildStory(run, records);
    assert.deepEqual(
      story.sentences.map((s) => s.text),
      [
        "release-gate started: “Production deploy attempt” (production).",
        "It asked to run deploy.release on deployment_event in production; Apie held it for a human because prod-deploys matched: deployment in production.",
        "The request to run deploy.release was rejected by editor (“not in the freeze”), so it did not run.",
        "It tried vault.read on deployment_event in production; Apie blocked it because prod-deploys matched: deployment in production.",
        "The run ended failed.",
      ],
    );
    assert.deepEqual(story.sentences[1]!.links, [{ kind: "record", seq: 2 }, { kind: "guardrail", key: "prod-deploys" }]);
    assert.equal(story.summary, "release-gate: 0 calls completed, 1 blocked, 1 waited for approval.");
    assert.deepEqual(buildStory(run, records), story, "deterministic");
  });

  it("does not say a call ran when its agent had stopped waiting before the decision", () => {
    const allow = decision({ effective_decision: "allow", policy_decision: "allow", enforcement_action: "proceed", matched_guardrails: [] });
    const story = buildStory(run, [rec("decision", { request: request(), decision: allow, approval_id: null, late: { caller_gave_up_at: "2026-11-24T12:00:00.300Z" } })]);
    assert.deepEqual(
      story.sentences.map((s) => s.text),
      ["It asked to run deploy.release on deployment_event in production but stopped waiting before Apie answered (allow), so it did not run it."],
    );
  });
});
