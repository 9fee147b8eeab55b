import { CapabilityRegistry } from "../guard/boundary";
import type { Capability } from "../guard/policySchema";
import type { ApprovalView } from "../protocol/approvals";
import type { AgentBoundary, Snapshot } from "../protocol/lsp";
import type { Projection } from "../store/projection";
import type { SidecarStatus } from "./status";

/** How much of the history one `apie/snapshot` carries; older items are read on demand (`apie/getRun`). */
export const SNAPSHOT_LIMITS = { resolvedApprovals: 50, sessions: 200, runs: 200 } as const;

export interface SnapshotSources {
  state: Projection;
  baseUrl: string;
  /** The agent key (for terminals). Never the admin key. */
  apiKey: string;
  status: SidecarStatus;
  /** What is in force for an agent: runtime declarations merged with apie.policy.json's (`engine.declaredCapabilities`). */
  declaredCapabilities(agentKey: string): Capability[];
  /** Agents apie.policy.json declares capabilities for: shown even before they are first seen. */
  policyAgentKeys: readonly string[];
}

/**
 * The editor's view of the sidecar at one log position (`lastSeq`): every pending approval and the most
 * recently resolved ones, the most recent sessions and runs (by start time, newest first), and each agent's
 * declared capabilities against the tools it was seen calling. Views are copied: the projection keeps
 * changing between this call and the moment the answer is serialized.
 */
export function buildSnapshot(s: SnapshotSources): Snapshot {
  const approvals = [...s.state.approvals.values()];
  const pending = mostRecent(approvals.filter((a) => a.status === "pending"), (a) => a.created_at, Infinity);
  const resolved = mostRecent(approvals.filter((a) => a.status !== "pending"), resolvedAt, SNAPSHOT_LIMITS.resolvedApprovals);
  return {
    baseUrl: s.baseUrl,
    apiKey: s.apiKey,
    mode: s.status.mode,
    policy: { ...s.status.policy },
    lastSeq: s.state.lastSeq,
    approvals: [...pending, ...resolved].map((a) => ({ ...a })),
    sessions: mostRecent([...s.state.sessions.values()], (x) => x.started_at, SNAPSHOT_LIMITS.sessions).map((x) => ({ ...x, run_ids: [...x.run_ids] })),
    runs: mostRecent([...s.state.runs.values()].map((r) => r.view), (r) => r.started_at, SNAPSHOT_LIMITS.runs).map((r) => ({ ...r })),
    agents: agentBoundaries(s),
  };
}

/**
 * One entry per agent the sidecar has seen or the policy declares. `observed[].declared` uses the engine's
 * own matching (CapabilityRegistry: exact names and globs), so the Boundary view and drift warnings agree.
 */
export function agentBoundaries(s: Pick<SnapshotSources, "state" | "declaredCapabilities" | "policyAgentKeys">): AgentBoundary[] {
  const keys = [...s.state.agents.keys()];
  for (const key of s.policyAgentKeys) if (!s.state.agents.has(key)) keys.push(key);
  return keys.map((key) => {
    const agent = s.state.agents.get(key);
    const declared = s.declaredCapabilities(key);
    const registry = new CapabilityRegistry();
    registry.declare(key, declared);
    return {
      key,
      id: agent?.id ?? "",
      name: agent?.name ?? null,
      declared: [...declared],
      observed: [...(agent?.observed.values() ?? [])].map((tool) => ({
        name: tool.name,
        provider: tool.provider,
        calls: tool.calls,
        decisions: { ...tool.decisions },
        wouldBlock: tool.wouldBlock,
        lastSeen: tool.lastSeen,
        actions: [...tool.actions],
        resources: [...tool.resources],
        environments: [...tool.environments],
        declared: registry.isToolDeclared(key, tool.name),
      })),
    };
  });
}

function resolvedAt(a: ApprovalView): string {
  return a.resolved_at ?? a.created_at;
}

/** The `limit` items with the latest `time` (ISO strings), newest first; ties: the later-added first. */
export function mostRecent<T>(items: readonly T[], time: (item: T) => string, limit: number): T[] {
  const keyed = items.map((item, index) => ({ item, index, t: Date.parse(time(item)) || 0 }));
  keyed.sort((a, b) => b.t - a.t || b.index - a.index);
  return keyed.slice(0, limit).map((k) => k.item);
}
