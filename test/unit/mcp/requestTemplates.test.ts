import { strict as assert } from "node:assert";
import { createRedactor } from "../../../sidecar/guard/redact";
import { requestWith, RequestTemplates } from "../../../sidecar/mcp/requestTemplates";
import { trustedGuardRequest } from "../../../sidecar/protocol/v1";
import { evaluateBody, type EvaluateBodyOptions } from "../../../sidecar/sdk/guardClient";
import type { GuardInput } from "../../../sidecar/sdk/types";

type Input = GuardInput & { runId?: string | undefined };

/** What the replica decided on before templates: the request parsed from the very body the sidecar is sent. */
const direct = (input: Input, options: EvaluateBodyOptions) => trustedGuardRequest(evaluateBody(input, options));

describe("mcp: the replica's request templates", () => {
  const deploy = { name: "ops.deploy", provider: "mcp", riskLevel: "high" as const };
  const read = { name: "files.read", provider: "mcp" };
  const action = { type: "execute", name: "ops.deploy" };
  const resource = { type: "deployment_event", environment: "production", externalId: "svc-1" };
  const metadata = { cwd: "/w", token: "s3cret-value" };
  const cases: [string, Input][] = [
    ["arguments, no action or resource", { tool: read, arguments: { path: "a.txt" }, runId: "run_1" }],
    ["no arguments at all", { tool: read, runId: "run_1" }],
    ["action, resource, risk and metadata", { tool: deploy, action, resource, riskLevel: "high", metadata, arguments: { ref: "main", api_key: "k" }, runId: "run_2" }],
    ["no run", { tool: read, arguments: [1, "two", null] }],
  ];

  for (const options of [{ agentKey: "agent", mode: "monitor" as const }, { agentKey: "agent", mode: "enforce" as const, redactor: createRedactor({ redactKeys: ["token", "api_key"] }) }]) {
    it(`decides on the request the sidecar would parse from the body it is sent, and reports that body (${options.redactor ? "enforce, redacting" : "monitor"})`, () => {
      const templates = new RequestTemplates(options);
      for (const [what, input] of cases) {
        // Twice: the second call is served from the template the first one made.
        for (const args of [input.arguments, { other: "call", n: 2 }]) {
          const call = { ...input, arguments: args };
          const template = templates.of(call);
          assert.deepEqual(requestWith(template, call.arguments), direct(call, options), what);
          const body = JSON.stringify(evaluateBody(call, options));
          const sent = `${template.opening}${call.arguments === undefined ? "" : `,"arguments":${JSON.stringify(call.arguments)}`}}`;
          assert.equal(sent, body, `${what}: the report's body is the evaluate body`);
        }
      }
    });
  }

  it("gives another run, other metadata or another action a template of its own, never a stale one", () => {
    const options = { agentKey: "agent", mode: "monitor" as const };
    const templates = new RequestTemplates(options);
    const base = { tool: deploy, action, runId: "run_1" };
    const first = templates.of(base);
    assert.equal(templates.of({ ...base }), first, "the same parts share one template");
    for (const changed of [{ ...base, runId: "run_2" }, { ...base, metadata }, { ...base, action: { type: "read" } }, { ...base, resource }, { ...base, riskLevel: "low" as const }]) {
      const kept = templates.of(base); // the base's template is the one kept when `changed` comes
      assert.equal(templates.of(base), kept);
      const template = templates.of(changed);
      assert.notEqual(template, kept, JSON.stringify(changed));
      assert.deepEqual(requestWith(template, undefined), direct(changed, options));
    }
  });
});
