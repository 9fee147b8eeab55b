/** An enforced production deploy of the release-gate agent: under `prod-deploys` it opens an approval. */
export const productionDeploy = {
  agent_key: "release-gate",
  mode: "enforce",
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
  arguments: { version: "1.4.2" },
};
