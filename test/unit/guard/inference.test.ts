import { strict as assert } from "node:assert";
import { GuardEngine } from "../../../sidecar/guard/engine";
import { inferFromArguments, inferFromToolName, toolNameTokens } from "../../../sidecar/guard/inference";

describe("inference from tool names", () => {
  const cases: [string, string, string, string][] = [
    ["deploy.release", "execute", "deployment_event", "high"],
    ["vault.read", "read", "secret", "critical"],
    ["db.update", "update", "database_record", "high"],
    ["postgres.select_rows", "read", "database_record", "high"],
    ["github.merge_pr", "merge", "code_repository", "high"],
    ["github.create_issue", "create", "code_repository", "medium"],
    ["cicd.trigger_pipeline", "execute", "pipeline_run", "high"],
    ["shell.rm_rf", "delete", "shell_command", "critical"],
    ["run_in_terminal", "execute", "shell_command", "high"],
    ["filesystem.read_file", "read", "file", "medium"],
    ["slack.post_message", "communicate", "communication_event", "medium"],
    ["searchDocs", "read", "internal_api", "low"],
  ];
  for (const [name, action, resource, risk] of cases) {
    it(`${name} → ${action} ${resource} ${risk}`, () => {
      const r = inferFromToolName(name);
      assert.deepEqual([r?.actionType, r?.resourceType, r?.riskLevel], [action, resource, risk]);
    });
  }

  it("matches whole tokens, not substrings", () => {
    assert.equal(inferFromToolName("format_date")?.resourceType, undefined);
    assert.equal(inferFromToolName("address.lookup")?.actionType, "read");
    assert.equal(inferFromToolName("calculator"), null);
  });

  it("splits camelCase, snake, kebab and dots", () => {
    assert.deepEqual(toolNameTokens("github.mergePR-now_x"), ["github", "merge", "pr", "now", "x"]);
  });
});

describe("inference from arguments", () => {
  it("a command is a shell execution; an environment is picked up", () => {
    assert.deepEqual(inferFromArguments({ command: "ls", environment: "production" }), { actionType: "execute", resourceType: "shell_command", environment: "production", reason: "arguments carry a shell command" });
  });
  it("SQL statements: writes and schema changes are updates, selects are reads", () => {
    assert.equal(inferFromArguments({ sql: "DROP TABLE x" })?.actionType, "update");
    assert.equal(inferFromArguments({ query: "select 1" })?.actionType, "read");
    assert.equal(inferFromArguments({ query: "what is love" }), null);
  });
  it("a path is a file", () => {
    assert.equal(inferFromArguments({ path: "a.txt" })?.resourceType, "file");
  });
  it("arguments with none of the keys it reads say nothing; with many keys, one of them is still found wherever it sits", () => {
    assert.equal(inferFromArguments({ message: "deploy to production", count: 3 }), null);
    const many = (last: Record<string, unknown>) => ({ ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])), ...last });
    assert.equal(inferFromArguments(many({})), null);
    assert.deepEqual(inferFromArguments(many({ cmd: "rm -rf /", stage: "prod" })), { actionType: "execute", resourceType: "shell_command", environment: "prod", reason: "arguments carry a shell command" });
    assert.equal(inferFromArguments({ ...many({}), file_path: "/etc/hosts" })?.resourceType, "file");
  });
});

describe("inference behind the official SDKs' placeholders", () => {
  it('treats resource type "unknown" (what with_tool sends when none is given) as not given, so it is inferred', () => {
    const engine = new GuardEngine();
    engine.loadPolicyText(JSON.stringify({ mode: "enforce", templates: { "prod-database": true } }));
    const decision = engine.evaluate({
      agentKey: "python-agent",
      tool: { name: "db.update_rows" },
      action: { type: "execute", name: "db.update_rows" },
      resource: { type: "unknown", environment: "production" },
    });
    assert.equal(decision.policy_decision, "require_approval");
    assert.deepEqual(decision.matched_guardrails.map((g) => g.key), ["prod-database"]);
    assert.ok(decision.inferred?.fields.includes("resource.type"));
  });
});
