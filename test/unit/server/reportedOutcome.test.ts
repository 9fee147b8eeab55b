import { strict as assert } from "node:assert";
import type { GuardRequest } from "../../../sidecar/guard/types";
import { WireEventSchema } from "../../../sidecar/protocol/events";
import type { ReportedOutcome } from "../../../sidecar/protocol/v1";
import { reportedOutcomeEvent } from "../../../sidecar/server/reportedOutcome";
import { actionCompletedEvent, actionFailedEvent, toWireEvent, type ToolEventInput } from "../../../sidecar/sdk/events";
import type { ResourceRef } from "../../../sidecar/sdk/types";

/**
 * The sidecar writes the outcome event of a reported call out by hand; it must be the event the SDK's
 * builders and POST /v1/events would have logged for the same call (event ids aside).
 */

function throughTheEventsRoute(request: GuardRequest, decisionId: string, outcome: ReportedOutcome): unknown {
  const { tool, action, resource } = request;
  const input: ToolEventInput = {
    tool: tool?.name === undefined ? undefined : { name: tool.name, provider: tool.provider, riskLevel: tool.riskLevel },
    action: action?.type === undefined ? undefined : { type: action.type, name: action.name },
    resource: resource === undefined ? undefined : ({ ...resource } as ResourceRef),
    metadata: { decision_id: decisionId },
  };
  const envelope = { agentKey: request.agentKey, runId: request.runId, timestamp: outcome.at, environment: resource?.environment };
  const event = outcome.status === "completed" ? actionCompletedEvent(envelope, input) : actionFailedEvent(envelope, { ...input, error: outcome.error });
  return WireEventSchema.parse(toWireEvent(event));
}

/** JSON drops undefined: absent either way. */
const asLogged = (event: unknown) => {
  const { event_id: _id, ...rest } = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  return rest;
};

const REQUESTS: GuardRequest[] = [
  { agentKey: "mcp", tool: { name: "everything.echo", provider: "mcp" }, action: { name: "everything.echo" }, arguments: { message: "hi" } },
  { agentKey: "mcp", runId: "run_1", tool: { name: "fs.write", provider: "mcp", riskLevel: "high" }, action: { type: "write", name: "fs.write" }, resource: { type: "file", environment: "production", externalId: "/etc/x", provider: "local" } },
  { agentKey: "mcp", runId: "run_2", tool: { name: "x.y" }, resource: { environment: "staging" } },
  { agentKey: "mcp" },
];
const AT = "2026-11-24T10:00:00.000Z";
const OUTCOMES: ReportedOutcome[] = [
  { status: "completed", at: AT },
  { status: "failed", at: AT, error: "MCP error -32603: upstream exited" },
];

describe("server: the outcome event of a reported call", () => {
  it("is the event the SDK's builders and the events route would have logged", () => {
    for (const [i, request] of REQUESTS.entries()) {
      for (const outcome of OUTCOMES) {
        const direct = reportedOutcomeEvent(request, `dec_${i}`, outcome);
        assert.deepEqual(asLogged(direct), asLogged(throughTheEventsRoute(request, `dec_${i}`, outcome)), `request ${i}, ${outcome.status}`);
        assert.match(String(direct.event_id), /^[0-9a-f-]{36}$/);
      }
    }
  });

  it("parses as a wire event", () => {
    const event = reportedOutcomeEvent(REQUESTS[1]!, "dec_1", OUTCOMES[1]!);
    assert.deepEqual(asLogged(WireEventSchema.parse(event)), asLogged(event));
  });
});
