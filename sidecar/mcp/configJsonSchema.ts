import { z } from "zod";
import { McpConfigFileSchema } from "./configSchema";

/** The JSON Schema of apie.mcp.json, generated from the zod schema (esbuild.mjs writes it to media/schemas/). */
export function mcpConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(McpConfigFileSchema, { io: "input", unrepresentable: "any" }),
    title: "apie.mcp.json",
    description: "Apie for VS Code: the MCP proxy's upstream server(s), agent key and mode (`apie mcp proxy --config apie.mcp.json`).",
  };
}
