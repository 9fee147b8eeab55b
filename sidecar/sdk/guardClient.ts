import type { z } from "zod";
import type { Redactor } from "../guard/redact";
import type { Mode } from "../guard/types";
import type { EvaluateBodySchema } from "../protocol/v1";
import { EvaluateResponseSchema, localDecision, toApieDecision, type ApieDecision, type GuardFailureMode } from "./decision";
import { ApieError } from "./errors";
import { TransportError, type HttpClient } from "./http";
import type { ApieLogger, GuardInput, ToolRef } from "./types";
import { parseAnswer } from "./wire";

/**
 * One guard decision: POST /v1/guardrails/evaluate with a hard deadline, the answer validated with zod,
 * and `guardFailureMode` applied only when the sidecar did not answer: unreachable, past the deadline, or an
 * answer that is not the sidecar's (not JSON, not a decision, a non-2xx without Apie's error body). An error
 * the sidecar itself returned for this request — any status with its JSON error body, 4xx or 5xx, over HTTP
 * or as a stream `reply` — is thrown as `http_error` in every mode: fail_open must not turn a request the
 * sidecar refused or failed on into an allow, and fail_closed does not dress it up as "guard unavailable".
 * Either way the tool call does not run.
 */

export interface GuardClientOptions {
  agentKey: string;
  mode: Mode;
  guardTimeoutMs: number;
  guardFailureMode: GuardFailureMode;
  logger: ApieLogger;
  /** Python redacts the guard body's tool/action/resource/metadata when redactKeys are configured; never the arguments. */
  redactor?: Redactor | undefined;
}

/** A decision, and the failure behind it when the sidecar was not asked successfully. */
export interface GuardOutcome {
  decision: ApieDecision;
  failure?: Error;
}

export const EVALUATE_PATH = "/v1/guardrails/evaluate";

export class GuardClient {
  constructor(
    private readonly http: HttpClient,
    private readonly options: GuardClientOptions,
  ) {}

  async evaluate(input: GuardInput & { runId?: string | undefined }): Promise<GuardOutcome> {
    let raw: unknown;
    try {
      // The sidecar learns when this call stops waiting (`deadline_at`), the same instant the request gives up
      // on, so a decision it makes after that is journaled as late, not as a call that was allowed and ran.
      const deadlineAt = Date.now() + this.options.guardTimeoutMs;
      raw = await this.http.request("POST", EVALUATE_PATH, { ...evaluateBody(input, this.options), deadline_at: deadlineAt }, { deadlineAt });
      return { decision: toApieDecision(parseAnswer(EvaluateResponseSchema, raw, `POST ${EVALUATE_PATH}`)) };
    } catch (error) {
      if (error instanceof TransportError) return this.unavailable(error);
      throw error;
    }
  }

  private unavailable(failure: TransportError): GuardOutcome {
    const { guardFailureMode: failureMode, mode, logger } = this.options;
    const message = describeFailure(failure);
    if (failureMode === "throw") {
      throw new ApieError("guard_unavailable", `guard unavailable: ${message}`, { cause: failure });
    }
    logger.warn(
      failureMode === "fail_open"
        ? `guard unavailable, proceeding (fail_open): ${message}`
        : `guard unavailable, blocking (fail_closed): ${message}`,
    );
    return { decision: localDecision(failureMode, mode, message), failure };
  }
}

/** Who asks, for {@link evaluateBody}. */
export interface EvaluateBodyOptions {
  agentKey: string;
  mode: Mode;
  redactor?: Redactor | undefined;
}

/**
 * The POST /v1/guardrails/evaluate body of one guard input (the MCP proxy's replica decides on the same body).
 * Built member by member, without spreads: the replica builds one per proxied call, on the call's path.
 */
export function evaluateBody(input: GuardInput & { runId?: string | undefined }, options: EvaluateBodyOptions): z.input<typeof EvaluateBodySchema> {
  const tool: ToolRef | undefined = input.tool;
  // What the caller did not say is sent as absent, not as a placeholder, so the sidecar infers it (from the
  // tool's definition, its arguments, its name) instead of deciding on "execute" / "unknown".
  const action = input.action;
  const resource = input.resource;
  let sections: Pick<z.input<typeof EvaluateBodySchema>, "tool" | "action" | "resource" | "metadata"> = {
    tool: tool ? { name: tool.name, provider: tool.provider ?? null, riskLevel: tool.riskLevel ?? null } : null,
    action: action ? { type: action.type, name: action.name ?? null } : tool ? { type: null, name: tool.name } : null,
    resource: resource
      ? {
          type: resource.type,
          provider: resource.provider ?? null,
          environment: resource.environment ?? null,
          external_id: resource.externalId ?? null,
        }
      : null,
    metadata: input.metadata ?? null,
  };
  if (options.redactor) {
    sections = options.redactor.redactEvent({ type: "guard.evaluate", ...sections }) as typeof sections;
  }
  const body: z.input<typeof EvaluateBodySchema> = {
    agent_key: options.agentKey,
    run_id: input.runId ?? null,
    mode: options.mode,
    risk_level: input.riskLevel ?? tool?.riskLevel ?? action?.riskLevel ?? null,
    tool: sections.tool,
    action: sections.action,
    resource: sections.resource,
    metadata: sections.metadata,
  };
  if (input.arguments !== undefined) body.arguments = input.arguments;
  if (input.approvalId) body.approval_id = input.approvalId;
  return body;
}

export function describeFailure(failure: TransportError): string {
  switch (failure.kind) {
    case "timeout":
      return `no answer within the deadline (${failure.message})`;
    case "unreachable":
      return `sidecar unreachable (${failure.message})`;
    default:
      return `bad answer (${failure.message})`;
  }
}
