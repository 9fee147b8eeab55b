import type { GuardRequest } from "../guard/types";
import { trustedGuardRequest } from "../protocol/v1";
import { evaluateBody, type EvaluateBodyOptions } from "../sdk/guardClient";
import type { GuardInput } from "../sdk/types";

/**
 * What every call of one tool in one run has in common, built once: the evaluate body's JSON without its
 * arguments (the opening of the replica's report, reportOutbox.ts) and the guard request the replica decides
 * on, without its arguments. The MCP proxy hands the same `tool`, `action` and `resource` objects for every
 * call of a tool (ToolCallGuard's facts), so a call costs one lookup and one request object instead of an
 * evaluate body, its sections, a request and its sections — the replica decides every proxied call, in a
 * process woken per call, where each object allocated is memory the upstream and the host then wait behind.
 *
 * Same request as before, member for member: `requestWith(template, args)` equals
 * `trustedGuardRequest(evaluateBody(input, options))` (test/unit/mcp/requestTemplates.test.ts), so the
 * replica still decides on what the sidecar would parse from the body it is sent.
 */

/** The parts of a guard input everything but the arguments depends on, besides the options. */
export type TemplateInput = Pick<GuardInput, "tool" | "action" | "resource" | "riskLevel" | "metadata"> & { runId?: string | undefined };

export interface RequestTemplate {
  /** The evaluate body's JSON up to, not including, its `arguments` and closing brace. */
  readonly opening: string;
  /** The guard request, `arguments` absent: see {@link requestWith}. */
  readonly request: Readonly<GuardRequest>;
}

export class RequestTemplates {
  private readonly byTool = new WeakMap<object, { input: TemplateInput; template: RequestTemplate }>();

  constructor(private readonly options: EvaluateBodyOptions) {}

  /** Compared by identity: anything but the same objects (a new run, other metadata) gets a template of its own. */
  of(input: TemplateInput): RequestTemplate {
    const key = input.tool;
    const known = key === undefined ? undefined : this.byTool.get(key);
    if (known !== undefined && sameParts(known.input, input)) return known.template;
    const parts: TemplateInput = { tool: input.tool, action: input.action, resource: input.resource, riskLevel: input.riskLevel, metadata: input.metadata, runId: input.runId };
    const body = evaluateBody(parts, this.options);
    const template: RequestTemplate = { opening: JSON.stringify(body).slice(0, -1), request: trustedGuardRequest(body) };
    if (key !== undefined) this.byTool.set(key, { input: parts, template });
    return template;
  }
}

/** The template's request with `args` as its arguments (member by member: it runs on every call). */
export function requestWith(template: RequestTemplate, args: unknown): GuardRequest {
  const { request } = template;
  return {
    agentKey: request.agentKey,
    runId: request.runId,
    mode: request.mode,
    riskLevel: request.riskLevel,
    action: request.action,
    resource: request.resource,
    tool: request.tool,
    arguments: args,
    metadata: request.metadata,
  };
}

function sameParts(a: TemplateInput, b: TemplateInput): boolean {
  return a.action === b.action && a.resource === b.resource && a.riskLevel === b.riskLevel && a.metadata === b.metadata && a.runId === b.runId;
}
