import { strict as assert } from "node:assert";
import { ReportDecisionsBodySchema } from "../../../sidecar/protocol/v1";
import { MAX_REPORT_BYTES } from "../../../sidecar/mcp/largeArguments";
import { ReportOutbox } from "../../../sidecar/mcp/reportOutbox";
import { RequestTemplates } from "../../../sidecar/mcp/requestTemplates";
import type { HttpClient } from "../../../sidecar/sdk/http";

/** What the outbox POSTs, as the sidecar parses it (the transport is a stand-in: this checks the text alone). */
function capturing(): { http: HttpClient; sent: unknown[] } {
  const sent: unknown[] = [];
  const http = { request: async (_method: string, _path: string, body: { text: string }) => void sent.push(JSON.parse(body.text)) } as unknown as HttpClient;
  return { http, sent };
}

const tool = { name: "files.write", provider: "mcp" };
const bodyOf = (args: unknown, runId = "run_1") => ({
  agent_key: "agent",
  run_id: runId,
  mode: "monitor",
  risk_level: null,
  tool: { name: tool.name, provider: tool.provider, riskLevel: null },
  action: { type: null, name: tool.name },
  resource: null,
  metadata: null,
  ...(args === undefined ? {} : { arguments: args }),
});

describe("mcp: the replica's report outbox", () => {
  it("sends each decision's body as it was decided on (arguments, none, or digested when too large), with its outcome, valid for the sidecar's schema", async () => {
    const { http, sent } = capturing();
    const outbox = new ReportOutbox(http, (error) => assert.fail(String(error)));
    const templates = new RequestTemplates({ agentKey: "agent", mode: "monitor" });
    const huge = { content: "x".repeat(MAX_REPORT_BYTES) };
    const calls = [
      { id: "dec_1", args: { path: "a.txt", text: "héllo \u2028 \"quoted\"" }, runId: "run_1", outcome: { status: "completed" as const } },
      { id: "dec_2", args: undefined, runId: "run_1", outcome: { status: "failed" as const, error: "MCP error -32000: disk full" } },
      { id: "dec_3", args: { path: "b.txt" }, runId: "run_2", outcome: { status: "completed" as const } },
      { id: "dec_4", args: huge, runId: "run_2", outcome: undefined },
    ];
    for (const call of calls) {
      const input = { tool, action: undefined, resource: undefined, riskLevel: undefined, metadata: undefined, runId: call.runId };
      const report = outbox.decided(call.id, templates.of(input).opening, call.args);
      if (call.outcome !== undefined) assert.equal(outbox.settle(report, call.outcome), true);
    }
    await outbox.flush();
    outbox.close();
    const decisions = sent.flatMap((batch) => ReportDecisionsBodySchema.parse(batch).decisions);
    assert.deepEqual(decisions.map((d) => d.decision_id), ["dec_1", "dec_2", "dec_3", "dec_4"]);
    const raw = sent.flatMap((batch) => (batch as { decisions: { body: unknown; outcome?: { status: string; error?: string } }[] }).decisions);
    assert.deepEqual(raw[0]!.body, bodyOf(calls[0]!.args, "run_1"));
    assert.deepEqual(raw[1]!.body, bodyOf(undefined, "run_1"), "no arguments member when the call had none");
    assert.deepEqual(raw[2]!.body, bodyOf({ path: "b.txt" }, "run_2"), "another run gets its own opening");
    assert.deepEqual([raw[0]!.outcome?.status, raw[1]!.outcome?.status, raw[1]!.outcome?.error], ["completed", "failed", "MCP error -32000: disk full"]);
    const digested = (raw[3]!.body as { arguments: { apie_too_large: { bytes: number; sha256: string } } }).arguments.apie_too_large;
    assert.equal(digested.bytes, JSON.stringify(huge).length);
    assert.match(digested.sha256, /^[0-9a-f]{64}$/);
    for (const d of decisions) assert.ok(Date.parse(d.decided_at!) <= Date.now());
  });
});
