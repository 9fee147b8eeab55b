import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ToolDefinition } from "../sdk/types";
import type { ApieLogger } from "../sdk/types";
import type { Connection } from "./sidecarLink";
import type { ToolMetadataTable } from "./toolMetadata";

/**
 * What the proxy learns from the upstream's `tools/list` answers (which it forwards unchanged, never
 * waiting on anything here):
 * - every tool is defined with the sidecar (`tools.define`: `serverName.toolName`, provider `mcp`,
 *   description, inputSchema, riskLevel from apie.mcp.json else "medium", action/resource types from the
 *   tool's metadata) so drift reports and `require_approval_unknown_mcp_tools` know it. A definition is sent
 *   again only when it changed, and the last list is defined on connect when the sidecar was away;
 * - which tools declare an `outputSchema` (a refusal as a tool result then carries no structuredContent).
 */
export class ToolCatalog {
  private readonly withOutputSchema = new Set<string>();
  private readonly latest = new Map<string, ToolDefinition>();
  private readonly sent = new Map<string, string>();
  private connection: Connection | undefined;
  private warned = false;

  constructor(
    private readonly serverName: string,
    private readonly metadata: ToolMetadataTable,
    private readonly logger: ApieLogger,
  ) {}

  /** The result of one `tools/list` (any shape: it is the upstream's, forwarded as is). */
  listed(result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools as Partial<Tool>[]) {
      if (typeof tool?.name !== "string") continue;
      if (tool.outputSchema !== undefined) this.withOutputSchema.add(tool.name);
      else this.withOutputSchema.delete(tool.name);
      this.latest.set(tool.name, this.definition(tool as Tool));
    }
    this.defineChanged();
  }

  hasOutputSchema(toolName: string): boolean {
    return this.withOutputSchema.has(toolName);
  }

  /** The sidecar is reachable: definitions go there from now on (and the ones listed so far, now). */
  connected(connection: Connection): void {
    this.connection = connection;
    this.defineChanged();
  }

  private definition(tool: Tool): ToolDefinition {
    const meta = this.metadata.lookup(tool.name);
    return {
      name: `${this.serverName}.${tool.name}`,
      provider: "mcp",
      description: tool.description,
      inputSchema: tool.inputSchema as Record<string, unknown> | undefined,
      riskLevel: meta?.riskLevel ?? "medium",
      actionTypes: meta?.action ? [meta.action.type] : undefined,
      resourceTypes: meta?.resource ? [meta.resource.type] : undefined,
    };
  }

  private defineChanged(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    for (const [name, definition] of this.latest) {
      const text = JSON.stringify(definition);
      if (this.sent.get(name) === text) continue;
      this.sent.set(name, text);
      connection.apie.tools.define(definition).catch((error: unknown) => {
        this.sent.delete(name);
        if (this.warned) return;
        this.warned = true;
        this.logger.warn(`could not define the tools with the sidecar: ${(error as Error).message}`);
      });
    }
  }
}
