import { strict as assert } from "node:assert";
import { guardrailOffset } from "../../../extension/story/guardrailLocation";

describe("story card: a guardrail's line in apie.policy.json", () => {
  const text = `{\n  "templates": { "prod-deploys": true },\n  "guardrails": [\n    { "key": "no-friday-deploys", "decision": "block", "match": {} }\n  ]\n}\n`;
  it("finds a template by its key and a custom guardrail by its key field", () => {
    assert.equal(text.slice(guardrailOffset(text, "prod-deploys")).startsWith('"prod-deploys"'), true);
    assert.equal(text.slice(guardrailOffset(text, "no-friday-deploys")).startsWith('{ "key": "no-friday-deploys"'), true);
  });
  it("says so when the policy does not define it", () => {
    assert.equal(guardrailOffset(text, "boundary-drift"), undefined);
    assert.equal(guardrailOffset("not json", "x"), undefined);
  });
});
