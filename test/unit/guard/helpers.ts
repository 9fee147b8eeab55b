import { strict as assert } from "node:assert";
import { GuardEngine, type GuardEngineOptions } from "../../../sidecar/guard/engine";
import type { PolicyDocument } from "../../../sidecar/guard/policySchema";
import type { GuardDecision, GuardRequest } from "../../../sidecar/guard/types";

/** An engine with `policy` loaded; fails the test if the policy does not load. */
export function engineWith(policy: PolicyDocument, mode?: "monitor" | "enforce", options?: GuardEngineOptions): GuardEngine {
  const engine = new GuardEngine(options);
  const errors = engine.loadPolicyText(JSON.stringify(policy));
  assert.deepEqual(errors, [], "test policy should load");
  if (mode !== undefined) engine.setWorkspaceMode(mode);
  return engine;
}

export function only(key: string, decision?: GuardDecision["policy_decision"]): PolicyDocument {
  return { templates: { [key]: decision === undefined ? true : { decision } } } as PolicyDocument;
}

export function keysOf(decision: GuardDecision): string[] {
  return decision.matched_guardrails.map((g) => g.key);
}

export const AGENT = "test-agent";

export function call(partial: Omit<GuardRequest, "agentKey"> & { agentKey?: string }): GuardRequest {
  return { agentKey: AGENT, ...partial };
}

/** The five scenarios of Apie's guardrail-packs recipe (recipes/guardrail-packs.mdx). */
export const PACK_SCENARIOS = {
  deploy: call({ tool: { name: "deploy.release", riskLevel: "high" }, action: { type: "execute", name: "deploy.release" }, resource: { type: "deployment_event", environment: "production" } }),
  vault: call({ tool: { name: "vault.read", riskLevel: "high" }, action: { type: "read", name: "vault.read" }, resource: { type: "secret", environment: "production" } }),
  database: call({ tool: { name: "db.update", riskLevel: "high" }, action: { type: "update", name: "db.update" }, resource: { type: "database_record", environment: "production" } }),
  merge: call({ tool: { name: "github.merge_pr", riskLevel: "high" }, action: { type: "merge", name: "github.merge_pr" }, resource: { type: "code_repository", environment: "production" } }),
  shell: call({ tool: { name: "shell.rm_rf", riskLevel: "critical" }, action: { type: "delete", name: "shell.rm_rf" }, resource: { type: "shell_command", environment: "production" } }),
} satisfies Record<string, GuardRequest>;

/** A developer's machine as the sidecar describes it to the engine (hostPaths.ts), for path-judging tests. */
export const TEST_PATHS = { workspaceRoot: "/work/app", homeDir: "/home/dev", tempDirs: ["/tmp", "/var/tmp"] };

/** The run that has read a secret, as the sidecar's projection would say (see Projection.runTaints). */
export const TAINTED_RUN = "run_tainted";
export const TAINTING_DECISION = "dec_read_aws";

export const TEST_ENGINE_OPTIONS: GuardEngineOptions = {
  paths: TEST_PATHS,
  runTaint: (runId) => (runId === TAINTED_RUN ? { decisionId: TAINTING_DECISION, reason: 'credential file "/home/dev/.aws/credentials"' } : undefined),
};
