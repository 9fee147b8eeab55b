import { findNodeAtLocation, parseTree, type Node } from "jsonc-parser";

/**
 * Where a guardrail is defined in apie.policy.json: the `templates.<key>` member for a template, or the
 * `guardrails[i]` object whose `key` matches. Returns the offset of its property name / object start, or
 * undefined when the text does not define it (e.g. a boundary warning, or the policy changed since).
 */
export function guardrailOffset(policyText: string, key: string): number | undefined {
  const root = parseTree(policyText);
  if (root === undefined) return undefined;
  const template = findNodeAtLocation(root, ["templates", key]);
  if (template?.parent?.type === "property") return template.parent.offset;
  const guardrails = findNodeAtLocation(root, ["guardrails"]);
  for (const item of guardrails?.children ?? []) {
    const keyNode: Node | undefined = findNodeAtLocation(item, ["key"]);
    if (keyNode?.value === key) return item.offset;
  }
  return undefined;
}
