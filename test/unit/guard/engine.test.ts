import { strict as assert } from "node:assert";
import { GuardEngine } from "../../../sidecar/guard/engine";
import type { PolicyDocument } from "../../../sidecar/guard/policySchema";
import { TEMPLATE_KEYS } from "../../../sidecar/guard/templateCatalog";
import { AGENT, call, engineWith, keysOf, PACK_SCENARIOS } from "./helpers";

const ALL_TEMPLATES: PolicyDocument = { templates: Object.fromEntries(TEMPLATE_KEYS.map((k) => [k, true])) };

describe("guard engine", () => {
  describe("Apie's guardrail-packs scenarios with every template on", () => {
    const expected = {
      deploy: ["prod-deploys", "require_approval"],
      vault: ["prod-secrets", "block"],
      database: ["prod-database", "require_approval"],
      merge: ["prod-merge", "require_approval"],
      shell: ["prod-shell", "block"],
    } as const;
    for (const [name, [key, decision]] of Object.entries(expected)) {
      it(`${name}: ${key} → ${decision}`, () => {
        const d = engineWith(ALL_TEMPLATES, "enforce").evaluate(PACK_SCENARIOS[name as keyof typeof expected]);
        assert.deepEqual(keysOf(d), [key]);
        assert.equal(d.policy_decision, decision);
        assert.equal(d.effective_decision, decision);
      });
    }
  });

  describe("combination", () => {
    const policy: PolicyDocument = {
      templates: { "prod-deploys": true },
      guardrails: [
        { key: "warn-deploys", decision: "warn", reason: "deploys are noisy", match: { "tool.name": { glob: "deploy.*" } } },
        { key: "block-prod-deploys", decision: "block", reason: "release freeze", match: { "resource.environment": "production", "action.type": "execute" } },
        { key: "allow-all", decision: "allow", match: { "agent.key": { exists: true } } },
      ],
    };

    it("the most restrictive decision wins and every match is reported", () => {
      const d = engineWith(policy, "enforce").evaluate(PACK_SCENARIOS.deploy);
      assert.equal(d.policy_decision, "block");
      assert.equal(d.reason, "release freeze");
      assert.deepEqual(keysOf(d).sort(), ["allow-all", "block-prod-deploys", "prod-deploys", "warn-deploys"]);
    });

    it("require_approval beats warn, and warn beats allow", () => {
      const staging = call({ ...PACK_SCENARIOS.deploy, resource: { type: "deployment_event", environment: "staging" } });
      assert.equal(engineWith(policy, "enforce").evaluate(staging).policy_decision, "warn");
      const withoutBlock = { ...policy, guardrails: policy.guardrails!.filter((g) => g.key !== "block-prod-deploys") };
      const d = engineWith(withoutBlock, "enforce").evaluate(PACK_SCENARIOS.deploy);
      assert.equal(d.policy_decision, "require_approval");
      assert.equal(d.enforcement_action, "wait_for_approval");
    });

    it("no match is an allow that says so", () => {
      const d = engineWith({}, "enforce").evaluate(call({ tool: { name: "search" } }));
      assert.equal(d.policy_decision, "allow");
      assert.equal(d.enforcement_action, "proceed");
      assert.equal(d.reason, "no guardrail matched");
    });

    it("the shortest approval timeout among matching require_approval guardrails applies", () => {
      const d = engineWith({
        templates: { "prod-deploys": { approvalTimeoutMs: 90_000 } },
        guardrails: [{ key: "quick", decision: "require_approval", approvalTimeoutMs: 30_000, match: { "tool.name": "deploy.release" } }],
      }).evaluate(PACK_SCENARIOS.deploy);
      assert.equal(d.approval_timeout_ms, 30_000);
      assert.equal(engineWith({ templates: { "prod-deploys": true } }).evaluate(PACK_SCENARIOS.deploy).approval_timeout_ms, 300_000);
      assert.equal(engineWith({ templates: { "prod-deploys": true }, approvals: { timeoutMs: 5000 } }).evaluate(PACK_SCENARIOS.deploy).approval_timeout_ms, 5000);
    });
  });

  describe("modes", () => {
    it("monitor turns block into an allow marked would_block", () => {
      const d = engineWith(ALL_TEMPLATES, "monitor").evaluate(PACK_SCENARIOS.vault);
      assert.equal(d.mode, "monitor");
      assert.equal(d.policy_decision, "block");
      assert.equal(d.effective_decision, "allow");
      assert.equal(d.enforcement_action, "proceed");
      assert.equal(d.annotation, "would_block");
    });

    it("monitor turns require_approval into an allow marked would_require_approval", () => {
      const d = engineWith(ALL_TEMPLATES, "monitor").evaluate(PACK_SCENARIOS.deploy);
      assert.equal(d.effective_decision, "allow");
      assert.equal(d.annotation, "would_require_approval");
      assert.equal(d.approval_timeout_ms, 300_000);
    });

    it("warn stays warn in monitor", () => {
      const d = engineWith({ guardrails: [{ key: "w", decision: "warn", match: { "tool.name": "x" } }] }, "monitor").evaluate(call({ tool: { name: "x" } }));
      assert.equal(d.effective_decision, "warn");
      assert.equal(d.enforcement_action, "warn");
      assert.equal(d.annotation, null);
    });

    it("the agent's enforce wins over a monitor workspace", () => {
      const d = engineWith(ALL_TEMPLATES, "monitor").evaluate({ ...PACK_SCENARIOS.vault, mode: "enforce" });
      assert.equal(d.mode, "enforce");
      assert.equal(d.effective_decision, "block");
    });

    it("the agent's monitor cannot lower an enforce workspace", () => {
      const d = engineWith(ALL_TEMPLATES, "enforce").evaluate({ ...PACK_SCENARIOS.vault, mode: "monitor" });
      assert.equal(d.mode, "enforce");
      assert.equal(d.enforcement_action, "block");
    });

    it("the policy's mode applies until the workspace overrides it, and the next decision follows", () => {
      const engine = engineWith({ ...ALL_TEMPLATES, mode: "enforce" });
      assert.equal(engine.evaluate(PACK_SCENARIOS.vault).effective_decision, "block");
      engine.setWorkspaceMode("monitor");
      assert.equal(engine.evaluate(PACK_SCENARIOS.vault).effective_decision, "allow");
      engine.setWorkspaceMode(undefined);
      assert.equal(engine.evaluate(PACK_SCENARIOS.vault).effective_decision, "block");
    });
  });

  describe("boundary drift", () => {
    const declared: PolicyDocument = {
      capabilities: {
        [AGENT]: [
          { tool: { name: "search", provider: "internal" }, actions: ["read"], resources: ["knowledge_base"], environments: ["production", "staging"], riskLevel: "low" },
          { tool: { name: "github.merge_pr", provider: "github" }, actions: ["merge"], resources: ["code_repository"], environments: ["production"], riskLevel: "high" },
          { tool: { name: "filesystem.*" }, actions: ["read"], resources: ["file"] },
        ],
      },
    };

    it("an undeclared tool is drift, reported as a warn", () => {
      const d = engineWith(declared, "enforce").evaluate(call({ tool: { name: "vault.read_secret" } }));
      assert.deepEqual(d.drift_warnings.map((w) => w.code), ["unknown_resource_type", "undeclared_tool"]);
      assert.equal(d.policy_decision, "warn");
      assert.ok(keysOf(d).includes("boundary-drift"));
    });

    it("a declared tool used as declared has no drift", () => {
      const d = engineWith(declared, "enforce").evaluate(call({ tool: { name: "search", riskLevel: "low" }, action: { type: "read" }, resource: { type: "knowledge_base", environment: "staging" } }));
      assert.deepEqual(d.drift_warnings, []);
      assert.equal(d.policy_decision, "allow");
    });

    it("glob capability names cover a family of tools", () => {
      const d = engineWith(declared).evaluate(call({ tool: { name: "filesystem.read_file" }, action: { type: "read" }, resource: { type: "file" } }));
      assert.deepEqual(d.drift_warnings, []);
    });

    it("a declared tool with an undeclared action, environment or higher risk drifts", () => {
      const d = engineWith(declared).evaluate(call({ tool: { name: "search", riskLevel: "high" }, action: { type: "delete" }, resource: { type: "knowledge_base", environment: "dev" } }));
      assert.deepEqual(d.drift_warnings.map((w) => w.code).sort(), ["risk_above_declared", "undeclared_action", "undeclared_environment"]);
    });

    it("an unknown resource type is flagged, and the flags can be turned off", () => {
      const req = call({ tool: { name: "search" }, action: { type: "read" }, resource: { type: "shell_command" } });
      assert.ok(engineWith(declared).evaluate(req).drift_warnings.some((w) => w.code === "unknown_resource_type"));
      const quiet = engineWith({ ...declared, boundary: { warnOnUndeclaredTools: false, warnOnUnknownResourceTypes: false } });
      assert.deepEqual(quiet.evaluate(req).drift_warnings, []);
      assert.deepEqual(quiet.evaluate(call({ tool: { name: "nope" } })).drift_warnings, []);
    });

    it("agents without declarations have no contract and no drift", () => {
      const d = engineWith(declared).evaluate(call({ agentKey: "other", tool: { name: "anything" } }));
      assert.deepEqual(d.drift_warnings, []);
    });

    it("runtime declarations count and survive a policy reload", () => {
      const engine = engineWith({ templates: { require_approval_unknown_mcp_tools: true } }, "enforce");
      const req = call({ tool: { name: "fs.read_file", provider: "mcp" }, action: { type: "read" }, resource: { type: "file" } });
      assert.equal(engine.evaluate(req).policy_decision, "require_approval");
      engine.declareCapabilities(AGENT, [{ tool: { name: "fs.read_file", provider: "mcp" }, actions: ["read"], resources: ["file"] }]);
      assert.equal(engine.evaluate(req).policy_decision, "allow");
      engine.loadPolicyText(JSON.stringify({ templates: { require_approval_unknown_mcp_tools: true }, mode: "enforce" }));
      assert.equal(engine.evaluate(req).policy_decision, "allow");
    });
  });

  describe("inference", () => {
    it("fills missing action, resource and risk from the tool name and says so", () => {
      const d = engineWith({}).evaluate(call({ tool: { name: "deploy.release" }, resource: { environment: "production" } }));
      assert.deepEqual(d.inferred?.fields.sort(), ["action.type", "resource.type", "tool.riskLevel"]);
      assert.equal(d.inferred?.confidence, "high");
      assert.match(d.inferred!.reasons.join(), /deploy/);
    });

    it("never overrides what the caller gave", () => {
      const d = engineWith(ALL_TEMPLATES, "enforce").evaluate(call({ tool: { name: "deploy.release", riskLevel: "low" }, action: { type: "read" }, resource: { type: "observability_event", environment: "production" } }));
      assert.equal(d.inferred, null);
      assert.equal(d.policy_decision, "allow");
    });

    it("inferred metadata lets templates catch calls that arrived without it", () => {
      const d = engineWith(ALL_TEMPLATES, "enforce").evaluate(call({ tool: { name: "vault.read_secret" }, arguments: { environment: "production" } }));
      assert.equal(d.policy_decision, "block");
      assert.ok(d.inferred?.fields.includes("resource.environment"));
    });

    it("a tool definition is trusted over name guesses", () => {
      const engine = engineWith({});
      engine.defineTool({ name: "ops.thing", actionTypes: ["delete"], resourceTypes: ["database_record"], riskLevel: "critical" });
      const d = engine.evaluate(call({ tool: { name: "ops.thing" } }));
      assert.deepEqual(d.inferred?.reasons, ["tool definition"]);
      assert.equal(d.inferred?.confidence, "high");
    });

    it("autoInferFromToolNames: false leaves gaps empty", () => {
      const d = engineWith({ boundary: { autoInferFromToolNames: false }, templates: { "prod-deploys": true } }, "enforce").evaluate(call({ tool: { name: "deploy.release" }, resource: { environment: "production" } }));
      assert.equal(d.inferred, null);
      assert.equal(d.policy_decision, "allow");
    });
  });

  describe("a broken policy never turns guards off", () => {
    const broken = '{ "templates": { "prod-deploys": tru } }';

    it("keeps the last good policy and says so in every decision", () => {
      const engine = engineWith({ templates: { "prod-deploys": { decision: "block" } } }, "enforce");
      const errors = engine.loadPolicyText(broken);
      assert.ok(errors.length > 0);
      assert.equal(engine.policyStatus.state, "stale");
      const d = engine.evaluate(PACK_SCENARIOS.deploy);
      assert.equal(d.policy_decision, "block");
      assert.equal(d.policy.state, "stale");
      assert.match(d.policy.message!, /apie\.policy\.json:1:\d+/);
      assert.ok(keysOf(d).includes("policy-error"));
    });

    it("with no good policy yet, every template applies at its default and calls are at least warned", () => {
      const engine = new GuardEngine();
      engine.setWorkspaceMode("enforce");
      engine.loadPolicyText(broken);
      assert.equal(engine.policyStatus.state, "invalid");
      assert.equal(engine.evaluate(PACK_SCENARIOS.shell).policy_decision, "block");
      const harmless = engine.evaluate(call({ tool: { name: "search" } }));
      assert.equal(harmless.policy_decision, "warn");
      assert.match(harmless.reason, /no valid policy yet/);
    });

    it("an unreadable file is treated as broken, never as missing (which would mean no templates)", () => {
      const engine = new GuardEngine();
      engine.setWorkspaceMode("enforce");
      engine.policyUnreadable("ws/apie.policy.json", "EACCES");
      assert.equal(engine.policyStatus.state, "invalid");
      const d = engine.evaluate(PACK_SCENARIOS.shell);
      assert.equal(d.policy_decision, "block");
      assert.match(d.policy.message!, /^ws\/apie\.policy\.json:1:1: cannot read the file: EACCES/);
    });

    it("a fixed file clears the error", () => {
      const engine = new GuardEngine();
      engine.loadPolicyText(broken);
      engine.loadPolicyText('{ "templates": { "prod-deploys": true } }');
      assert.equal(engine.policyStatus.state, "ok");
      assert.equal(engine.evaluate(call({ tool: { name: "search" } })).policy_decision, "allow");
    });

    it("decision ids are unique", () => {
      const engine = new GuardEngine();
      const ids = new Set(Array.from({ length: 1000 }, () => engine.evaluate(call({ tool: { name: "x" } })).decision_id));
      assert.equal(ids.size, 1000);
    });
  });
});
