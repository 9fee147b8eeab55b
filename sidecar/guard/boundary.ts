import picomatch from "picomatch";
import type { Capability } from "./policySchema";
import { RISK_RANK, type DriftWarning, type Facts } from "./types";

/**
 * Declared capabilities (Apie's boundary contract) and the drift between them and what an agent actually
 * calls. An agent with no declarations has no contract, so it has no drift either: warnings start once the
 * agent (or apie.policy.json) declares what it should do.
 */
export interface BoundarySettings {
  warnOnUndeclaredTools: boolean;
  warnOnUnknownResourceTypes: boolean;
}

interface CompiledCapability {
  capability: Capability;
  matchesName: (name: string) => boolean;
  actions: ReadonlySet<string>;
  resources: ReadonlySet<string>;
  environments: ReadonlySet<string> | null;
}

interface AgentBoundary {
  capabilities: CompiledCapability[];
  /** Every resource type any of this agent's capabilities lists. */
  resourceTypes: Set<string>;
}

export class CapabilityRegistry {
  private readonly agents = new Map<string, AgentBoundary>();

  /** Declaring again for the same tool name replaces that tool's earlier declarations. */
  declare(agentKey: string, capabilities: readonly Capability[]): void {
    const existing = this.agents.get(agentKey)?.capabilities ?? [];
    const replaced = new Set(capabilities.map((c) => c.tool.name));
    const kept = existing.filter((c) => !replaced.has(c.capability.tool.name));
    const merged = [...kept, ...capabilities.map(compileCapability)];
    const resourceTypes = new Set(merged.flatMap((c) => [...c.resources]));
    this.agents.set(agentKey, { capabilities: merged, resourceTypes });
  }

  hasDeclarations(agentKey: string): boolean {
    return (this.agents.get(agentKey)?.capabilities.length ?? 0) > 0;
  }

  isToolDeclared(agentKey: string, toolName: string): boolean {
    return this.capabilitiesFor(agentKey, toolName).length > 0;
  }

  declared(agentKey: string): Capability[] {
    return this.agents.get(agentKey)?.capabilities.map((c) => c.capability) ?? [];
  }

  agentKeys(): string[] {
    return [...this.agents.keys()];
  }

  /** A registry holding both sets of declarations (the policy file's and the runtime's). */
  static merged(a: CapabilityRegistry, b: CapabilityRegistry): CapabilityRegistry {
    const out = new CapabilityRegistry();
    for (const source of [a, b]) for (const key of source.agentKeys()) out.declare(key, source.declared(key));
    return out;
  }

  drift(facts: Facts, settings: BoundarySettings): DriftWarning[] {
    const agent = this.agents.get(facts["agent.key"]);
    if (agent === undefined || agent.capabilities.length === 0) return [];
    const warnings: DriftWarning[] = [];
    const toolName = facts["tool.name"];
    const resourceType = facts["resource.type"];
    if (settings.warnOnUnknownResourceTypes && resourceType !== undefined && !agent.resourceTypes.has(resourceType)) {
      warnings.push({ code: "unknown_resource_type", message: `resource type "${resourceType}" is not in any declared capability` });
    }
    if (toolName === undefined || !settings.warnOnUndeclaredTools) return warnings;
    const matching = agent.capabilities.filter((c) => c.matchesName(toolName));
    if (matching.length === 0) {
      warnings.push({ code: "undeclared_tool", message: `tool "${toolName}" is not in the declared capabilities` });
      return warnings;
    }
    this.checkDeclaredTool(matching, facts, warnings);
    return warnings;
  }

  private checkDeclaredTool(matching: CompiledCapability[], facts: Facts, warnings: DriftWarning[]): void {
    const toolName = facts["tool.name"]!;
    const action = facts["action.type"];
    const resource = facts["resource.type"];
    const environment = facts["resource.environment"];
    const risk = facts["tool.riskLevel"];
    if (action !== undefined && !matching.some((c) => c.actions.has(action))) {
      warnings.push({ code: "undeclared_action", message: `action "${action}" is not declared for tool "${toolName}"` });
    }
    if (resource !== undefined && !matching.some((c) => c.resources.has(resource))) {
      warnings.push({ code: "undeclared_resource", message: `resource "${resource}" is not declared for tool "${toolName}"` });
    }
    if (environment !== undefined && !matching.some((c) => c.environments === null || c.environments.has(environment))) {
      warnings.push({ code: "undeclared_environment", message: `environment "${environment}" is not declared for tool "${toolName}"` });
    }
    const declaredRisks = matching.map((c) => c.capability.riskLevel);
    if (risk !== undefined && declaredRisks.every((r) => r !== undefined && RISK_RANK[r] < RISK_RANK[risk])) {
      warnings.push({ code: "risk_above_declared", message: `risk "${risk}" is above the declared risk of tool "${toolName}"` });
    }
  }

  private capabilitiesFor(agentKey: string, toolName: string): CompiledCapability[] {
    return this.agents.get(agentKey)?.capabilities.filter((c) => c.matchesName(toolName)) ?? [];
  }
}

function compileCapability(capability: Capability): CompiledCapability {
  const name = capability.tool.name;
  const matchesName = /[*?[{]/.test(name) ? picomatch(name, { dot: true }) : (candidate: string) => candidate === name;
  return {
    capability,
    matchesName,
    actions: new Set(capability.actions),
    resources: new Set(capability.resources),
    environments: capability.environments === undefined ? null : new Set(capability.environments),
  };
}
