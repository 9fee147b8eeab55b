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
 * What an approval is bound to: the SHA-256 of the canonical (agent, tool, action, resource, arguments) as
 * the agent asked for it. Any change to one of these — another argument, another environment — is a
 * different action and needs its own approval.
 */
export function actionHash(request: GuardRequest): string {
  const bound = {
    agent: request.agentKey,
    tool: { name: request.tool?.name ?? null, provider: request.tool?.provider ?? null },
    action: { type: request.action?.type ?? null, name: request.action?.name ?? null },
    resource: {
      type: request.resource?.type ?? null,
      environment: request.resource?.environment ?? null,
      externalId: request.resource?.externalId ?? null,
      provider: request.resource?.provider ?? null,
    },
    arguments: request.arguments ?? null,
  };
  return createHash("sha256").update(canonicalJson(bound)).digest("hex");
}
