import { strict as assert } from "node:assert";
import { actionHash, canonicalJson } from "../../../sidecar/store/canonical";
import { seededRandom } from "../../support/seededRandom";

/** The recursive canonicalJson this module had until issue 11: the iterative one must print the same bytes. */
function recursiveCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : recursiveCanonicalJson(v))).join(",")}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${recursiveCanonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

const KEYS = ["a", "b", "Z", "é", "\u{1F600}", "", "10", "2", "__proto__x", "a\"b", "\n", "\uD800"];
const SCALARS: unknown[] = [0, -0, 1.5, 1e21, -3, Number.NaN, Number.POSITIVE_INFINITY, "", "x", "ü\u2028", "\uDC00", true, false, null, undefined, () => 1, Symbol("s")];

function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const kind = depth <= 0 ? 0 : Math.floor(next() * 3);
  if (kind === 0) return pick(SCALARS);
  const size = Math.floor(next() * 5);
  if (kind === 1) return Array.from({ length: size }, () => randomValue(next, depth - 1));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) out[pick(KEYS)] = randomValue(next, depth - 1);
  return out;
}

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

  it("prints exactly what the recursive version printed, on 2 000 random values (seeded)", () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const value = randomValue(seededRandom(seed), 6);
      assert.equal(canonicalJson(value), recursiveCanonicalJson(value), `seed ${seed}`);
    }
    const sparse: unknown[] = [1];
    sparse[3] = 2;
    assert.equal(canonicalJson(sparse), recursiveCanonicalJson(sparse));
    assert.equal(canonicalJson(undefined), "null");
    assert.throws(() => canonicalJson({ a: 1n }), TypeError, "a BigInt throws, as JSON.stringify does");
  });

  it("hashes a value nested 100 000 levels deep without overflowing the stack", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
    const text = canonicalJson(deep);
    assert.equal(text.length, 50_000 * "[]".length + 50_000 * '{"k":}'.length + '"bottom"'.length);
    assert.ok(text.startsWith('{"k":[{"k":['));
    assert.match(actionHash({ agentKey: "bot", tool: { name: "deploy" }, arguments: deep }), /^[0-9a-f]{64}$/);
  });
});
