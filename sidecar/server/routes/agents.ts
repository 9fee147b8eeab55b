import { createHash } from "node:crypto";
import { DeclareCapabilitiesBodySchema, DefineToolBodySchema, IdentifyBodySchema, toCapabilities, type IdentifyResponse } from "../../protocol/v1";
import { notFound, parseBody, type Route, type SidecarServices } from "../routing";

/** An agent's id is derived from its key: the same after a restart, so an SDK holding an old id keeps working. */
export function agentIdFor(agentKey: string): string {
  return `agt_${createHash("sha256").update(agentKey).digest("hex").slice(0, 20)}`;
}

/** Registration, capability declarations and tool definitions; each is journaled and replayed on restart. */
export function agentRoutes(s: SidecarServices): Route[] {
  const agentKey = (id: string | undefined): string => {
    const key = id === undefined ? undefined : s.journal.state.agentKeys.get(id);
    if (key === undefined) throw notFound("agent", id);
    return key;
  };
  return [
    {
      method: "POST",
      path: "/v1/agents/identify",
      handle: async ({ body }): Promise<IdentifyResponse> => {
        const parsed = parseBody(IdentifyBodySchema, body);
        const id = agentIdFor(parsed.agent.key);
        const known = s.journal.state.agentKeys.has(id);
        const name = parsed.agent.name ?? null;
        // Journaled when the agent is new or renamed; an SDK identifying again at every start adds nothing.
        if (!known || (name !== null && s.journal.state.agents.get(parsed.agent.key)?.name !== name)) {
          await s.journal.record("agent.identified", { agent_id: id, agent_key: parsed.agent.key, name }).durable;
        }
        return {
          agent_id: id,
          agent_version_id: `${id}_v1`,
          workspace_id: "local",
          config_hash: createHash("sha256").update(JSON.stringify(body)).digest("hex"),
          created: !known,
          version_created: !known,
          ingest_url: s.baseUrl(),
          recommended_next_step: "enable guardrail templates in apie.policy.json (apie guardrails enable KEY)",
          dashboard_url: "",
        };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/agents\/([^/]+)\/capabilities\/declare$/,
      handle: async ({ body, params: [id] }) => {
        const key = agentKey(id);
        const capabilities = toCapabilities(parseBody(DeclareCapabilitiesBodySchema, body));
        s.engine.declareCapabilities(key, capabilities);
        await s.journal.record("capabilities.declared", { agent_key: key, capabilities }).durable;
        return { agent_id: id, declared: capabilities.length };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/agents\/([^/]+)\/tools\/define$/,
      handle: async ({ body, params: [id] }) => {
        const key = agentKey(id);
        const parsed = parseBody(DefineToolBodySchema, body);
        const tool = {
          name: parsed.name,
          ...(parsed.provider ? { provider: parsed.provider } : {}),
          ...(parsed.description ? { description: parsed.description } : {}),
          ...(parsed.actionTypes ? { actionTypes: parsed.actionTypes } : {}),
          ...(parsed.resourceTypes ? { resourceTypes: parsed.resourceTypes } : {}),
          ...(parsed.riskLevel ? { riskLevel: parsed.riskLevel } : {}),
        };
        s.engine.defineTool(tool);
        await s.journal.record("tool.defined", { agent_key: key, tool }).durable;
        return { agent_id: id, tool: { name: tool.name } };
      },
    },
  ];
}
