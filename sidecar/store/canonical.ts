import { createHash } from "node:crypto";
import type { GuardRequest } from "../guard/types";

/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace, `undefined`
 * members dropped, numbers as JavaScript prints them. Two requests that mean the same thing hash the same,
 * whatever order an SDK put their keys in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/**
 * What an approval is bound to: the SHA-256 of the canonical (agent, run, tool, action, resource, risk level,
 * arguments, metadata) as the agent asked for it — everything of the request the human is shown (the
 * Approvals view and notification: agent, tool, action, resource, risk, arguments; the run in the timeline)
 * and everything a guardrail can match on (metadata too). Any change to one of these — another argument,
 * another environment, a lower risk level, another run — is a different request and needs its own approval.
 * Not bound: the agent's own `mode` (it can only tighten the workspace's), and the policy's verdict (reason,
 * matched guardrails), which is computed again when the grant is redeemed. The risk level is the one shown:
 * the tool's, else the request's top-level one (what ApprovalView.risk_level carries).
 */
export function actionHash(request: GuardRequest): string {
  const bound = {
    agent: request.agentKey,
    run: request.runId ?? null,
    tool: { name: request.tool?.name ?? null, provider: request.tool?.provider ?? null },
    riskLevel: request.tool?.riskLevel ?? request.riskLevel ?? null,
    action: { type: request.action?.type ?? null, name: request.action?.name ?? null },
    resource: {
      type: request.resource?.type ?? null,
      environment: request.resource?.environment ?? null,
      externalId: request.resource?.externalId ?? null,
      provider: request.resource?.provider ?? null,
    },
    arguments: request.arguments ?? null,
    metadata: request.metadata ?? null,
  };
  return createHash("sha256").update(canonicalJson(bound)).digest("hex");
}
