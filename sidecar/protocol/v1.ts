import type { SessionGrantRef } from "./records";
import { z } from "zod";
import { ModeSchema, RiskLevelSchema } from "../guard/policySchema";
import type { Capability } from "../guard/policySchema";
import type { GuardDecision, GuardRequest, Mode, PolicyState } from "../guard/types";
import { ident, opt, text } from "./wire";

/**
 * Apie v1 HTTP bodies, as the official clients send them (apie-sh/python-sdk `guard.py`): snake_case at the
 * top level, `null` for absent values, `riskLevel` inside `tool`. Each schema is parsed at the boundary;
 * internal code only sees the GuardRequest it maps to.
 */

/** Request bodies above this are refused with 413 over HTTP; a `/v1/stream` call frame may carry as much. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * How deep a request body may nest: arrays and objects at most this many levels below the body itself (a
 * top-level member such as `arguments` is level 1, its own members level 2, …). Checked once, iteratively,
 * where every v1 request enters (RouteDispatcher.run, so HTTP bodies and `/v1/stream` call frames alike) and
 * where the MCP proxy's replica decides on its own (ToolCallGuard), before any recursive walk sees the body.
 *
 * Why a limit and why 64: JSON.parse is iterative and accepts any depth, but JSON.stringify (every record,
 * answer and frame), structuredClone and our walkers over arguments (redactor, secret scanner) recurse, and
 * V8 throws RangeError a few thousand levels down (JSON.stringify of nested arrays: ~4 000). Within this
 * limit nothing downstream comes near that edge, envelopes included (a record wraps a body in a few levels;
 * POST /v1/guardrails/decisions wraps evaluate bodies and allows those 3 levels on top, Route.maxDepth). Real tool arguments, metadata
 * and JSON Schemas nest a handful of levels, rarely 15; 64 is also where the redactor already stops
 * (MAX_REDACT_DEPTH), so nothing that passes this check is redacted for depth.
 *
 * What a body past the limit gets: POST /v1/guardrails/evaluate answers a decision (block, see
 * `tooDeepDecision`), every other route a 400 `too_deep` naming the field.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * A body (or `/v1/stream` frame) nested deeper than this is refused with 400 `too_deep` before it is even
 * parsed, on every route: parsing cost grows faster than the text (textNestsBeyond), and a sidecar busy
 * parsing hostile bodies would hold up every guard decision behind them — which an agent under fail_open
 * would take for "guard unavailable" and proceed. Between MAX_NESTING_DEPTH and this, evaluate still answers a
 * decision (the guard's own block). No client of ours gets near it: the SDK's JSON.stringify gives up first.
 */
export const MAX_PARSE_DEPTH = 10_000;

/**
 * What the log keeps instead of a value nested past {@link MAX_NESTING_DEPTH}: never the value itself (the
 * journal, the Runs view and every reader of the log would have to walk it), but its SHA-256, so a copy of
 * the request can still be matched to the record. `sha256` is over the value's canonical JSON (canonicalJson).
 */
export interface TooDeepPlaceholder {
  apie_too_deep: { max_depth: number; sha256: string };
}

/**
 * What a replica's report (POST /v1/guardrails/decisions) carries instead of arguments too large to send
 * (the MCP proxy's LocalGuard): their size, their SHA-256 over canonical JSON (as {@link TooDeepPlaceholder}),
 * and a preview of their top-level members with every value cut short. The replica decided on the full
 * arguments; the sidecar journals this in their place, so the decision is in the log whatever the call's size.
 */
export interface TooLargePlaceholder {
  apie_too_large: { bytes: number; max_bytes: number; sha256: string; preview: Record<string, string> | string };
}

/** POST /v1/guardrails/evaluate — sent by an agent before each tool call. */
export const EvaluateBodySchema = z.object({
  agent_key: ident().min(1),
  run_id: opt(ident()),
  mode: opt(ModeSchema),
  risk_level: opt(RiskLevelSchema),
  action: opt(z.object({ type: opt(ident()), name: opt(ident()) })),
  resource: opt(
    z.object({
      type: opt(ident()),
      provider: opt(ident()),
      environment: opt(ident()),
      external_id: opt(ident()),
    }),
  ),
  tool: opt(
    z.object({
      name: opt(ident()),
      provider: opt(ident()),
      riskLevel: opt(RiskLevelSchema),
      risk_level: opt(RiskLevelSchema),
    }),
  ),
  /** Our addition: the call's arguments, for argument rules, shell analysis and secret detection. */
  arguments: z.unknown().optional(),
  metadata: opt(z.record(ident(), z.unknown())),
  /**
   * Our addition: a grant the caller holds. It allows this call only if that approval is `approved`, was
   * created for exactly this action and arguments (same hash) and has not been used before.
   */
  approval_id: opt(ident()),
  /**
   * Our addition (Apie for VS Code; the official SDKs do not send it): when the caller stops waiting for this
   * answer, in epoch milliseconds (Date.now() — the agent and the sidecar share the machine's clock). A
   * request decided after it is still decided and journaled, marked `late` (records.ts): the caller had given
   * up (its guardFailureMode decided instead) and did not run the call under this decision; a late
   * require_approval opens no approval. Our SDK sends its guard deadline here, over HTTP and in `call` frames
   * alike (the frame carries the same body). Ignored in reported decisions (POST /v1/guardrails/decisions).
   */
  deadline_at: opt(z.int().min(0).max(8.64e15)),
});
export type EvaluateBody = z.infer<typeof EvaluateBodySchema>;

/** GET /v1/guardrails/snapshot?agent_key=K — our addition: what a replica needs (see GuardSnapshot). */
export const SnapshotQuerySchema = z.object({ agent_key: z.string().min(1).max(500) });

/**
 * What became of a reported call, when the reporter knew it by the time it reported: the sidecar journals the
 * call's `agent.action.completed` / `agent.action.failed` timeline event itself (linked by
 * `metadata.decision_id`), so the proxy sends one message per call instead of a decision and an event.
 */
export const ReportedOutcomeSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("completed"), at: z.iso.datetime() }),
  z.object({ status: z.literal("failed"), at: z.iso.datetime(), error: z.string().max(2_000) }),
]);
export type ReportedOutcome = z.infer<typeof ReportedOutcomeSchema>;

/**
 * POST /v1/guardrails/decisions — our addition: decisions a replica of the engine made for calls nothing
 * matched (the MCP proxy's fast path), reported after the fact. The sidecar decides each one again with its
 * own engine under the same id and journals its own answer; one that is not a plain allow is reported back
 * as `diverged` (the replica was behind, e.g. a policy edit was on its way).
 */
export const ReportDecisionsBodySchema = z.object({
  decisions: z
    .array(
      z.object({
        decision_id: z.string().min(1).max(200),
        body: EvaluateBodySchema,
        /** When the replica decided (the timeline orders the decision by it, not by when it is logged). */
        decided_at: z.iso.datetime().optional(),
        outcome: ReportedOutcomeSchema.optional(),
      }),
    )
    .min(1)
    .max(500),
});

export type ReportDecisionsBody = z.infer<typeof ReportDecisionsBodySchema>;
export interface ReportDecisionsResponse {
  accepted: number;
  diverged: string[];
}

export function toGuardRequest(body: EvaluateBody): GuardRequest {
  return {
    agentKey: body.agent_key,
    runId: body.run_id,
    mode: body.mode,
    riskLevel: body.risk_level,
    action: body.action,
    resource: body.resource && {
      type: body.resource.type,
      provider: body.resource.provider,
      environment: body.resource.environment,
      externalId: body.resource.external_id,
    },
    tool: body.tool && { name: body.tool.name, provider: body.tool.provider, riskLevel: body.tool.riskLevel ?? body.tool.risk_level },
    arguments: body.arguments,
    metadata: body.metadata,
  };
}

/**
 * The GuardRequest of an evaluate body our own code built (the SDK's `evaluateBody`, already typed): what
 * `toGuardRequest(EvaluateBodySchema.parse(body))` gives, without the parse. The schema's only transformation
 * is null → absent, so that is all this does. For the MCP proxy's replica, where the zod pass was ~30 % of a
 * local decision; the sidecar still parses the same body when the decision is reported. Bodies from outside
 * the process always go through the schema. test/unit/mcp/trustedGuardRequest.test.ts holds the two equal.
 */
export function trustedGuardRequest(body: z.input<typeof EvaluateBodySchema>): GuardRequest {
  const { action, resource, tool } = body;
  return {
    agentKey: body.agent_key,
    runId: absent(body.run_id),
    mode: absent(body.mode),
    riskLevel: absent(body.risk_level),
    action: action ? { type: absent(action.type), name: absent(action.name) } : undefined,
    resource: resource
      ? { type: absent(resource.type), provider: absent(resource.provider), environment: absent(resource.environment), externalId: absent(resource.external_id) }
      : undefined,
    tool: tool ? { name: absent(tool.name), provider: absent(tool.provider), riskLevel: absent(tool.riskLevel) ?? absent(tool.risk_level) } : undefined,
    arguments: body.arguments,
    metadata: absent(body.metadata),
  };
}

function absent<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

/** Answer to POST /v1/guardrails/evaluate: the engine's decision plus the approval it opened, if any. */
export type EvaluateResponse = GuardDecision & {
  approval_request: { id: string; status: "pending" | "approved"; expires_at: string } | null;
  /**
   * Present when a session grant let this require_approval through (an earlier approval approved with scope
   * `session`, protocol/approvals.ts): a human's answer, so a hook answers an explicit allow, as for a
   * redeemed one-time grant.
   */
  session_grant?: SessionGrantRef;
};

/** GET /v1/health. */
export interface HealthResponse {
  status: "ok";
  /** State of apie.policy.json: ok | none | stale | invalid. */
  policy: PolicyState;
  mode: Mode;
  uptime_ms: number;
  /** Seq of the last record in the event log. */
  last_seq: number;
  pending_approvals: number;
  workspace: string;
  /** Absolute path of the event log (what `apie audit verify --file` takes). */
  event_log: string;
}

/** POST /v1/mode (admin key): the workspace mode, what the editor's status bar switches. */
export const SetModeBodySchema = z.object({ mode: ModeSchema });

/** Every error response: `{"error": {"code", "message", "field"?}}`. */
export interface ErrorBody {
  /** `retry_after_s`: on 503 `busy` (an expensive route at its limit), when to try again; also the Retry-After header. */
  error: { code: string; message: string; field?: string; retry_after_s?: number };
}

/** What `apie sidecar` prints as its one stdout line and writes to the discovery file. */
export const DiscoverySchema = z.object({
  baseUrl: z.url(),
  apiKey: z.string().min(1),
  adminKey: z.string().min(1),
  pid: z.int().positive(),
});
export type Discovery = z.infer<typeof DiscoverySchema>;

/** POST /v1/agents/identify — an SDK registering its agent at startup. */
export const IdentifyBodySchema = z.object({
  agent: z.object({ key: ident().min(1), name: opt(ident()) }).loose(),
  mode: opt(ident()),
});

export interface IdentifyResponse {
  agent_id: string;
  agent_version_id: string;
  workspace_id: string;
  config_hash: string;
  created: boolean;
  version_created: boolean;
  ingest_url: string;
  recommended_next_step: string;
  dashboard_url: string;
}

/** POST /v1/agents/{id}/capabilities/declare (shape of python-sdk capabilities.py). */
export const DeclareCapabilitiesBodySchema = z.object({
  capabilities: z.array(
    z.object({
      tool: z.object({ name: ident().min(1), provider: opt(ident()) }),
      actions: opt(z.array(ident()).max(100)),
      resources: opt(z.array(ident()).max(100)),
      environments: opt(z.array(ident()).max(100)),
      riskLevel: opt(RiskLevelSchema),
    }),
  ).max(1_000),
});

export function toCapabilities(body: z.infer<typeof DeclareCapabilitiesBodySchema>): Capability[] {
  return body.capabilities.map((c) => ({
    tool: { name: c.tool.name, ...(c.tool.provider ? { provider: c.tool.provider } : {}) },
    actions: c.actions ?? [],
    resources: c.resources ?? [],
    ...(c.environments ? { environments: c.environments } : {}),
    ...(c.riskLevel ? { riskLevel: c.riskLevel } : {}),
  }));
}

const MAX_INPUT_SCHEMA_CHARS = 64 * 1024;

/** POST /v1/agents/{id}/tools/define. */
export const DefineToolBodySchema = z.object({
  name: ident().min(1),
  provider: opt(ident()),
  description: opt(text()),
  /** Kept in memory with the tool (the engine infers from it): at most MAX_INPUT_SCHEMA_CHARS as JSON. */
  inputSchema: z
    .unknown()
    .optional()
    .refine((schema) => schema === undefined || JSON.stringify(schema).length <= MAX_INPUT_SCHEMA_CHARS, `must be at most ${64 * 1024} characters as JSON`),
  actionTypes: opt(z.array(ident())),
  resourceTypes: opt(z.array(ident())),
  riskLevel: opt(RiskLevelSchema),
});
