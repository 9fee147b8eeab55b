/** The guard request the sidecar benches send: a low-risk read that every policy allows (the hot path). */
export const SEARCH_DOCS_REQUEST = {
  agent_key: "bench-agent",
  mode: "enforce",
  action: { type: "read", name: "search.docs" },
  resource: { type: "knowledge_base", environment: "production" },
  tool: { name: "search.docs", provider: "internal", riskLevel: "low" },
  arguments: { query: "how do I rotate keys" },
};
