import { z } from "zod";
import { TEMPLATE_CATALOG } from "./templateCatalog";
import { DECISIONS, MODES, RISK_LEVELS } from "./types";

/**
 * apie.policy.json: the workspace's guardrails as code. This zod schema is the single source of truth: the
 * loader validates with it and `npm run build` writes its JSON Schema to media/schemas/ for the editor.
 */

export const DecisionSchema = z.enum(DECISIONS);
export const ModeSchema = z.enum(MODES);
export const RiskLevelSchema = z.enum(RISK_LEVELS);

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Bound = z.union([z.number(), RiskLevelSchema]).describe("A number, or a risk level (low < medium < high < critical).");

/** The operator form of a matcher. Several operators in one object must all hold. */
export const MatcherObjectSchema = z
  .strictObject({
    equals: Scalar.optional().describe("Exact value."),
    in: z.array(Scalar).optional().describe("Any of these values."),
    glob: z.string().optional().describe("Glob pattern (picomatch: *, **, ?, [ab], {a,b})."),
    regex: z.string().optional().describe("JavaScript regular expression, unanchored."),
    flags: z
      .string()
      .regex(/^[imsu]*$/, "flags may only contain i, m, s, u")
      .optional()
      .describe("Flags for `regex`: i, m, s, u."),
    gt: Bound.optional(),
    gte: Bound.optional(),
    lt: Bound.optional(),
    lte: Bound.optional(),
    exists: z.boolean().optional().describe("true: the field is present; false: it is absent."),
    get not() {
      return MatcherSchema.optional().describe("Matches when the inner matcher does not.");
    },
  })
  .refine((m) => Object.keys(m).some((k) => k !== "flags"), "a matcher needs at least one operator")
  .refine((m) => m.flags === undefined || m.regex !== undefined, "`flags` only applies with `regex`");

/** A matcher: a scalar (exact), an array (any of), or an operator object. */
export const MatcherSchema: z.ZodType<Matcher> = z.union([Scalar, z.array(Scalar), MatcherObjectSchema]);

export type Scalar = z.infer<typeof Scalar>;
export type Bound = z.infer<typeof Bound>;
export interface MatcherObject {
  equals?: Scalar | undefined;
  in?: Scalar[] | undefined;
  glob?: string | undefined;
  regex?: string | undefined;
  flags?: string | undefined;
  gt?: Bound | undefined;
  gte?: Bound | undefined;
  lt?: Bound | undefined;
  lte?: Bound | undefined;
  exists?: boolean | undefined;
  not?: Matcher | undefined;
}
export type Matcher = Scalar | Scalar[] | MatcherObject;

/** JSON path into arguments or metadata: `$.a.b`, `$.items[0]`, `$.items[*].name`, `$..password`. */
const JsonPathKey = z.string().regex(/^\$/, "a JSON path starts with $");

export const MatchSchema = z
  .strictObject({
    "agent.key": MatcherSchema.optional(),
    "run.id": MatcherSchema.optional(),
    "tool.name": MatcherSchema.optional(),
    "tool.provider": MatcherSchema.optional(),
    "tool.riskLevel": MatcherSchema.optional(),
    "action.type": MatcherSchema.optional(),
    "action.name": MatcherSchema.optional(),
    "resource.type": MatcherSchema.optional(),
    "resource.environment": MatcherSchema.optional(),
    "resource.externalId": MatcherSchema.optional(),
    "resource.provider": MatcherSchema.optional(),
    arguments: z.record(JsonPathKey, MatcherSchema).optional().describe("Matchers keyed by JSON path into the tool arguments."),
    metadata: z.record(JsonPathKey, MatcherSchema).optional().describe("Matchers keyed by JSON path into the call metadata."),
  })
  .refine((m) => Object.keys(m).length > 0, {
    message: "`match` needs at least one field (an empty match would match every call)",
    // Only for a truly empty object: unknown keys are already reported on their own.
    when: (payload) => payload.issues.length === 0,
  });

export const GuardrailKeySchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, "a key is letters, digits, '.', '_' or '-'");

export const CustomGuardrailSchema = z.strictObject({
  key: GuardrailKeySchema.describe("Stable identifier, reported in every decision it matches."),
  name: z.string().min(1).optional().describe("Human-readable name (defaults to the key)."),
  decision: DecisionSchema,
  reason: z.string().min(1).optional().describe("Why; shown to the agent and in the timeline."),
  approvalTimeoutMs: z.int().positive().optional().describe("How long an approval waits (require_approval only)."),
  enabled: z.boolean().optional(),
  match: MatchSchema,
  overrides: z
    .array(GuardrailKeySchema)
    .min(1)
    .optional()
    .describe(
      "`allow` only: for the calls this guardrail matches, the require_approval or warn of these guardrails (template or custom keys) does not apply. A block always still applies. Written by the editor's \"Always allow…\".",
    ),
}).refine((g) => g.overrides === undefined || g.decision === "allow", { message: "`overrides` only applies to a guardrail with decision allow", path: ["overrides"] });

const TemplateSettingsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  decision: DecisionSchema.optional().describe("Override the template's default decision."),
  approvalTimeoutMs: z.int().positive().optional(),
});
export type TemplateSettings = z.infer<typeof TemplateSettingsSchema>;

const TemplateSetting = z.union([z.boolean(), TemplateSettingsSchema]);

/** One optional property per known template, so unknown keys are errors and editors can complete and hover. */
const TemplatesSchema = z.strictObject(
  Object.fromEntries(
    TEMPLATE_CATALOG.map((t) => [
      t.key,
      TemplateSetting.optional().describe(`${t.name} (default: ${"onByDefault" in t ? "on, " : ""}${t.defaultDecision}). ${t.description}`),
    ]),
  ) as Record<(typeof TEMPLATE_CATALOG)[number]["key"], z.ZodOptional<typeof TemplateSetting>>,
);

export const CapabilitySchema = z.strictObject({
  tool: z.strictObject({
    name: z.string().min(1).describe("Tool name; globs allowed (e.g. `filesystem.*`)."),
    provider: z.string().optional(),
  }),
  actions: z.array(z.string().min(1)),
  resources: z.array(z.string().min(1)),
  environments: z.array(z.string().min(1)).optional(),
  riskLevel: RiskLevelSchema.optional(),
});
export type Capability = z.infer<typeof CapabilitySchema>;

export const BoundarySchema = z.strictObject({
  warnOnUndeclaredTools: z.boolean().optional().describe("Warn when an agent with declared capabilities calls an undeclared tool (default true)."),
  warnOnUnknownResourceTypes: z.boolean().optional().describe("Warn on resource types none of the agent's capabilities list (default true)."),
  autoInferFromToolNames: z.boolean().optional().describe("Infer missing action/resource/risk from tool names and arguments (default true)."),
});

/**
 * How coding-agent hooks (`apie hook`, issue 12) behave; read by the sidecar (approvals) and, when no sidecar
 * answers, by the hook itself (sidecar/hooks/hookSettings.ts reads just this section).
 */
export const HooksSchema = z.strictObject({
  approvals: z
    .enum(["editor", "host"])
    .optional()
    .describe(
      'Where a hook\'s require_approval is answered (default "editor"): "editor" — the approval opens in the editor and the hook waits; "host" — the host\'s own prompt asks (VS Code, Claude Code, Copilot CLI), other hosts wait in the editor.',
    ),
  failureMode: z
    .enum(["fail_open", "fail_closed"])
    .optional()
    .describe('What a hook answers when no sidecar answers within 300 ms (default "fail_open"): "fail_open" — the call proceeds with a visible warning; "fail_closed" — the call is denied.'),
});

export const PolicySchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1).optional(),
  mode: ModeSchema.optional().describe("Workspace mode (default monitor). An agent's own `enforce` still wins."),
  productionEnvironments: z
    .array(z.string().min(1))
    .optional()
    .describe('Environment names treated as production (default ["production", "prod"]; case-insensitive).'),
  templates: TemplatesSchema.optional(),
  guardrails: z.array(CustomGuardrailSchema).optional(),
  approvals: z
    .strictObject({ timeoutMs: z.int().positive().optional().describe("Default approval wait (300000).") })
    .optional(),
  boundary: BoundarySchema.optional(),
  hooks: HooksSchema.optional().describe("Coding-agent hooks (`apie hook`): approvals and failure mode."),
  capabilities: z.record(z.string().min(1), z.array(CapabilitySchema)).optional().describe("Declared capabilities per agent key."),
});

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type CustomGuardrail = z.infer<typeof CustomGuardrailSchema>;

export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(PolicySchema, { io: "input", unrepresentable: "any" }),
    title: "apie.policy.json",
    description: "Apie for VS Code: guardrail policy for this workspace.",
  };
}
