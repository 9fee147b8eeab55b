import { McpConfigFileSchema, type McpServerConfig, type Upstream } from "./configSchema";
import { formatMcpConfigError, loadMcpConfigFile } from "./configLoader";
import { resolveServerConfig } from "./resolveConfig";

/**
 * The server the proxy runs, from apie.mcp.json (`loadMcpConfigFile`: every error names file, line,
 * column and field). An upstream given on the command line replaces the file's, and makes a file without
 * one valid. Throws an Error listing every problem (the CLI prints it and exits 1).
 */
export async function loadProxyConfig(file: string, server: string | undefined, upstream: Upstream | undefined): Promise<McpServerConfig> {
  const result = await loadMcpConfigFile(file, { server, selectOne: true });
  if (result.ok) return upstream === undefined ? result.servers[0]! : { ...result.servers[0]!, upstream };
  if (upstream !== undefined && result.errors.every(isMissingUpstream)) {
    // Only the upstream is missing and the flags give one: the document is otherwise valid.
    const document = McpConfigFileSchema.parse(JSON.parse(result.text));
    return resolveServerConfig({ ...document, upstream }, server);
  }
  throw new Error(`invalid ${file}:\n${result.errors.map((e) => `  ${formatMcpConfigError(e)}`).join("\n")}`);
}

function isMissingUpstream(error: { field: string; message: string }): boolean {
  return /(^|\.)upstream$/.test(error.field) && error.message.startsWith("required");
}
