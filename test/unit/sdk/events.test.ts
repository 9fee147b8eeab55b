import { strict as assert } from "node:assert";
import { createRedactor } from "../../../sidecar/guard/redact";
import { actionCompletedEvent, actionFailedEvent, snakeCase, toWireEvent, toolCalledEvent } from "../../../sidecar/sdk/events";
import { WireEventSchema } from "../../../sidecar/protocol/events";

const envelope = { agentKey: "release-gate", agentId: "agt_1", runId: "run_1", sequenceNumber: 3, environment: "production" };

describe("sdk timeline events", () => {
  it("snake-cases the envelope and leaves empty fields out, like python-sdk to_wire_event", () => {
    assert.equal(snakeCase("agentVersionId"), "agent_version_id");
    assert.equal(snakeCase("payloadSummary"), "payload_summary");
    const wire = toWireEvent(toolCalledEvent(envelope, { tool: { name: "deploy.release", riskLevel: "high" }, action: { type: "execute", name: "deploy.release" } }));
    assert.equal(wire.type, "agent.tool.called");
    assert.equal(wire.agent_key, "release-gate");
    assert.equal(wire.agent_id, "agt_1");
    assert.equal(wire.run_id, "run_1");
    assert.equal(wire.sequence_number, 3);
    assert.match(String(wire.event_id), /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(String(wire.timestamp))));
    assert.deepEqual(wire.tool, { name: "deploy.release", provider: null, risk_level: "high" });
    assert.ok(!("session_id" in wire) && !("resource" in wire) && !("metadata" in wire));
    assert.ok(WireEventSchema.safeParse(wire).success, "the sidecar accepts it");
  });

  it("records a completion result and a failure message", () => {
    const done = actionCompletedEvent(envelope, { resource: { type: "deployment_event", environment: "staging" } });
    assert.deepEqual(done.metadata, { result: { status: "completed" } });
    assert.equal(done.environment, "staging", "the resource's environment wins, as in python-sdk");
    const failed = actionFailedEvent(envelope, { error: new Error("boom") });
    assert.deepEqual(failed.error, { message: "boom" });
  });

  it("is redacted before it is queued", () => {
    const event = toolCalledEvent(envelope, { tool: { name: "db.query" }, metadata: { password: "hunter2", rows: 3 } });
    const wire = toWireEvent(createRedactor().redactEvent(event));
    assert.deepEqual(wire.metadata, { password: "[REDACTED]", rows: 3 });
  });
});
