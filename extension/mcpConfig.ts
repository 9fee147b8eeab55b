/**
 * The apie.mcp.json loader (with zod and the schemas), bundled on its own (dist/mcpConfig.js) and required
 * the first time VS Code asks for MCP server definitions — never during activation.
 */
export { loadMcpConfigFile } from "../sidecar/mcp/configLoader";
