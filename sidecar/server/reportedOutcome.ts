import { randomUUID } from "node:crypto";
import type { GuardRequest } from "../guard/types";
import type { WireEvent } from "../protocol/events";
import type { ReportedOutcome } from "../protocol/v1";

/**
 * The timeline event of a call a replica decided and reported together with its outcome: the
 * `agent.action.completed` / `agent.action.failed` event the MCP proxy would otherwise have sent through
 * POST /v1/events, linked to the decision by `metadata.decision_id`, stamped with the time the call ended.
 * What the sidecar cannot know is left out: the per-run sequence number and the session id (both optional).
 *
 * Written out in wire form rather than through the SDK's builders, `toWireEvent` and `WireEventSchema`
 * (a third of the sidecar's work per reported call); test/unit/server/reportedOutcome.test.ts holds it equal
 * to what that route gives. The action is taken from the request only when it has a type: a reporter that did
 * not say what the call does sends just the tool's name there, for inference, and its own events name no
 * action either.
 */
/**
 * `decisionId` null: an outcome whose decision is not known (a coding agent's post-tool-use hook after a
 * sidecar restart): no `decision_id`. `extra`: more metadata (a hook's `duration_ms` and `hook` reference).
 */
export function reportedOutcomeEvent(request: GuardRequest, decisionId: string | null, outcome: ReportedOutcome, extra?: Record<string, unknown>): WireEvent {
  const { tool, action, resource } = request;
  const environment = resource?.environment;
  const completed = outcome.status === "completed";
  return {
    type: completed ? "agent.action.completed" : "agent.action.failed",
    agent_key: request.agentKey,
    event_id: randomUUID(),
    run_id: request.runId,
    session_id: undefined,
    timestamp: outcome.at,
    sequence_number: undefined,
    ...(environment === undefined ? {} : { environment }),
    action: action?.type === undefined ? undefined : { type: action.type, name: action.name, risk_level: undefined },
    // As the schema leaves them: `resource` declares only type and environment, so its other nulls stay.
    resource: resource && { type: resource.type, external_id: resource.externalId ?? null, provider: resource.provider ?? null, environment },
    tool: tool?.name === undefined ? undefined : { name: tool.name, provider: tool.provider, risk_level: tool.riskLevel },
    metadata: {
      ...(decisionId === null ? {} : { decision_id: decisionId }),
      ...(completed ? { result: { status: "completed" } } : {}),
      ...extra,
    },
    ...(completed ? {} : { error: { message: outcome.error } }),
  };
}
