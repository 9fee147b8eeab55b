import type { Context, CedarValueJson, EntityUid, StatefulAuthorizationCall } from "@cedar-policy/cedar-wasm/nodejs";
import { DECISION_RANK, type CustomGuardrail, type Decision, type GuardRequest } from "../sidecar/guard";

/**
 * Translates Apie custom guardrails and guard requests into Cedar, so the benchmark can ask cedar-wasm the
 * same questions the guard engine answers.
 *
 * The encoding: every guardrail becomes one `permit` policy whose id is the guardrail key, with principal,
 * action and resource unconstrained and every condition in `when { … }` over a `context` record. Because all
 * policies are permits, Cedar's `diagnostics.reason` lists exactly the satisfied policies, i.e. the matched
 * guardrails; Apie's decision is then the most restrictive of their decisions (see combineDecisions).
 *
 * Only matchers with an exact Cedar equivalent are accepted; anything else throws UntranslatableGuardrail
 * rather than being approximated, because an approximation would make the engines disagree (or, worse,
 * agree by accident on the benchmark's workload).
 */

export class UntranslatableGuardrail extends Error {}

/** Apie fact field → attribute of the Cedar context record. */
const CONTEXT_ATTRIBUTE = {
  "tool.name": "tool_name",
  "tool.provider": "tool_provider",
  "action.type": "action_type",
  "resource.type": "resource_type",
  "resource.environment": "environment",
} as const;
type TranslatedField = keyof typeof CONTEXT_ATTRIBUTE;

/** Tool-call arguments live under `context.args`; only top-level names (`$.replicas`) are translated. */
const ARGS_ATTRIBUTE = "args";
const CEDAR_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ARGUMENT_PATH = /^\$\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** A place in the context record: how to test that it is present, and how to read it. */
interface Attribute {
  present: string;
  value: string;
}

// ---------------------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------------------

/**
 * The policy set in the form cedar-wasm takes (`staticPolicies` as id → text). A record rather than one
 * text blob because cedar-wasm names policies in a text blob `policy0, policy1, …` and ignores `@id`; the
 * `@id` annotation is still written so the text reads (and exports to the Cedar CLI) on its own.
 */
export function guardrailsToCedarPolicies(guardrails: readonly CustomGuardrail[]): Record<string, string> {
  const policies: Record<string, string> = {};
  for (const guardrail of guardrails) {
    if (guardrail.enabled === false) continue; // the guard engine does not load disabled guardrails either
    if (Object.hasOwn(policies, guardrail.key)) throw new UntranslatableGuardrail(`duplicate guardrail key "${guardrail.key}"`);
    policies[guardrail.key] = guardrailToCedar(guardrail);
  }
  return policies;
}

/** One guardrail as one Cedar `permit` policy. */
export function guardrailToCedar(guardrail: CustomGuardrail): string {
  const conditions: string[] = [];
  const { arguments: argumentMatchers, metadata, ...fieldMatchers } = guardrail.match;
  if (metadata !== undefined) throw untranslatable(guardrail, "metadata matchers are not translated");
  for (const [field, matcher] of Object.entries(fieldMatchers)) {
    if (matcher === undefined) continue;
    if (!Object.hasOwn(CONTEXT_ATTRIBUTE, field)) throw untranslatable(guardrail, `field "${field}" is not translated`);
    const name = CONTEXT_ATTRIBUTE[field as TranslatedField];
    conditions.push(translateMatcher(matcher, { present: `context has ${name}`, value: `context.${name}` }, guardrail));
  }
  for (const [path, matcher] of Object.entries(argumentMatchers ?? {})) {
    const name = ARGUMENT_PATH.exec(path)?.[1];
    if (name === undefined) throw untranslatable(guardrail, `argument path "${path}" is not a top-level name`);
    const attribute = {
      present: `context has ${ARGS_ATTRIBUTE} && context.${ARGS_ATTRIBUTE} has ${name}`,
      value: `context.${ARGS_ATTRIBUTE}.${name}`,
    };
    conditions.push(translateMatcher(matcher, attribute, guardrail));
  }
  if (conditions.length === 0) throw untranslatable(guardrail, "no conditions");
  return [
    `@id(${cedarString(guardrail.key)})`,
    `permit (principal, action, resource)`,
    `when {\n  ${conditions.map((c) => `(${c})`).join(" &&\n  ")}\n};`,
  ].join("\n");
}

type Matcher = CustomGuardrail["match"]["tool.name"];

/**
 * A matcher as a Cedar boolean expression that includes its own presence test. Apie matchers are false on an
 * absent value (except `exists: false` and `not`), and Cedar errors on reading an absent attribute, so each
 * comparison is written `<present> && <comparison>`; that also makes `not` a plain `!(…)`.
 */
function translateMatcher(matcher: Matcher, attr: Attribute, guardrail: CustomGuardrail): string {
  if (matcher === undefined) throw untranslatable(guardrail, "empty matcher");
  if (Array.isArray(matcher)) return guarded(attr, `[${matcher.map((v) => cedarLiteral(v, guardrail)).join(", ")}].contains(${attr.value})`);
  if (matcher === null || typeof matcher !== "object") return guarded(attr, `${attr.value} == ${cedarLiteral(matcher, guardrail)}`);

  const parts: string[] = [];
  for (const [op, operand] of Object.entries(matcher)) {
    if (operand === undefined) continue;
    switch (op) {
      case "equals":
        parts.push(translateMatcher(operand as Matcher & {}, attr, guardrail));
        break;
      case "in":
        parts.push(translateMatcher(operand as Matcher & {}, attr, guardrail));
        break;
      case "glob":
        parts.push(guarded(attr, `${attr.value} like ${cedarLikePattern(operand as string, guardrail)}`));
        break;
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        parts.push(guarded(attr, `${attr.value} ${COMPARISON[op]} ${cedarLong(operand, guardrail)}`));
        break;
      case "exists":
        parts.push(operand === true ? attr.present : `!(${attr.present})`);
        break;
      case "not":
        parts.push(`!(${translateMatcher(operand as Matcher & {}, attr, guardrail)})`);
        break;
      default:
        // regex (and its flags) has no Cedar equivalent: `like` only knows `*`.
        throw untranslatable(guardrail, `matcher operator "${op}" has no Cedar equivalent`);
    }
  }
  if (parts.length === 0) throw untranslatable(guardrail, "matcher without operators");
  return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(" && ");
}

const COMPARISON = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

function guarded(attr: Attribute, comparison: string): string {
  return `${attr.present} && ${comparison}`;
}

/** Strings and whole numbers only: Cedar has no null, and its only number type is a 64-bit Long. */
function cedarLiteral(value: unknown, guardrail: CustomGuardrail): string {
  if (typeof value === "string") return cedarString(value);
  if (typeof value === "boolean") return String(value);
  return cedarLong(value, guardrail);
}

function cedarLong(value: unknown, guardrail: CustomGuardrail): string {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  // Risk-level bounds ({"gte": "high"}) compare by rank in Apie; fractional bounds have no Long.
  throw untranslatable(guardrail, `${JSON.stringify(value)} is not a whole number`);
}

/**
 * An Apie glob as a Cedar `like` pattern. Apie globs are picomatch globs; only the subset where `*` is the
 * sole special character translates, and even then picomatch's `*` stops at `/` while Cedar's does not,
 * so the two agree only on values without `/` (tool names, action and resource types never contain one).
 */
function cedarLikePattern(glob: string, guardrail: CustomGuardrail): string {
  if (/[?[\]{}()!+@\\/]/.test(glob) || glob.includes("**")) {
    throw untranslatable(guardrail, `glob ${JSON.stringify(glob)} uses more than "*"`);
  }
  // Each literal piece is escaped as a Cedar string (a literal `*` would be `\*`, but a glob has none).
  return `"${glob.split("*").map(escapeCedarString).join("*")}"`;
}

export function cedarString(value: string): string {
  return `"${escapeCedarString(value)}"`;
}

/** Cedar string escapes: `\\`, `\"`, and `\u{…}` for control characters (JSON's `\uXXXX` is not Cedar). */
function escapeCedarString(value: string): string {
  return value.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => (c === "\\" || c === '"' ? `\\${c}` : `\\u{${c.charCodeAt(0).toString(16)}}`));
}

function untranslatable(guardrail: CustomGuardrail, why: string): UntranslatableGuardrail {
  return new UntranslatableGuardrail(`guardrail "${guardrail.key}": ${why}`);
}

// ---------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------

const PRINCIPAL_TYPE = "Agent";
const ACTION: EntityUid = { type: "Action", id: "call_tool" };
const RESOURCE_TYPE = "Tool";

/**
 * A guard request as a Cedar request against a preparsed policy set. Absent fields are omitted from the
 * context (never sent as empty strings), so a policy's `has` test sees the same absence Apie's matcher does.
 * Principal and resource carry the agent and tool for readability; the policies never constrain them.
 */
export function requestToCedarCall(request: GuardRequest, preparsedPolicySetId: string): StatefulAuthorizationCall {
  return {
    principal: { type: PRINCIPAL_TYPE, id: request.agentKey },
    action: ACTION,
    resource: { type: RESOURCE_TYPE, id: request.tool?.name ?? "" },
    context: requestToCedarContext(request),
    preparsedPolicySetId,
    entities: [],
  };
}

export function requestToCedarContext(request: GuardRequest): Context {
  const context: Context = {};
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) context[name] = value;
  };
  set(CONTEXT_ATTRIBUTE["tool.name"], request.tool?.name ?? request.action?.name);
  set(CONTEXT_ATTRIBUTE["tool.provider"], request.tool?.provider);
  set(CONTEXT_ATTRIBUTE["action.type"], request.action?.type);
  set(CONTEXT_ATTRIBUTE["resource.type"], request.resource?.type);
  set(CONTEXT_ATTRIBUTE["resource.environment"], request.resource?.environment);
  const args = cedarArguments(request.arguments);
  if (args !== undefined) context[ARGS_ATTRIBUTE] = args;
  return context;
}

/**
 * The top-level arguments Cedar can hold exactly: strings, booleans and whole numbers. Nested values and
 * fractions are left out, which is sound only because the translator accepts top-level argument paths and
 * whole-number bounds alone.
 */
function cedarArguments(args: unknown): Record<string, CedarValueJson> | undefined {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return undefined;
  const out: Record<string, CedarValueJson> = {};
  for (const [name, value] of Object.entries(args)) {
    if (!CEDAR_IDENTIFIER.test(name)) continue;
    if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isSafeInteger(value))) out[name] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------

/** guardrail key → decision, for turning Cedar's satisfied policy ids back into an Apie decision. */
export function decisionsByKey(guardrails: readonly CustomGuardrail[]): ReadonlyMap<string, Decision> {
  return new Map(guardrails.filter((g) => g.enabled !== false).map((g) => [g.key, g.decision]));
}

/** The most restrictive decision among the matched guardrails (block > require_approval > warn > allow). */
export function combineDecisions(matchedKeys: readonly string[], decisions: ReadonlyMap<string, Decision>): Decision {
  let top: Decision = "allow";
  for (const key of matchedKeys) {
    const decision = decisions.get(key);
    if (decision === undefined) throw new Error(`Cedar reported policy "${key}", which is no guardrail`);
    if (DECISION_RANK[decision] > DECISION_RANK[top]) top = decision;
  }
  return top;
}
