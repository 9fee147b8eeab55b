import type { McpServerConfig, ToolMetadata } from "./configSchema";
import { compileToolPattern } from "./configLoader";

/**
 * The `tools` section of apie.mcp.json as a lookup: the first pattern (exact name or glob, in file order)
 * that matches an upstream tool's name gives its metadata. No match → undefined, and the sidecar infers
 * action, resource and risk from the tool's name, definition and arguments. Results are memoized per name
 * (a server has a handful of tools, called over and over).
 */
export class ToolMetadataTable {
  private readonly entries: { matches: (name: string) => boolean; metadata: ToolMetadata }[];
  private readonly cache = new Map<string, ToolMetadata | null>();

  constructor(tools: McpServerConfig["tools"]) {
    this.entries = tools.map(({ pattern, metadata }) => ({ matches: compileToolPattern(pattern), metadata }));
  }

  /** Metadata for the upstream tool `name` (without the server namespace). */
  lookup(name: string): ToolMetadata | undefined {
    let hit = this.cache.get(name);
    if (hit === undefined) {
      hit = this.entries.find((e) => e.matches(name))?.metadata ?? null;
      if (this.cache.size < 10_000) this.cache.set(name, hit);
    }
    return hit ?? undefined;
  }
}
