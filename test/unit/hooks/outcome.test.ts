import { strict as assert } from "node:assert";
import { WireEventSchema } from "../../../sidecar/protocol/events";
import { reportedOutcomeEvent } from "../../../sidecar/server/reportedOutcome";

/** The timeline event of a hook's post-tool-use outcome (POST /v1/hooks/outcome). */
describe("hooks: the outcome event", () => {
  const request = { agentKey: "claude-code", runId: "run_hook_1", tool: { name: "Bash", provider: "claude-code" }, action: { type: "execute", name: "Bash" } };
  const hook = { host: "claude-code", session_id: "s1", tool_use_id: "toolu_1" };

  it("linked: decision_id, the hook's ids and the duration; a valid wire event", () => {
    const event = reportedOutcomeEvent(request, "dec_9", { status: "completed", at: "2026-12-07T05:00:00.000Z" }, { hook, duration_ms: 12 });
    assert.deepEqual(event.metadata, { decision_id: "dec_9", result: { status: "completed" }, hook, duration_ms: 12 });
    assert.ok(WireEventSchema.safeParse(JSON.parse(JSON.stringify(event))).success);
  });

  it("a decision found nowhere: no decision_id, still the hook's ids; failures carry their error", () => {
    const event = reportedOutcomeEvent(request, null, { status: "failed", at: "2026-12-07T05:00:00.000Z", error: "exit 1" }, { hook });
    assert.deepEqual(event.metadata, { hook });
    assert.equal(event.type, "agent.action.failed");
    assert.deepEqual(event.error, { message: "exit 1" });
    assert.ok(WireEventSchema.safeParse(JSON.parse(JSON.stringify(event))).success);
  });
});
