import { sha256Hex } from "./recordCodec";
import type { GuardRequest } from "../guard/types";

/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace, `undefined`
 * members dropped, numbers as JavaScript prints them. Two requests that mean the same thing hash the same,
 * whatever order an SDK put their keys in.
 *
 * Iterative (an explicit stack, no recursion), so any depth JSON.parse accepted is hashed rather than
 * overflowing the stack: request bodies are depth-checked before they get here (MAX_NESTING_DEPTH), and this
 * is the defence behind that check, and what digests a value too deep to keep (TooDeepPlaceholder). The
 * output is byte for byte what the earlier recursive version gave (test/unit/store/canonical.test.ts
 * compares them on random values): an `undefined` member is left out, `undefined` as an array item or the
 * whole value prints `null`, so does a function or a symbol anywhere; a BigInt throws. For JSON values
 * (what requests are): a cyclic in-process object would never end.
 */
export function canonicalJson(value: unknown): string {
  if (!isContainer(value)) return scalarJson(value);
  // The open arrays and objects, innermost last, as parallel stacks (no object per level: a body nested
  // 100 000 levels is hashed in about the time JSON.parse took to read it). `keys` is null for an array.
  const nodes: object[] = [];
  const keyLists: (string[] | null)[] = [];
  const nexts: number[] = [];
  let out = "";
  const open = (node: object): void => {
    let keys: string[] | null = null;
    if (!Array.isArray(node)) {
      const record = node as Record<string, unknown>;
      keys = Object.keys(record);
      if (keys.some((k) => record[k] === undefined)) keys = keys.filter((k) => record[k] !== undefined);
      if (keys.length > 1) keys.sort();
    }
    out += keys === null ? "[" : "{";
    nodes.push(node);
    keyLists.push(keys);
    nexts.push(0);
  };
  open(value);
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const node = nodes[top]!;
    const keys = keyLists[top]!;
    const at = nexts[top]!;
    if (at >= (keys === null ? (node as unknown[]).length : keys.length)) {
      out += keys === null ? "]" : "}";
      nodes.pop();
      keyLists.pop();
      nexts.pop();
      continue;
    }
    nexts[top] = at + 1;
    if (at > 0) out += ",";
    let child: unknown;
    if (keys === null) {
      if (!(at in node)) continue; // a hole in a sparse array: nothing between the commas, as before
      child = (node as unknown[])[at];
      if (child === undefined) {
        out += "null";
        continue;
      }
    } else {
      const key = keys[at]!;
      out += `${JSON.stringify(key)}:`;
      child = (node as Record<string, unknown>)[key];
    }
    if (isContainer(child)) open(child);
    else out += scalarJson(child);
  }
  return out;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === "object";
}

function scalarJson(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/**
 * Who asks and for what, without the arguments and metadata: agent, run, tool, risk level, action and resource
 * (all normalized to null when absent). Bound by an approval (actionHash) and by a session grant
 * (server/grantPattern.ts), which adds its own normalized form of the arguments.
 */
export function requestIdentity(request: GuardRequest) {
  return {
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
  };
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
  const bound = { ...requestIdentity(request), arguments: request.arguments ?? null, metadata: request.metadata ?? null };
  return canonicalHash(bound);
}

/** SHA-256 (hex) of a value's canonical JSON: the same value hashes the same whatever its key order. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
