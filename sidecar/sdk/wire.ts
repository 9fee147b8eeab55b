import { hostname } from "node:os";
import { z } from "zod";
import { ApprovalStatusSchema, type ApprovalResponse, type ApprovalWaitResponse } from "../protocol/approvals";
import type { CreateChildRunBodySchema, CreateRunBodySchema, CreateSessionBodySchema, RunView, SessionView } from "../protocol/runs";
import type { DeclareCapabilitiesBodySchema, DefineToolBodySchema, IdentifyResponse } from "../protocol/v1";
import type { ResolvedConfig } from "./config";
import { TransportError } from "./http";
import type { Approval, ApprovalWaitStatus, CapabilityInput, Registration, Run, RunInput, Session, SessionInput, ToolDefinition } from "./types";

/**
 * camelCase SDK values ⇄ the Apie v1 wire (request bodies typed against the sidecar's zod schemas in
 * sidecar/protocol, answers parsed here with zod: what the SDK reads must be there, extras are ignored).
 */

export const SDK_VERSION = "0.1.0";

type In<S extends z.ZodType> = z.input<S>;

/** POST /v1/agents/identify, shaped like python-sdk `build_register_payload`. */
export function identifyBody(config: ResolvedConfig): Record<string, unknown> {
  const { agent, runtime, model, version, source } = config;
  return {
    agent: {
      key: agent.key,
      name: agent.name,
      purpose: agent.purpose ?? null,
      owner_email: agent.owner ?? null,
      team: agent.team ?? null,
      description: agent.description ?? null,
    },
    runtime: {
      environment: runtime.environment ?? null,
      framework: runtime.framework ?? null,
      language: runtime.language ?? "typescript",
      sdk_version: runtime.sdkVersion ?? SDK_VERSION,
    },
    model: { provider: model?.provider ?? null, name: model?.name ?? null },
    mode: config.mode,
    tools:
      config.tools.length === 0
        ? null
        : config.tools.map((t) => ({
            name: t.name,
            action_types: t.actionTypes.length ? t.actionTypes : null,
            resource_types: t.resourceTypes.length ? t.resourceTypes : null,
            risk_level: t.riskLevel ?? null,
            provider: t.provider ?? null,
          })),
    prompt_hash: config.promptHash ?? null,
    hostname: process.env.HOSTNAME ?? hostname(),
    ...(version && (version.version || version.framework || version.modelName)
      ? {
          version: {
            version: version.version ?? null,
            framework: version.framework ?? runtime.framework ?? null,
            model_provider: version.modelProvider ?? model?.provider ?? null,
            model_name: version.modelName ?? model?.name ?? null,
          },
        }
      : {}),
    ...(source && (source.gitSha || source.deploymentId)
      ? { source: { git_sha: source.gitSha ?? null, deployment_id: source.deploymentId ?? null } }
      : {}),
  };
}

const RegistrationSchema = z.object({
  agent_id: z.string().min(1),
  agent_version_id: z.string().catch(""),
  workspace_id: z.string().catch(""),
  config_hash: z.string().catch(""),
  created: z.boolean().catch(false),
  version_created: z.boolean().catch(false),
  ingest_url: z.string().catch(""),
  recommended_next_step: z.string().catch(""),
  dashboard_url: z.string().catch(""),
});
const _identifyParses = (answer: IdentifyResponse): In<typeof RegistrationSchema> => answer;
void _identifyParses;

export function parseRegistration(raw: unknown): Registration {
  const r = parseAnswer(RegistrationSchema, raw, "POST /v1/agents/identify");
  return {
    agentId: r.agent_id,
    agentVersionId: r.agent_version_id,
    workspaceId: r.workspace_id,
    configHash: r.config_hash,
    created: r.created,
    versionCreated: r.version_created,
    ingestUrl: r.ingest_url,
    recommendedNextStep: r.recommended_next_step,
    dashboardUrl: r.dashboard_url,
  };
}

export function capabilitiesBody(capabilities: readonly CapabilityInput[]): In<typeof DeclareCapabilitiesBodySchema> {
  return {
    capabilities: capabilities.map((c) => ({
      tool: { name: c.tool.name, ...(c.tool.provider ? { provider: c.tool.provider } : {}) },
      ...(c.actions?.length ? { actions: c.actions } : {}),
      ...(c.resources?.length ? { resources: c.resources } : {}),
      ...(c.environments?.length ? { environments: c.environments } : {}),
      ...(c.riskLevel ? { riskLevel: c.riskLevel } : {}),
    })),
  };
}

export function toolDefinitionBody(tool: ToolDefinition): In<typeof DefineToolBodySchema> {
  return {
    name: tool.name,
    provider: tool.provider,
    description: tool.description,
    inputSchema: tool.inputSchema,
    actionTypes: tool.actionTypes?.length ? tool.actionTypes : undefined,
    resourceTypes: tool.resourceTypes?.length ? tool.resourceTypes : undefined,
    riskLevel: tool.riskLevel,
  };
}

export interface Identity {
  agentKey: string;
  agentId?: string | undefined;
  agentVersionId?: string | undefined;
  environment?: string | undefined;
}

export function createRunBody(identity: Identity, input: RunInput): In<typeof CreateRunBodySchema> {
  return {
    agent_key: identity.agentKey,
    agent_id: identity.agentId ?? null,
    agent_version_id: identity.agentVersionId ?? null,
    environment: input.environment ?? identity.environment ?? null,
    input_summary: input.inputSummary ?? null,
    metadata: input.metadata ?? null,
  };
}

export function createChildRunBody(identity: Identity, input: RunInput): In<typeof CreateChildRunBodySchema> {
  return {
    ...createRunBody(identity, input),
    parent_run_id: input.parentRunId ?? null,
    step_key: input.stepKey ?? null,
    step_name: input.stepName ?? null,
    step_index: input.stepIndex ?? null,
    role: input.role ?? null,
  };
}

export function createSessionBody(identity: Identity, input: SessionInput): In<typeof CreateSessionBodySchema> {
  return {
    kind: input.kind ?? "single_agent",
    orchestrator_agent_key: identity.agentKey,
    orchestrator_agent_id: identity.agentId ?? null,
    environment: input.environment ?? identity.environment ?? null,
    input_summary: input.inputSummary ?? null,
    metadata: input.metadata ?? null,
  };
}

const RunSchema = z.object({
  id: z.string().min(1),
  session_id: z.string().nullish(),
  status: z.string().catch(""),
  started_at: z.string().nullish(),
});
const _runParses = (answer: RunView): In<typeof RunSchema> => answer;
void _runParses;

export function parseRun(raw: unknown, what: string): Run {
  const r = parseAnswer(RunSchema, raw, what);
  return { id: r.id, sessionId: r.session_id ?? null, status: r.status, startedAt: r.started_at ?? null };
}

const SessionSchema = RunSchema.omit({ session_id: true });
const _sessionParses = (answer: SessionView): In<typeof SessionSchema> => answer;
void _sessionParses;

export function parseSession(raw: unknown): Session {
  const s = parseAnswer(SessionSchema, raw, "POST /v1/sessions");
  return { id: s.id, status: s.status, startedAt: s.started_at ?? null };
}

const ApprovalViewSchema = z.object({
  id: z.string().min(1),
  status: ApprovalStatusSchema,
  reason: z.string().nullish(),
  matched_guardrails: z
    .array(z.object({ key: z.string(), name: z.string(), decision: z.enum(["allow", "warn", "require_approval", "block"]), reason: z.string(), source: z.enum(["template", "custom", "boundary", "policy"]) }))
    .catch([]),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
  resolved_at: z.string().nullish(),
  resolved_by: z.string().nullish(),
  resolution_reason: z.string().nullish(),
});
const ApprovalResponseSchema = z.object({ approval: ApprovalViewSchema });
const ApprovalWaitResponseSchema = z.object({
  status: z.enum(["approved", "rejected", "expired", "cancelled", "timeout"]),
  approval: ApprovalViewSchema.optional(),
});
const _approvalParses = (answer: ApprovalResponse): In<typeof ApprovalResponseSchema> => answer;
const _waitParses = (answer: ApprovalWaitResponse): In<typeof ApprovalWaitResponseSchema> => answer;
void _approvalParses;
void _waitParses;

export function parseApproval(raw: unknown, what: string): Approval {
  const a = parseAnswer(ApprovalResponseSchema, raw, what).approval;
  return {
    id: a.id,
    status: a.status,
    reason: a.reason ?? null,
    matchedGuardrails: a.matched_guardrails,
    createdAt: a.created_at ?? null,
    expiresAt: a.expires_at ?? null,
    resolvedAt: a.resolved_at ?? null,
    resolvedBy: a.resolved_by ?? null,
    resolutionReason: a.resolution_reason ?? null,
  };
}

export function parseWaitStatus(raw: unknown, what: string): ApprovalWaitStatus {
  return parseAnswer(ApprovalWaitResponseSchema, raw, what).status;
}

/** An answer that does not have the shape the SDK reads is a bad response, like a non-JSON body. */
export function parseAnswer<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new TransportError("bad_response", `${what}: unexpected answer (${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"})`);
}
