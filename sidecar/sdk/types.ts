import type { MatchedGuardrail, RiskLevel } from "../guard/types";
import type { ApprovalStatus, ApprovalWaitStatus } from "../protocol/approvals";

/** Public input and result types of the SDK (camelCase; the wire is snake_case). */

export type { RiskLevel, ApprovalStatus, ApprovalWaitStatus };

/** The tool being called. */
export interface ToolRef {
  name: string;
  provider?: string | undefined;
  riskLevel?: RiskLevel | undefined;
}

/** What the call does, e.g. `{ type: "execute", name: "deploy.release" }`. */
export interface ActionRef {
  type: string;
  name?: string | undefined;
  riskLevel?: RiskLevel | undefined;
}

/** What the call touches, e.g. `{ type: "deployment_event", environment: "production" }`. */
export interface ResourceRef {
  type: string;
  environment?: string | undefined;
  externalId?: string | undefined;
  provider?: string | undefined;
}

/** One guarded tool call (`withTool`, `wrap`). */
export interface ToolCallInput {
  tool: ToolRef;
  /** Default `{ type: "execute", name: tool.name }`. */
  action?: ActionRef | undefined;
  /** Default `{ type: "unknown" }` (the sidecar infers what it can from the tool name and arguments). */
  resource?: ResourceRef | undefined;
  /** The call's arguments (any JSON): matched by argument rules, scanned for shell commands and secrets. */
  arguments?: unknown;
  metadata?: Record<string, unknown> | undefined;
  /** Default: the run of the enclosing `withRun`. */
  runId?: string | undefined;
  riskLevel?: RiskLevel | undefined;
  /** `false` skips the guard (the call is only recorded). */
  guard?: boolean | undefined;
}

/** A guard question without a callback (`guard`). Needs a tool or an action. */
export interface GuardInput extends Omit<ToolCallInput, "tool" | "guard"> {
  tool?: ToolRef | undefined;
  /** A grant held from an earlier approval (our addition to the wire: `approval_id`). */
  approvalId?: string | undefined;
}

export interface RunInput {
  inputSummary?: string | undefined;
  environment?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Start the run inside this session (default: the enclosing `withSession`'s). */
  sessionId?: string | undefined;
  stepName?: string | undefined;
  stepKey?: string | undefined;
  stepIndex?: number | undefined;
  role?: string | undefined;
  parentRunId?: string | undefined;
}

export interface Run {
  id: string;
  sessionId: string | null;
  status: string;
  startedAt: string | null;
  /** True when the sidecar was unreachable when the run started: it exists only in this process. */
  offline?: boolean;
}

export interface RunCompletion {
  status?: "completed" | "failed" | "cancelled" | undefined;
  outputSummary?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export type SessionKind = "single_agent" | "multi_agent" | "pipeline" | "activation_proof";

export interface SessionInput {
  kind?: SessionKind | undefined;
  inputSummary?: string | undefined;
  environment?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface Session {
  id: string;
  status: string;
  startedAt: string | null;
  offline?: boolean;
}

/** A declared capability: the tool, and the actions/resources/environments it may touch. */
export interface CapabilityInput {
  tool: { name: string; provider?: string | undefined };
  actions?: string[] | undefined;
  resources?: string[] | undefined;
  environments?: string[] | undefined;
  riskLevel?: RiskLevel | undefined;
}

export interface ToolDefinition {
  name: string;
  provider?: string | undefined;
  description?: string | undefined;
  inputSchema?: Record<string, unknown> | undefined;
  actionTypes?: string[] | undefined;
  resourceTypes?: string[] | undefined;
  riskLevel?: RiskLevel | undefined;
}

/** Answer of identify (`ready()`). */
export interface Registration {
  agentId: string;
  agentVersionId: string;
  workspaceId: string;
  configHash: string;
  created: boolean;
  versionCreated: boolean;
  ingestUrl: string;
  recommendedNextStep: string;
  dashboardUrl: string;
}

export interface Approval {
  id: string;
  status: ApprovalStatus;
  reason: string | null;
  matchedGuardrails: MatchedGuardrail[];
  createdAt: string | null;
  expiresAt: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolutionReason: string | null;
}

/** Where the SDK reports what it does not throw: would-block in monitor mode, guard unavailable, flush failures. */
export interface ApieLogger {
  warn(message: string): void;
}

export const defaultLogger: ApieLogger = {
  warn: (message) => console.warn(`[apie] ${message}`),
};
