import type { Apie } from "../sdk/apie";
import type { ApieDecision } from "../sdk/decision";
import * as events from "../sdk/events";
import type { HttpClient } from "../sdk/http";
import { Timeline } from "../sdk/timeline";
import type { ApieLogger, Registration } from "../sdk/types";

/**
 * The timeline events of proxied tool calls, through the SDK's own event queue (`Timeline`: batching,
 * retries, redaction with the config's redactKeys), recorded as the SDK's `withTool` records them:
 * - a call the sidecar decided (it journals the decision with tool, arguments and decision_id) adds one
 *   event, its outcome — `agent.action.completed`, or `agent.action.failed` when the upstream answered with
 *   an error or `isError: true` — linked by `metadata.decision_id`;
 * - a call decided locally (sidecar unreachable, `fail_open`) is reported in full: tool called, action
 *   requested, guardrail evaluated, then the outcome;
 * - a call the proxy's replica decided usually needs none of this: its outcome goes with the decision's
 *   report and the sidecar journals the event (LocalGuard.settle). Only a call still running when its
 *   report left has its outcome recorded here.
 *
 * `Apie` has no public method for this (it records only around its own `withTool` callback), so the proxy
 * keeps its own Timeline on the client's resolved config; a public `apie.recordToolOutcome(...)` would
 * replace this class.
 */
export interface ToolCallFacts extends events.ToolEventInput {
  tool: NonNullable<events.ToolEventInput["tool"]>;
}

export class OutcomeLog {
  private readonly timeline: Timeline;
  private registration: Registration | undefined;

  /** `http`: the proxy's own channel to the sidecar (the client's is private to it). */
  constructor(apie: Apie, http: HttpClient, logger: ApieLogger) {
    this.timeline = new Timeline(apie.config, http, logger, () => this.registration, () => void this.timeline.flush());
  }

  /** Events carry the agent's id once identify succeeded. */
  registered(registration: Registration): void {
    this.registration = registration;
  }

  /** A call forwarded on a local decision: what the sidecar would otherwise have journaled. */
  decidedLocally(call: ToolCallFacts, decision: ApieDecision, runId: string | undefined): void {
    this.timeline.record((env) => events.toolCalledEvent(env, call), runId);
    this.timeline.record((env) => events.actionRequestedEvent(env, call), runId);
    this.timeline.record((env) => events.guardrailEvaluatedEvent(env, { ...call, decision }), runId);
  }

  completed(call: ToolCallFacts, decisionId: string | null, runId: string | undefined): void {
    this.timeline.record((env) => events.actionCompletedEvent(env, withDecision(call, decisionId)), runId);
  }

  failed(call: ToolCallFacts, decisionId: string | null, runId: string | undefined, error: string): void {
    this.timeline.record((env) => events.actionFailedEvent(env, { ...withDecision(call, decisionId), error: new Error(error) }), runId);
  }

  flush(): Promise<void> {
    return this.timeline.flush();
  }

  close(): void {
    this.timeline.close();
  }
}

function withDecision(call: ToolCallFacts, decisionId: string | null): ToolCallFacts {
  return decisionId === null ? call : { ...call, metadata: { ...call.metadata, decision_id: decisionId } };
}
