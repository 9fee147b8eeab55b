import { strict as assert } from "node:assert";
import { actionHash, canonicalJson } from "../../../sidecar/store/canonical";

describe("canonical JSON and the action hash approvals are bound to", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":2,"z":1}]},"b":1}');
  });

  it("hashes the same action the same whatever the key order", () => {
    const a = actionHash({ agentKey: "bot", tool: { name: "deploy", provider: "cicd" }, arguments: { v: "1", env: "prod" } });
    const b = actionHash({ agentKey: "bot", tool: { provider: "cicd", name: "deploy" }, arguments: { env: "prod", v: "1" } });
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{64}$/);
  });

  it("changes with any bound field: arguments, environment, agent, tool", () => {
    const base = { agentKey: "bot", tool: { name: "deploy" }, resource: { environment: "production" }, arguments: { v: "1" } };
    const h = actionHash(base);
    assert.notEqual(actionHash({ ...base, arguments: { v: "2" } }), h);
    assert.notEqual(actionHash({ ...base, resource: { environment: "staging" } }), h);
    assert.notEqual(actionHash({ ...base, agentKey: "other" }), h);
    assert.notEqual(actionHash({ ...base, tool: { name: "deploy2" } }), h);
  });

  it("binds everything the human saw and a guardrail can match: risk level, metadata, run", () => {
    const base = { agentKey: "bot", runId: "run_1", tool: { name: "deploy", riskLevel: "high" as const }, arguments: { v: "1" }, metadata: { ticket: "OPS-1", n: 1 } };
    const h = actionHash(base);
    assert.notEqual(actionHash({ ...base, tool: { name: "deploy", riskLevel: "low" } }), h, "tool risk level");
    assert.notEqual(actionHash({ ...base, tool: { name: "deploy" } }), h, "risk level dropped");
    assert.notEqual(actionHash({ ...base, metadata: { ticket: "OPS-2", n: 1 } }), h, "metadata value");
    assert.notEqual(actionHash({ ...base, metadata: undefined }), h, "metadata dropped");
    assert.notEqual(actionHash({ ...base, runId: "run_2" }), h, "run");
    assert.notEqual(actionHash({ ...base, runId: undefined }), h, "run dropped");
    assert.notEqual(actionHash({ ...base, tool: { name: "deploy" }, riskLevel: "low" }), h, "top-level risk level");
    // The risk level shown is the tool's, else the top-level one: the same shown level is the same request.
    assert.equal(actionHash({ ...base, tool: { name: "deploy" }, riskLevel: "high" }), h);
    // Stable for identical requests, whatever the key order.
    assert.equal(actionHash({ metadata: { n: 1, ticket: "OPS-1" }, arguments: { v: "1" }, tool: { riskLevel: "high", name: "deploy" }, runId: "run_1", agentKey: "bot" }), h);
  });
});
