/**
 * The files Apie keeps at a workspace's root, by name: the sidecar, the CLI, the hooks, the guard's own
 * `guard-files` template and the editor all look for them here. The state dir and its discovery file are in
 * ./discovery.ts.
 *
 * Constants only, no imports: the hook bundle reads them and must not pull zod or the server in.
 */

/** The workspace policy (guard/policySchema.ts). */
export const POLICY_FILE = "apie.policy.json";

/** The MCP proxy's config (mcp/configSchema.ts), the default of `apie mcp proxy --config`. */
export const MCP_CONFIG_FILE = "apie.mcp.json";
