import { inferFromArguments, inferFromToolName, type ArgumentInference } from "./inference";
import type { FactField, Facts, GuardRequest, InferenceConfidence, InferenceReport, RiskLevel } from "./types";

/** A tool registered with `tools.define` (or discovered from an MCP server's tools/list). */
export interface ToolDefinition {
  name: string;
  provider?: string | undefined;
  description?: string | undefined;
  actionTypes?: readonly string[] | undefined;
  resourceTypes?: readonly string[] | undefined;
  riskLevel?: RiskLevel | undefined;
}

/** The placeholder resource type of the official SDKs' `with_tool` when none was given. */
export const UNKNOWN_RESOURCE_TYPE = "unknown";

const CONFIDENCE_RANK: Record<InferenceConfidence, number> = { low: 0, medium: 1, high: 2 };

/**
 * The facts rules match on. What the caller gave always wins; gaps are filled, in order of trust, from the
 * tool's definition, then its arguments, then its name. Every filled field is reported, with the least
 * confident source's confidence, so a decision built on guesses says so.
 */
export function buildFacts(
  req: GuardRequest,
  autoInfer: boolean,
  definitions: ReadonlyMap<string, ToolDefinition>,
): { facts: Facts; inferred: InferenceReport | null } {
  const toolName = req.tool?.name ?? req.action?.name;
  const facts: Facts = {
    "agent.key": req.agentKey,
    "run.id": req.runId,
    "tool.name": toolName,
    "tool.provider": req.tool?.provider,
    "tool.riskLevel": req.tool?.riskLevel ?? req.riskLevel,
    "action.type": req.action?.type,
    "action.name": req.action?.name ?? toolName,
    // The official SDKs send `{type: "unknown"}` when the caller named no resource: that is "not given".
    "resource.type": req.resource?.type === UNKNOWN_RESOURCE_TYPE ? undefined : req.resource?.type,
    "resource.environment": req.resource?.environment,
    "resource.externalId": req.resource?.externalId,
    "resource.provider": req.resource?.provider ?? req.tool?.provider,
  };
  if (facts["action.type"] !== undefined && facts["resource.type"] !== undefined && facts["tool.riskLevel"] !== undefined && facts["resource.environment"] !== undefined) {
    return { facts, inferred: null };
  }

  const definition = toolName === undefined ? undefined : definitions.get(toolName);
  const fromArgs = autoInfer ? inferFromArguments(req.arguments) : null;
  const fromName = autoInfer && toolName !== undefined ? inferFromToolName(toolName) : null;
  // Nothing to fill from (the common case of a call that says what it is, or says nothing we read): no
  // filling state at all. Every call of the MCP proxy's replica goes through here, in a process woken per call.
  if (definition === undefined && fromArgs === null && fromName === null) return { facts, inferred: null };

  const filling = new Filling(facts);
  if (definition !== undefined) {
    const a = filling.fill("action.type", single(definition.actionTypes));
    const r = filling.fill("resource.type", single(definition.resourceTypes));
    const k = filling.fillRisk(definition.riskLevel);
    if (a || r || k) filling.used("tool definition", "high");
  }
  if (fromArgs !== null && fromArgs.weak !== true) filling.fromArguments(fromArgs);
  if (fromName !== null) {
    const a = filling.fill("action.type", fromName.actionType);
    const r = filling.fill("resource.type", fromName.resourceType);
    const k = filling.fillRisk(fromName.riskLevel);
    if (a || r || k) filling.used(fromName.reason, fromName.confidence);
  }
  if (fromArgs !== null && fromArgs.weak === true) filling.fromArguments(fromArgs);
  return { facts, inferred: filling.fields.length === 0 ? null : { fields: filling.fields, confidence: filling.confidence, reasons: filling.reasons } };
}

/** The gaps of `facts` being filled, in order of trust: what was filled, from what, how confidently. */
class Filling {
  readonly fields: FactField[] = [];
  readonly reasons: string[] = [];
  confidence: InferenceConfidence = "high";

  constructor(private readonly facts: Facts) {}

  fill(field: "action.type" | "resource.type" | "resource.environment", value: string | undefined): boolean {
    if (value === undefined || this.facts[field] !== undefined) return false;
    this.facts[field] = value;
    this.fields.push(field);
    return true;
  }

  fillRisk(value: RiskLevel | undefined): boolean {
    if (value === undefined || this.facts["tool.riskLevel"] !== undefined) return false;
    this.facts["tool.riskLevel"] = value;
    this.fields.push("tool.riskLevel");
    return true;
  }

  used(reason: string, sourceConfidence: InferenceConfidence): void {
    this.reasons.push(reason);
    if (CONFIDENCE_RANK[sourceConfidence] < CONFIDENCE_RANK[this.confidence]) this.confidence = sourceConfidence;
  }

  fromArguments(fromArgs: ArgumentInference): void {
    const a = this.fill("action.type", fromArgs.actionType);
    const r = this.fill("resource.type", fromArgs.resourceType);
    const e = this.fill("resource.environment", fromArgs.environment);
    if (a || r || e) this.used(fromArgs.reason, fromArgs.weak ? "medium" : "high");
  }
}

function single(values: readonly string[] | undefined): string | undefined {
  return values !== undefined && values.length === 1 ? values[0] : undefined;
}
