import { createHash } from "node:crypto";

/**
 * Agents known to this sidecar. An agent's id is derived from its key, so it is the same after a restart
 * and an SDK holding an old id keeps working.
 */
export class AgentRegistry {
  private readonly keysById = new Map<string, string>();

  static idFor(agentKey: string): string {
    return `agt_${createHash("sha256").update(agentKey).digest("hex").slice(0, 20)}`;
  }

  /** Registers the key; returns its id and whether it was new to this process. */
  identify(agentKey: string): { id: string; created: boolean } {
    const id = AgentRegistry.idFor(agentKey);
    const created = !this.keysById.has(id);
    this.keysById.set(id, agentKey);
    return { id, created };
  }

  keyOf(agentId: string): string | undefined {
    return this.keysById.get(agentId);
  }
}
