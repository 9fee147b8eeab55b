import { strict as assert } from "node:assert";
import { CapabilityRegistry } from "../../../sidecar/guard/boundary";
import { compilePolicy, type CompiledPolicy } from "../../../sidecar/guard/compile";
import { evaluate, type EvaluationEnvironment } from "../../../sidecar/guard/evaluate";
import type { CustomGuardrail, Matcher } from "../../../sidecar/guard/policySchema";
import { RuleIndex } from "../../../sidecar/guard/ruleIndex";
import { DECISIONS, type GuardRequest } from "../../../sidecar/guard/types";

/** Small deterministic PRNG so a failure reproduces. */
function prng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const TOOLS = ["deploy.release", "db.update", "vault.read", "github.merge_pr", "search", "k8s.scale"];
const ACTIONS = ["read", "update", "execute", "merge", "delete"];
const ENVS = ["production", "staging", undefined];

describe("rule index", () => {
  it("finds exactly the matches that testing every rule finds, in the same order", () => {
    const rand = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const matcherFor = (values: readonly string[]): Matcher => {
      const r = rand();
      if (r < 0.3) return pick(values);
      if (r < 0.5) return [pick(values), pick(values)];
      if (r < 0.6) return { in: [pick(values)] };
      if (r < 0.7) return { glob: `${pick(values).slice(0, 3)}*` };
      if (r < 0.8) return { not: pick(values) };
      return { equals: pick(values) };
    };
    const guardrails: CustomGuardrail[] = Array.from({ length: 300 }, (_, i) => {
      const match: CustomGuardrail["match"] = {};
      if (rand() < 0.6) match["tool.name"] = matcherFor(TOOLS);
      if (rand() < 0.5) match["action.type"] = matcherFor(ACTIONS);
      if (rand() < 0.4) match["resource.environment"] = matcherFor(["production", "staging"]);
      if (Object.keys(match).length === 0) match.arguments = { "$.n": { gt: 5 } };
      return { key: `g${i}`, decision: pick(DECISIONS), match };
    });
    const indexed = compilePolicy({ templates: { "prod-deploys": true }, guardrails });
    const bruteForce: CompiledPolicy = { ...indexed, index: new RuleIndex(indexed.rules, indexed.rules.map(() => undefined)) };
    const env: EvaluationEnvironment = {
      decisionId: "d",
      workspaceMode: "enforce",
      capabilities: new CapabilityRegistry(),
      toolDefinitions: new Map(),
      policyState: "ok",
      policyMessage: null,
    };
    let matchedSomething = 0;
    for (let i = 0; i < 2000; i++) {
      const environment = pick(ENVS);
      const request: GuardRequest = {
        agentKey: "a",
        tool: { name: pick(TOOLS), riskLevel: "high" },
        action: { type: pick(ACTIONS) },
        resource: { type: "x", ...(environment ? { environment } : {}) },
        arguments: { n: Math.floor(rand() * 10) },
      };
      const a = evaluate(indexed, request, env);
      const b = evaluate(bruteForce, request, env);
      assert.deepEqual(a.matched_guardrails, b.matched_guardrails, JSON.stringify(request));
      assert.equal(a.policy_decision, b.policy_decision);
      if (a.matched_guardrails.length > 0) matchedSomething++;
    }
    assert.ok(matchedSomething > 500, `workload too sparse: ${matchedSomething}`);
  });
});
