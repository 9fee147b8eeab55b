import { strict as assert } from "node:assert";
import type { z } from "zod";
import { GuardEngine } from "../../../sidecar/guard/engine";
import { createRedactor } from "../../../sidecar/guard/redact";
import { EvaluateBodySchema, toGuardRequest, trustedGuardRequest } from "../../../sidecar/protocol/v1";
import { evaluateBody } from "../../../sidecar/sdk/guardClient";
import type { GuardInput } from "../../../sidecar/sdk/types";

/**
 * The MCP proxy's replica maps the evaluate body it built itself without the zod parse; the sidecar parses
 * the same body when the decision is reported. Both must see the same request, or the replica's decisions
 * would be reported as diverged.
 */

type Body = z.input<typeof EvaluateBodySchema>;

const INPUTS: (GuardInput & { runId?: string })[] = [
  { tool: { name: "everything.echo", provider: "mcp" }, arguments: { message: "hello" } },
  { tool: { name: "everything.echo", provider: "mcp", riskLevel: "high" }, arguments: { message: "hello" }, runId: "run_1" },
  { tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" }, action: { type: "execute", name: "deploy.release" }, resource: { type: "deployment_event", environment: "production" } },
  { tool: { name: "fs.read_file" }, resource: { type: "file", externalId: "/etc/passwd", provider: "local" }, metadata: { password: "hunter2", note: "x" } },
  { tool: { name: "shell.exec", provider: "mcp" }, arguments: ["rm", "-rf", "/"], riskLevel: "critical" },
  { tool: { name: "db.query" }, action: { type: "write" }, arguments: { sql: "drop table users" }, approvalId: "apr_1" },
];

/** Raw bodies as an official client could send them: nulls, the snake_case risk level, nothing at all. */
const BODIES: Body[] = [
  { agent_key: "a", run_id: null, mode: null, risk_level: null, tool: null, action: null, resource: null, metadata: null },
  { agent_key: "a", tool: { name: "x.y", provider: null, risk_level: "low" }, action: { type: null, name: "x.y" }, resource: { type: "file", environment: null } },
  { agent_key: "a", mode: "enforce", risk_level: "medium", tool: { name: "x.y", riskLevel: "high", risk_level: "low" }, arguments: null },
];

function bothWays(body: Body): { trusted: unknown; parsed: unknown } {
  // JSON drops keys whose value is undefined: "absent" either way.
  return { trusted: JSON.parse(JSON.stringify(trustedGuardRequest(body))), parsed: JSON.parse(JSON.stringify(toGuardRequest(EvaluateBodySchema.parse(body)))) };
}

describe("trustedGuardRequest (the replica's request, without the zod pass)", () => {
  it("equals the schema's parse for every body the SDK builds, with and without redaction", () => {
    for (const redactor of [undefined, createRedactor({ redactKeys: ["password"] })]) {
      for (const [i, input] of INPUTS.entries()) {
        const body = evaluateBody(input, { agentKey: "mcp-agent", mode: "monitor", redactor });
        const { trusted, parsed } = bothWays(body);
        assert.deepEqual(trusted, parsed, `input ${i}${redactor ? " (redacted)" : ""}`);
      }
    }
  });

  it("equals the schema's parse for null-filled and snake_case bodies", () => {
    for (const [i, body] of BODIES.entries()) {
      const { trusted, parsed } = bothWays(body);
      assert.deepEqual(trusted, parsed, `body ${i}`);
    }
  });

  it("leads the engine to the same decisions", () => {
    const engine = new GuardEngine();
    engine.loadPolicyText(JSON.stringify({ templates: { "prod-deploys": true, "prod-shell": true, "secret-in-arguments": true } }));
    for (const [i, input] of INPUTS.entries()) {
      const body = evaluateBody(input, { agentKey: "mcp-agent", mode: "enforce", redactor: undefined });
      const trusted = engine.evaluate(trustedGuardRequest(body), "dec");
      const parsed = engine.evaluate(toGuardRequest(EvaluateBodySchema.parse(body)), "dec");
      assert.deepEqual(trusted, parsed, `input ${i}`);
    }
  });
});
