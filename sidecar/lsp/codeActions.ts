import { findNodeAtOffset, getNodePath, modify, parseTree, type Node } from "jsonc-parser";

/** A replacement in the document, by offset (UTF-16) and length. */
export interface TextChange {
  offset: number;
  length: number;
  newText: string;
}

export interface QuickFix {
  title: string;
  changes: TextChange[];
}

/** The diagnostic a fix is asked for, as offset/length in the current text. */
export interface ProblemSpan {
  offset: number;
  length: number;
  message: string;
}

const DID_YOU_MEAN = /did you mean "([^"]+)"\?/;

/**
 * The obvious fixes for one of our diagnostics, computed from the document as it is now (not from data
 * stored in the diagnostic, so it works with any client):
 * - an unknown key whose message suggests another (`did you mean "prod-deploys"?`, as both loaders word it)
 *   → rename the key, unless the suggested key is already there;
 * - apie.mcp.json's legacy `"releaseMode": "guard"` → `"mode": "enforce"` (an existing `mode` is set to
 *   enforce and releaseMode removed).
 */
export function quickFixesFor(text: string, problem: ProblemSpan): QuickFix[] {
  const root = parseTree(text, [], { disallowComments: true, allowTrailingComma: false });
  if (root === undefined) return [];
  const node = findNodeAtOffset(root, problem.offset, false);
  // The diagnostic must still cover exactly one node: a stale one (text edited since) gets no fix.
  if (node === undefined || node.offset !== problem.offset || node.length !== problem.length) return [];
  const fixes: QuickFix[] = [];
  const rename = renameUnknownKey(node, problem);
  if (rename) fixes.push(rename);
  const legacy = releaseModeGuard(text, node);
  if (legacy) fixes.push(legacy);
  return fixes;
}

function renameUnknownKey(node: Node, problem: ProblemSpan): QuickFix | undefined {
  const suggestion = DID_YOU_MEAN.exec(problem.message)?.[1];
  const property = node.parent;
  if (suggestion === undefined || property?.type !== "property" || property.children?.[0] !== node) return undefined;
  const siblings = property.parent?.children ?? [];
  if (siblings.some((p) => p.children?.[0]?.value === suggestion)) return undefined;
  return { title: `Change to "${suggestion}"`, changes: [{ offset: node.offset, length: node.length, newText: JSON.stringify(suggestion) }] };
}

function releaseModeGuard(text: string, node: Node): QuickFix | undefined {
  const property = node.parent;
  if (node.type !== "string" || node.value !== "guard" || property?.type !== "property") return undefined;
  if (property.children?.[0]?.value !== "releaseMode" || property.children[1] !== node) return undefined;
  const title = 'Replace with "mode": "enforce"';
  const mode = property.parent?.children?.find((p) => p.children?.[0]?.value === "mode")?.children?.[1];
  if (mode === undefined) {
    return { title, changes: [{ offset: property.offset, length: property.length, newText: '"mode": "enforce"' }] };
  }
  // `mode` is there too: set it, and remove releaseMode with its comma (jsonc-parser's edit). The two spans
  // never overlap: the removal stops at the neighbouring property's key or starts after its value.
  const removal = modify(text, getNodePath(node), undefined, {});
  const changes: TextChange[] = removal.map((e) => ({ offset: e.offset, length: e.length, newText: e.content }));
  if (mode.value !== "enforce") changes.push({ offset: mode.offset, length: mode.length, newText: '"enforce"' });
  return { title, changes };
}
