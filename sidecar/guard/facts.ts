import { inferFromArguments, inferFromToolName } from "./inference";
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

  const fields: FactField[] = [];
  const reasons: string[] = [];
  let confidence: InferenceConfidence = "high";
  const fill = (field: "action.type" | "resource.type" | "resource.environment", value: string | undefined): boolean => {
    if (value === undefined || facts[field] !== undefined) return false;
    facts[field] = value;
    fields.push(field);
    return true;
  };
  const fillRisk = (value: RiskLevel | undefined): boolean => {
    if (value === undefined || facts["tool.riskLevel"] !== undefined) return false;
    facts["tool.riskLevel"] = value;
    fields.push("tool.riskLevel");
    return true;
  };
  const used = (reason: string, sourceConfidence: InferenceConfidence): void => {
    reasons.push(reason);
    if (CONFIDENCE_RANK[sourceConfidence] < CONFIDENCE_RANK[confidence]) confidence = sourceConfidence;
  };

  const definition = toolName === undefined ? undefined : definitions.get(toolName);
  if (definition !== undefined) {
    const a = fill("action.type", single(definition.actionTypes));
    const r = fill("resource.type", single(definition.resourceTypes));
    const k = fillRisk(definition.riskLevel);
    if (a || r || k) used("tool definition", "high");
  }
  if (autoInfer) {
    const fromArgs = inferFromArguments(req.arguments);
    const applyArgs = (): void => {
      if (fromArgs === null) return;
      const a = fill("action.type", fromArgs.actionType);
      const r = fill("resource.type", fromArgs.resourceType);
      const e = fill("resource.environment", fromArgs.environment);
      if (a || r || e) used(fromArgs.reason, fromArgs.weak ? "medium" : "high");
    };
    if (fromArgs?.weak !== true) applyArgs();
    const fromName = toolName === undefined ? null : inferFromToolName(toolName);
    if (fromName !== null) {
      const a = fill("action.type", fromName.actionType);
      const r = fill("resource.type", fromName.resourceType);
      const k = fillRisk(fromName.riskLevel);
      if (a || r || k) used(fromName.reason, fromName.confidence);
    }
    if (fromArgs?.weak === true) applyArgs();
  }
  return { facts, inferred: fields.length === 0 ? null : { fields, confidence, reasons } };
}

function single(values: readonly string[] | undefined): string | undefined {
  return values !== undefined && values.length === 1 ? values[0] : undefined;
}
