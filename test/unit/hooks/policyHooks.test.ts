import { strict as assert } from "node:assert";
import { loadPolicy } from "../../../sidecar/guard/policyLoader";
import { policyJsonSchema } from "../../../sidecar/guard/policySchema";

/** apie.policy.json `hooks` (contract item 5): validated, defaulted, in the generated JSON Schema. */
describe("policy: the hooks section", () => {
  it("defaults editor / fail_open; values are kept", () => {
    const none = loadPolicy("{}");
    assert.ok(none.ok);
    assert.deepEqual(none.policy.hooks, { approvals: "editor", failureMode: "fail_open" });
    const set = loadPolicy('{ "hooks": { "approvals": "host", "failureMode": "fail_closed" } }');
    assert.ok(set.ok);
    assert.deepEqual(set.policy.hooks, { approvals: "host", failureMode: "fail_closed" });
  });

  it("a wrong value or an unknown key is an error naming the field", () => {
    const bad = loadPolicy('{ "hooks": { "failureMode": "sometimes" } }');
    assert.ok(!bad.ok);
    assert.match(bad.errors[0]!.message, /failureMode|fail_open/);
    const unknown = loadPolicy('{ "hooks": { "aprovals": "host" } }');
    assert.ok(!unknown.ok);
    assert.match(unknown.errors[0]!.message, /unknown field "aprovals"/);
  });

  it("is described in the JSON Schema the editor validates with", () => {
    const hooks = (policyJsonSchema().properties as Record<string, { properties: Record<string, { enum: string[] }> }>).hooks!;
    assert.deepEqual(hooks.properties.approvals!.enum, ["editor", "host"]);
    assert.deepEqual(hooks.properties.failureMode!.enum, ["fail_open", "fail_closed"]);
  });
});
