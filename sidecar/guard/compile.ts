import { CapabilityRegistry, type BoundarySettings } from "./boundary";
import type { CompiledRule, EvaluationContext } from "./context";
import { compileJsonPath, JsonPathError, selectJsonPath } from "./jsonPath";
import { compileMatcher, MatcherCompileError, type ValuePredicate } from "./matchers";
import type { CustomGuardrail, Matcher, PolicyDocument, TemplateSettings } from "./policySchema";
import { DISCRIMINATOR_FIELDS, RuleIndex, type Discriminator } from "./ruleIndex";
import { TEMPLATE_KEYS, templateInfo, type TemplateKey } from "./templateCatalog";
import { templateRule } from "./templates";
import { FACT_FIELDS, type FactField, type Mode } from "./types";

/** apie.policy.json turned into something evaluate() can run without parsing anything per call. */
export interface CompiledPolicy {
  mode: Mode;
  rules: readonly CompiledRule[];
  /** Finds the rules worth testing for a call (see ruleIndex.ts). */
  index: RuleIndex;
  /** Lower-cased environment names that count as production. */
  productionEnvironments: ReadonlySet<string>;
  approvalTimeoutMs: number;
  boundary: BoundarySettings;
  autoInfer: boolean;
  capabilities: CapabilityRegistry;
  enabledTemplates: readonly TemplateKey[];
  /** The `hooks` section with its defaults (see HooksSchema). */
  hooks: { approvals: "editor" | "host"; failureMode: "fail_open" | "fail_closed" };
}

export const DEFAULT_APPROVAL_TIMEOUT_MS = 300_000;
export const DEFAULT_PRODUCTION_ENVIRONMENTS = ["production", "prod"];

/** A problem that only shows when compiling (bad regex, glob, JSON path); `path` is absolute in the document. */
export class PolicyCompileError extends Error {
  constructor(
    message: string,
    readonly path: readonly (string | number)[],
  ) {
    super(message);
  }
}

export function compilePolicy(doc: PolicyDocument): CompiledPolicy {
  const rules: CompiledRule[] = [];
  const discriminators: (Discriminator | undefined)[] = [];
  const enabledTemplates: TemplateKey[] = [];
  for (const key of TEMPLATE_KEYS) {
    const setting = doc.templates?.[key];
    const settings: TemplateSettings | undefined = typeof setting === "object" ? setting : (setting ?? templateInfo(key).onByDefault) ? {} : undefined;
    if (settings === undefined || settings.enabled === false) continue;
    enabledTemplates.push(key);
    rules.push(templateRule(key, settings));
    discriminators.push(undefined);
  }
  doc.guardrails?.forEach((guardrail, index) => {
    if (guardrail.enabled === false) return;
    rules.push(compileCustomGuardrail(guardrail, index));
    discriminators.push(discriminatorOf(guardrail));
  });
  const capabilities = new CapabilityRegistry();
  for (const [agentKey, declared] of Object.entries(doc.capabilities ?? {})) capabilities.declare(agentKey, declared);
  return {
    mode: doc.mode ?? "monitor",
    rules,
    index: new RuleIndex(rules, discriminators),
    productionEnvironments: new Set((doc.productionEnvironments ?? DEFAULT_PRODUCTION_ENVIRONMENTS).map((e) => e.toLowerCase())),
    approvalTimeoutMs: doc.approvals?.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
    boundary: {
      warnOnUndeclaredTools: doc.boundary?.warnOnUndeclaredTools ?? true,
      warnOnUnknownResourceTypes: doc.boundary?.warnOnUnknownResourceTypes ?? true,
    },
    autoInfer: doc.boundary?.autoInferFromToolNames ?? true,
    capabilities,
    enabledTemplates,
    hooks: { approvals: doc.hooks?.approvals ?? "editor", failureMode: doc.hooks?.failureMode ?? "fail_open" },
  };
}

/** The policy used when apie.policy.json has never been valid: every template on at its default decision. */
export function safeBaselinePolicy(): CompiledPolicy {
  return compilePolicy({ templates: Object.fromEntries(TEMPLATE_KEYS.map((k) => [k, true])) });
}

type Condition = (ctx: EvaluationContext) => boolean;

function compileCustomGuardrail(guardrail: CustomGuardrail, index: number): CompiledRule {
  const base = ["guardrails", index, "match"] as const;
  const conditions: Condition[] = [];
  const { arguments: argMatchers, metadata: metaMatchers, ...fieldMatchers } = guardrail.match;
  for (const [field, matcher] of Object.entries(fieldMatchers) as [FactField, Matcher | undefined][]) {
    if (matcher === undefined || !FACT_FIELDS.includes(field)) continue;
    const predicate = compileAt(matcher, [...base, field]);
    conditions.push((ctx) => {
      const value = ctx.facts[field];
      return predicate(value, value !== undefined);
    });
  }
  for (const [source, matchers] of [["arguments", argMatchers], ["metadata", metaMatchers]] as const) {
    for (const [pathText, matcher] of Object.entries(matchers ?? {})) {
      const where = [...base, source, pathText];
      let path;
      try {
        path = compileJsonPath(pathText);
      } catch (error) {
        if (error instanceof JsonPathError) throw new PolicyCompileError(error.message, where);
        throw error;
      }
      const predicate = compileAt(matcher, where);
      const read = source === "arguments" ? (ctx: EvaluationContext) => ctx.args : (ctx: EvaluationContext) => ctx.metadata;
      conditions.push((ctx) => {
        const values = selectJsonPath(path, read(ctx));
        if (values.length === 0) return predicate(undefined, false);
        return values.some((v) => predicate(v, true));
      });
    }
  }
  const reason = guardrail.reason ?? `matched guardrail "${guardrail.name ?? guardrail.key}"`;
  return {
    key: guardrail.key,
    name: guardrail.name ?? guardrail.key,
    decision: guardrail.decision,
    source: "custom",
    approvalTimeoutMs: guardrail.approvalTimeoutMs,
    overrides: guardrail.overrides,
    test: (ctx) => {
      for (const condition of conditions) if (!condition(ctx)) return null;
      return reason;
    },
  };
}

/** The first fact field the guardrail pins to exact values, if any (a rule can only match calls with one). */
function discriminatorOf(guardrail: CustomGuardrail): Discriminator | undefined {
  for (const field of DISCRIMINATOR_FIELDS) {
    const values = exactValues(guardrail.match[field]);
    if (values !== undefined) return { field, values };
  }
  return undefined;
}

function exactValues(matcher: Matcher | undefined): readonly unknown[] | undefined {
  if (matcher === undefined || matcher === null) return undefined;
  if (Array.isArray(matcher)) return matcher;
  if (typeof matcher !== "object") return [matcher];
  const operators = Object.keys(matcher).filter((k) => (matcher as Record<string, unknown>)[k] !== undefined);
  if (operators.length !== 1) return undefined;
  if (matcher.equals !== undefined && matcher.equals !== null) return [matcher.equals];
  if (matcher.in !== undefined) return matcher.in;
  return undefined;
}

function compileAt(matcher: Matcher, where: readonly (string | number)[]): ValuePredicate {
  try {
    return compileMatcher(matcher);
  } catch (error) {
    if (error instanceof MatcherCompileError) throw new PolicyCompileError(error.message, [...where, ...error.path]);
    throw error;
  }
}
