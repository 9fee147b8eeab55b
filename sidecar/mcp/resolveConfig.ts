import {
  DEFAULT_MCP_APPROVAL_TIMEOUT_MS,
  type McpConfigFile,
  type McpServerConfig,
  type McpServerEntry,
} from "./configSchema";

/** A config problem that is not a schema error: names the field (`servers.github.upstream`) it is about. */
export class McpConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Picks one server out of a parsed apie.mcp.json and applies inheritance (a `servers` entry takes every
 * field it does not set from the top level) and defaults. With `servers`, the server is `serverName`
 * (from `--server`) or, failing that, the top-level `serverName`.
 */
export function resolveServerConfig(file: McpConfigFile, serverName?: string): McpServerConfig {
  if (file.servers !== undefined && Object.keys(file.servers).length > 0) {
    const name = serverName ?? file.serverName;
    if (name === undefined) {
      throw new McpConfigError("servers", `apie.mcp.json lists several servers (${Object.keys(file.servers).join(", ")}); choose one with --server NAME`);
    }
    const entry = file.servers[name];
    if (entry === undefined) {
      throw new McpConfigError("servers", `no server "${name}" in apie.mcp.json (servers: ${Object.keys(file.servers).join(", ")})`);
    }
    // The entry's own serverName is its tool namespace; the top-level one only picks the default server.
    return finish(inherit(file, entry), entry.serverName ?? name, `servers.${name}`);
  }
  if (serverName !== undefined && file.serverName !== undefined && serverName !== file.serverName) {
    throw new McpConfigError("serverName", `--server ${serverName} does not match serverName "${file.serverName}" and there is no servers map`);
  }
  return finish(file, serverName ?? file.serverName, "");
}

function inherit(top: McpConfigFile, entry: McpServerEntry): McpServerEntry {
  const { servers: _servers, $schema: _schema, ...defaults } = top;
  const merged: McpServerEntry = { ...defaults };
  for (const [key, value] of Object.entries(entry)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  return merged;
}

function finish(entry: McpServerEntry, serverName: string | undefined, prefix: string): McpServerConfig {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (entry.releaseMode === "guard") throw new McpConfigError(at("releaseMode"), 'releaseMode "guard" is no longer supported: use mode: "enforce"');
  if (entry.releaseMode !== undefined && entry.releaseMode !== "monitor" && entry.releaseMode !== "enforce") {
    throw new McpConfigError(at("releaseMode"), `releaseMode "${entry.releaseMode}" is not a mode: use mode: "monitor" or "enforce"`);
  }
  if (serverName === undefined) throw new McpConfigError(at("serverName"), "required: the namespace of the tools (e.g. \"filesystem\")");
  if (entry.agentKey === undefined) throw new McpConfigError(at("agentKey"), "required: the agent key the tool calls are reported under");
  if (entry.upstream === undefined) throw new McpConfigError(at("upstream"), "required: {command, args} or {url} of the upstream MCP server");
  return {
    serverName,
    agentKey: entry.agentKey,
    agentName: entry.agentName,
    mode: entry.mode ?? (entry.releaseMode as "monitor" | "enforce" | undefined) ?? "monitor",
    environment: entry.environment,
    upstream: entry.upstream,
    redactKeys: entry.redactKeys ?? [],
    approvalTimeoutMs: entry.approvalTimeoutMs ?? DEFAULT_MCP_APPROVAL_TIMEOUT_MS,
    guardFailureMode: entry.guardFailureMode ?? "fail_open",
    refusal: entry.refusal ?? "jsonrpc_error",
    tools: Object.entries(entry.tools ?? {}).map(([pattern, metadata]) => ({ pattern, metadata })),
    ...(entry.sessionIdleTimeoutMs === undefined ? {} : { sessionIdleTimeoutMs: entry.sessionIdleTimeoutMs }),
    ...(entry.maxSessions === undefined ? {} : { maxSessions: entry.maxSessions }),
  };
}
