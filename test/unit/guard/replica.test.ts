import { strict as assert } from "node:assert";
import { GuardEngine, isPlainAllow } from "../../../sidecar/guard/engine";
import type { GuardRequest } from "../../../sidecar/guard/types";

const AGENT = "mcp-agent";

const POLICY = JSON.stringify({
  mode: "monitor",
  templates: { "prod-deploys": true, "prod-shell": true, "secret-in-arguments": true, require_approval_unknown_mcp_tools: true },
  guardrails: [{ key: "no-drop", name: "No drop", decision: "block", reason: "no drops", match: { "tool.name": "db.query", arguments: { "$.sql": { regex: "drop\\s+table" } } } }],
  boundary: { warnOnUndeclaredTools: true },
});

const REQUESTS: GuardRequest[] = [
  { agentKey: AGENT, tool: { name: "everything.echo", provider: "mcp" }, arguments: { message: "hello" } },
  { agentKey: AGENT, tool: { name: "everything.echo", provider: "mcp" }, arguments: { message: "token ghp_0123456789abcdef0123456789abcdef0123" } },
  { agentKey: AGENT, tool: { name: "db.query", provider: "mcp" }, arguments: { sql: "drop table users" } },
  { agentKey: AGENT, tool: { name: "deploy.release" }, action: { type: "execute" }, resource: { type: "deployment_event", environment: "production" } },
  { agentKey: AGENT, tool: { name: "shell.exec", provider: "mcp" }, arguments: { command: "rm -rf /" } },
  { agentKey: AGENT, tool: { name: "unknown.tool", provider: "mcp" }, mode: "enforce" },
  { agentKey: AGENT, tool: { name: "fs.read_file", provider: "mcp" }, arguments: { path: "/tmp/a" } },
];

function sidecarEngine(): GuardEngine {
  const engine = new GuardEngine();
  engine.loadPolicyText(POLICY);
  engine.setWorkspaceMode("enforce");
  engine.declareCapabilities(AGENT, [{ tool: { name: "fs.read_file", provider: "mcp" }, actions: ["read"], resources: ["file"] }]);
  engine.defineTool({ name: "everything.echo", provider: "mcp", riskLevel: "medium" });
  engine.defineTool({ name: "fs.read_file", provider: "mcp", actionTypes: ["read"], resourceTypes: ["file"], riskLevel: "low" });
  return engine;
}

describe("guard engine replicas (the MCP proxy's fast path)", () => {
  it("a replica built from a snapshot decides every request exactly as the engine it copies", () => {
    const original = sidecarEngine();
    const replica = GuardEngine.replica(JSON.parse(JSON.stringify(original.snapshot(AGENT))));
    assert.ok(replica);
    for (const [i, request] of REQUESTS.entries()) {
      assert.deepEqual(replica.evaluate(request, `dec_${i}`), original.evaluate(request, `dec_${i}`), `request ${i} (${request.tool?.name})`);
    }
  });

  it("only a plain allow is one a replica may make on its own", () => {
    const engine = sidecarEngine();
    const plain = REQUESTS.map((r) => isPlainAllow(engine.evaluate(r)));
    // Only fs.read_file (declared and defined) has nothing against it. echo "hello" is an MCP tool this agent
    // never declared (require_approval_unknown_mcp_tools); everything else matched a guardrail or a template.
    assert.deepEqual(plain, [false, false, false, false, false, false, true]);
    const loose = new GuardEngine();
    assert.ok(isPlainAllow(loose.evaluate(REQUESTS[0]!)), "with no policy, echo is a plain allow");
  });

  it("every change that can change a decision moves the version; repeating one does not", () => {
    const engine = sidecarEngine();
    const seen: number[] = [];
    engine.onDidChange((v) => seen.push(v));
    const start = engine.stateVersion;
    engine.defineTool({ name: "everything.echo", provider: "mcp", riskLevel: "medium" });
    engine.setWorkspaceMode("enforce");
    assert.equal(engine.stateVersion, start, "the same definition and the same mode again change nothing");
    engine.defineTool({ name: "everything.echo", provider: "mcp", riskLevel: "high" });
    engine.setWorkspaceMode("monitor");
    engine.declareCapabilities(AGENT, []);
    engine.loadPolicyText(JSON.stringify({ templates: {} }));
    engine.clearPolicy();
    assert.deepEqual(seen, [start + 1, start + 2, start + 3, start + 4, start + 5]);
  });

  it("no replica of an engine whose policy is broken: its decisions carry state a copy must not imitate", () => {
    const engine = sidecarEngine();
    engine.loadPolicyText("{ not json");
    const snapshot = engine.snapshot(AGENT);
    assert.equal(snapshot.policy_state, "stale");
    assert.equal(snapshot.policy_text, null);
    assert.equal(GuardEngine.replica(snapshot), undefined);
  });
});
