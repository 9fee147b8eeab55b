import { randomUUID } from "node:crypto";
import type { ApieDecision } from "./decision";
import type { ActionRef, ResourceRef, RiskLevel, ToolRef } from "./types";

/**
 * Timeline events, built like the Python SDK's (`events.py`): camelCase envelope (`agentKey`, `runId`,
 * `eventId`, …) with wire-form (snake_case) `tool`/`action`/`resource` sections. They are redacted in this
 * form, then {@link toWireEvent} snake-cases the envelope and drops empty fields for POST /v1/events.
 */

export type SdkEvent = Record<string, unknown> & { type: string; agentKey: string; eventId: string };

/** Who and where an event belongs to; filled by the client for every event. */
export interface EventEnvelope {
  agentKey: string;
  agentId?: string | undefined;
  agentVersionId?: string | undefined;
  runId?: string | undefined;
  sessionId?: string | undefined;
  sequenceNumber?: number | undefined;
  sessionSequenceNumber?: number | undefined;
  environment?: string | undefined;
  /** When it happened (the event may be built a little later). */
  timestamp?: string | undefined;
}

export interface ToolEventInput {
  tool?: ToolRef | undefined;
  action?: ActionRef | undefined;
  resource?: ResourceRef | undefined;
  metadata?: Record<string, unknown> | undefined;
  riskLevel?: RiskLevel | undefined;
}

function base(type: string, envelope: EventEnvelope, environment?: string): SdkEvent {
  return {
    type,
    ...envelope,
    environment: environment ?? envelope.environment,
    eventId: randomUUID(),
    timestamp: envelope.timestamp ?? new Date().toISOString(),
  };
}

export function wireTool(tool: ToolRef | undefined): Record<string, unknown> | undefined {
  return tool && { name: tool.name, provider: tool.provider ?? null, risk_level: tool.riskLevel ?? null };
}

export function wireAction(action: ActionRef | undefined, riskLevel?: string): Record<string, unknown> | undefined {
  return action && { type: action.type, name: action.name ?? null, risk_level: action.riskLevel ?? riskLevel ?? null };
}

export function wireResource(resource: ResourceRef | undefined): Record<string, unknown> | undefined {
  return (
    resource && {
      type: resource.type,
      external_id: resource.externalId ?? null,
      provider: resource.provider ?? null,
      environment: resource.environment ?? null,
    }
  );
}

export function toolCalledEvent(envelope: EventEnvelope, input: ToolEventInput): SdkEvent {
  return {
    ...base("agent.tool.called", envelope),
    tool: wireTool(input.tool),
    action: wireAction(input.action),
    resource: wireResource(input.resource),
    metadata: input.metadata,
  };
}

export function actionRequestedEvent(envelope: EventEnvelope, input: ToolEventInput): SdkEvent {
  return {
    ...base("agent.action.requested", envelope, input.resource?.environment),
    action: wireAction(input.action, input.riskLevel),
    resource: wireResource(input.resource),
    tool: wireTool(input.tool),
    metadata: input.metadata,
  };
}

export function actionCompletedEvent(envelope: EventEnvelope, input: ToolEventInput & { result?: unknown }): SdkEvent {
  return {
    ...base("agent.action.completed", envelope, input.resource?.environment),
    action: wireAction(input.action),
    resource: wireResource(input.resource),
    tool: wireTool(input.tool),
    metadata: { ...input.metadata, result: input.result ?? { status: "completed" } },
  };
}

export function actionFailedEvent(envelope: EventEnvelope, input: ToolEventInput & { error: unknown }): SdkEvent {
  return {
    ...base("agent.action.failed", envelope, input.resource?.environment),
    action: wireAction(input.action),
    resource: wireResource(input.resource),
    tool: wireTool(input.tool),
    error: { message: errorMessage(input.error) },
    metadata: input.metadata,
  };
}

/** `decision` carries the Python SDK's camelCase fields plus ours (id, annotation, guardrails, unavailability). */
export function guardrailEvaluatedEvent(envelope: EventEnvelope, input: ToolEventInput & { decision: ApieDecision }): SdkEvent {
  const d = input.decision;
  const summary = {
    policyDecision: d.policyDecision,
    effectiveDecision: d.effectiveDecision,
    enforcementAction: d.enforcementAction,
    mode: d.mode,
    reason: d.reason,
  };
  return {
    ...base("agent.guardrail.evaluated", envelope),
    action: wireAction(input.action),
    resource: wireResource(input.resource),
    tool: wireTool(input.tool),
    decision: {
      ...summary,
      decisionId: d.decisionId,
      annotation: d.annotation,
      matchedGuardrails: d.matchedGuardrails.map((g) => ({ key: g.key, decision: g.decision })),
      guardUnavailable: d.guardUnavailable,
    },
    metadata: summary,
  };
}

export function errorEvent(envelope: EventEnvelope, error: unknown, metadata?: Record<string, unknown>): SdkEvent {
  return {
    ...base("agent.error", envelope),
    error: { message: errorMessage(error), stack: error instanceof Error ? (error.stack ?? null) : null },
    metadata,
  };
}

/** Top-level keys to snake_case (`runId` → `run_id`); null and undefined fields are left out. */
export function toWireEvent(event: Record<string, unknown>): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value === null || value === undefined) continue;
    wire[snakeCase(key)] = value;
  }
  return wire;
}

const snakeNames = new Map<string, string>();

/** `runId` → `run_id` (memoized: events reuse a handful of keys). */
export function snakeCase(key: string): string {
  let name = snakeNames.get(key);
  if (name === undefined) {
    name = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
    if (snakeNames.size < 1_000) snakeNames.set(key, name);
  }
  return name;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
