/**
 * What a coding agent's tool does, in the guard's words (issue 12 contract, item 4). Each host names its
 * tools its own way; its dialect maps every name it knows to one of these categories, and the category gives
 * the guard request its action, resource and risk. MCP tools and names no table knows carry none of the
 * three: the engine infers them from the tool name and arguments, as for any SDK agent that says nothing.
 */

export type ToolCategory = "shell" | "read" | "write" | "fetch" | "agent" | "mcp" | "other";

export interface CategoryFacts {
  action: string;
  resource: string;
  risk: "low" | "medium" | "high";
}

export const CATEGORY_FACTS: Readonly<Record<ToolCategory, CategoryFacts | undefined>> = {
  shell: { action: "execute", resource: "shell_command", risk: "high" },
  read: { action: "read", resource: "file", risk: "low" },
  write: { action: "update", resource: "file", risk: "medium" },
  fetch: { action: "read", resource: "http_request", risk: "medium" },
  agent: { action: "execute", resource: "agent", risk: "low" },
  mcp: undefined,
  other: undefined,
};

/** A host's tool table: its own tool name → category. A name not in it is `other` (engine inference). */
export type ToolVocabulary = Readonly<Record<string, ToolCategory>>;

/**
 * An MCP tool as the hosts name it: `mcp__<server>__<tool>` (Claude Code, Codex, Gemini CLI; a plugin's
 * server is `plugin_<plugin>_<server>`) or Cursor's `MCP:<name>`. Sent as provider `mcp`, name
 * `<server>.<tool>` — the name the MCP proxy gives the same tool, so one guardrail covers both paths.
 */
export function mcpToolName(toolName: string): string | undefined {
  if (toolName.startsWith("mcp__")) {
    const rest = toolName.slice("mcp__".length);
    const split = rest.indexOf("__");
    if (split <= 0 || split === rest.length - 2) return undefined;
    return `${rest.slice(0, split)}.${rest.slice(split + 2)}`;
  }
  if (toolName.startsWith("MCP:") && toolName.length > 4) return toolName.slice(4);
  return undefined;
}
