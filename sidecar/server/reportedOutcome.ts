import type { GuardRequest } from "../guard/types";
import { WireEventSchema, type WireEvent } from "../protocol/events";
import type { ReportedOutcome } from "../protocol/v1";
import { actionCompletedEvent, actionFailedEvent, toWireEvent, type ToolEventInput } from "../sdk/events";
import type { ActionRef, ResourceRef } from "../sdk/types";

/**
 * The timeline event of a call a replica decided and reported together with its outcome: the same
 * `agent.action.completed` / `agent.action.failed` event the MCP proxy would otherwise have sent through
 * POST /v1/events, built by the SDK's own event builders from the reported request, linked to the decision by
 * `metadata.decision_id`, stamped with the time the call ended. What the sidecar cannot know is left out:
 * the per-run sequence number and the session id (both optional on the wire).
 *
 * The action is taken from the request only when it has a type: a reporter that did not say what the call
 * does sends just the tool's name there, for inference, and its own events name no action either.
 */
export function reportedOutcomeEvent(request: GuardRequest, decisionId: string, outcome: ReportedOutcome): WireEvent {
  const { tool, action, resource } = request;
  const input: ToolEventInput = {
    tool: tool?.name === undefined ? undefined : { name: tool.name, provider: tool.provider, riskLevel: tool.riskLevel },
    action: action?.type === undefined ? undefined : ({ type: action.type, name: action.name } satisfies ActionRef),
    resource: resource === undefined ? undefined : ({ ...resource } as ResourceRef),
    metadata: { decision_id: decisionId },
  };
  const envelope = { agentKey: request.agentKey, runId: request.runId, timestamp: outcome.at, environment: resource?.environment };
  const event = outcome.status === "completed" ? actionCompletedEvent(envelope, input) : actionFailedEvent(envelope, { ...input, error: outcome.error });
  // Parsed like every event POST /v1/events logs: the log holds one shape of event, whoever built it.
  return WireEventSchema.parse(toWireEvent(event));
}
