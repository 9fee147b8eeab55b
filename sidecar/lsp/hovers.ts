import { findNodeAtOffset, getNodePath, parseTree, type Node } from "jsonc-parser";
import type { z } from "zod";
import { PolicySchema } from "../guard/policySchema";
import { TEMPLATE_CATALOG } from "../guard/templateCatalog";
import { McpConfigFileSchema } from "../mcp/configSchema";
import type { ConfigFileKind } from "./configFiles";
import { describeAt } from "./schemaDocs";

/** A hover's Markdown and the span it is about (offset/length in the document). */
export interface HoverInfo {
  markdown: string;
  offset: number;
  length: number;
}

const SCHEMAS: Record<ConfigFileKind, z.ZodType> = { policy: PolicySchema, mcp: McpConfigFileSchema };

/**
 * What to show at `offset`: over a template key in apie.policy.json (`templates.prod-deploys`, key or value),
 * the template's name, default decision and what it matches (TEMPLATE_CATALOG); over any other field name,
 * the schema's description of that field.
 */
export function hoverAt(kind: ConfigFileKind, text: string, offset: number): HoverInfo | undefined {
  const root = parseTree(text, [], { disallowComments: true, allowTrailingComma: false });
  if (root === undefined) return undefined;
  const node = findNodeAtOffset(root, offset, true);
  const property = propertyOf(node);
  if (node === undefined || property === undefined) return undefined;
  const keyNode = property.children?.[0];
  if (keyNode === undefined) return undefined;
  const path = getNodePath(keyNode);
  const onKey = node === keyNode;

  if (kind === "policy" && path.length === 2 && path[0] === "templates" && (onKey || isScalar(node))) {
    const template = TEMPLATE_CATALOG.find((t) => t.key === path[1]);
    if (template !== undefined) {
      return {
        markdown: `**${template.name}** (\`${template.key}\`)\n\nDefault decision: \`${template.defaultDecision}\`\n\n${template.description}`,
        offset: node.offset,
        length: node.length,
      };
    }
  }
  if (!onKey) return undefined;
  const description = describeAt(SCHEMAS[kind], path);
  if (description === undefined) return undefined;
  return { markdown: `\`${String(path.at(-1))}\`: ${description}`, offset: keyNode.offset, length: keyNode.length };
}

function isScalar(node: Node): boolean {
  return node.type !== "object" && node.type !== "array";
}

/** The property a key or a scalar value belongs to. */
function propertyOf(node: Node | undefined): Node | undefined {
  if (node === undefined) return undefined;
  if (node.parent?.type === "property") return node.parent;
  return undefined;
}
