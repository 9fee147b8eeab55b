import { strict as assert } from "node:assert";
import { formatPolicyError, loadPolicy, type PolicyError } from "../../../sidecar/guard/policyLoader";
import { policyJsonSchema } from "../../../sidecar/guard/policySchema";
import { positionOf } from "../../support/textPosition";

function errorsOf(text: string): PolicyError[] {
  const result = loadPolicy(text, "ws/apie.policy.json");
  assert.equal(result.ok, false, "expected the policy to be rejected");
  return result.ok ? [] : result.errors;
}

describe("policy loader", () => {
  it("accepts a full policy", () => {
    const text = JSON.stringify({
      $schema: "x", version: 1, mode: "enforce", productionEnvironments: ["production", "live"],
      templates: { "prod-deploys": true, "prod-shell": { decision: "require_approval" } },
      guardrails: [{ key: "big-scale", decision: "block", match: { "tool.name": { glob: "k8s.*" }, arguments: { "$.replicas": { gt: 10 } } } }],
      approvals: { timeoutMs: 60000 },
      boundary: { warnOnUndeclaredTools: true },
      capabilities: { a: [{ tool: { name: "search" }, actions: ["read"], resources: ["file"] }] },
    }, null, 2);
    const result = loadPolicy(text);
    assert.ok(result.ok);
    // guard-files is on in every policy that does not turn it off.
    assert.deepEqual(result.policy.enabledTemplates, ["prod-deploys", "prod-shell", "guard-files"]);
    assert.equal(result.policy.mode, "enforce");
  });

  it("a syntax error names file, line and column", () => {
    const text = '{\n  "templates": {\n    "prod-deploys": tru\n  }\n}';
    const [e] = errorsOf(text);
    assert.equal(e!.file, "ws/apie.policy.json");
    assert.equal(e!.line, 3);
    assert.match(formatPolicyError(e!), /^ws\/apie\.policy\.json:3:\d+: JSON syntax error/);
  });

  it("an unknown template key is an error at the key, with a suggestion", () => {
    const text = '{\n  "templates": {\n    "prod-secret": true\n  }\n}';
    const [e] = errorsOf(text);
    assert.deepEqual({ line: e!.line, column: e!.column }, positionOf(text, '"prod-secret"'));
    assert.equal(e!.field, 'templates["prod-secret"]');
    assert.match(e!.message, /unknown template key "prod-secret"; did you mean "prod-secrets"\?/);
  });

  it("an invalid regex is an error at the regex", () => {
    const text = '{\n  "guardrails": [\n    { "key": "r", "decision": "block", "match": { "tool.name": { "regex": "([a-z" } } }\n  ]\n}';
    const [e] = errorsOf(text);
    assert.deepEqual({ line: e!.line, column: e!.column }, positionOf(text, '"([a-z"'));
    assert.equal(e!.field, 'guardrails[0].match["tool.name"].regex');
    assert.match(e!.message, /invalid regex/);
  });

  it("a wrong type names the field", () => {
    const text = '{\n  "mode": "enforced"\n}';
    const [e] = errorsOf(text);
    assert.equal(e!.field, "mode");
    assert.equal(e!.line, 2);
    assert.match(e!.message, /monitor|enforce/);
  });

  it("a wrong decision inside a guardrail names the nested field", () => {
    const text = '{"guardrails": [{"key": "a", "decision": "deny", "match": {"tool.name": "x"}}]}';
    const [e] = errorsOf(text);
    assert.equal(e!.field, "guardrails[0].decision");
    assert.equal(e!.column, text.indexOf('"deny"') + 1);
  });

  it("duplicate JSON keys are errors at the second key", () => {
    const text = '{\n  "mode": "monitor",\n  "mode": "enforce"\n}';
    const [e] = errorsOf(text);
    assert.equal(e!.line, 3);
    assert.match(e!.message, /duplicate key "mode"/);
  });

  it("duplicate guardrail keys, and keys that shadow a template, are errors", () => {
    const g = (key: string) => ({ key, decision: "warn", match: { "tool.name": "x" } });
    const errors = errorsOf(JSON.stringify({ guardrails: [g("a"), g("a"), g("prod-shell")] }));
    assert.deepEqual(errors.map((e) => e.field), ["guardrails[1].key", "guardrails[2].key"]);
    assert.match(errors[1]!.message, /already used by a template/);
  });

  it("unknown fields in a match are named", () => {
    const [e] = errorsOf('{"guardrails": [{"key": "a", "decision": "warn", "match": {"tool.nam": "x"}}]}');
    assert.equal(e!.field, 'guardrails[0].match["tool.nam"]');
    assert.match(e!.message, /unknown field "tool.nam"/);
  });

  it("an empty match is refused (it would match every call)", () => {
    const [e] = errorsOf('{"guardrails": [{"key": "a", "decision": "block", "match": {}}]}');
    assert.equal(e!.field, "guardrails[0].match");
  });

  it("a bad JSON path in arguments is an error at that path", () => {
    const text = '{"guardrails": [{"key": "a", "decision": "block", "match": {"arguments": {"$.a[": 1}}}]}';
    const [e] = errorsOf(text);
    assert.equal(e!.field, 'guardrails[0].match.arguments["$.a["]');
    assert.match(e!.message, /unclosed/);
  });

  it("comments are refused (the file must stay plain JSON)", () => {
    assert.match(errorsOf('{ // hi\n}')[0]!.message, /syntax error/);
  });

  it("an empty file is an error, not an empty policy", () => {
    assert.match(errorsOf("")[0]!.message, /empty|syntax/);
  });

  it("all errors are reported, in file order", () => {
    const errors = errorsOf('{\n"mode": "x",\n"templates": {"nope": true},\n"approvals": {"timeoutMs": -1}\n}');
    assert.deepEqual(errors.map((e) => e.line), [2, 3, 4]);
  });

  it("the generated JSON Schema knows every template key with its description", () => {
    const schema = policyJsonSchema() as { properties: { templates: { properties: Record<string, { description: string }>; additionalProperties: boolean } } };
    assert.equal(schema.properties.templates.additionalProperties, false);
    assert.match(schema.properties.templates.properties["prod-shell"]!.description, /default: block/);
  });
});
