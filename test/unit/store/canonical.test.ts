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
    // Risk level and metadata are descriptions, not the action: they do not change what was approved.
    assert.equal(actionHash({ ...base, riskLevel: "high", metadata: { note: "x" } }), h);
  });
});
