import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import type { z } from "zod";

/**
 * Positions for errors in the workspace's JSON config files (apie.policy.json, apie.mcp.json): every error
 * names the file, the line and column (1-based), the offset and length (for the editor's diagnostics) and the
 * field, found in jsonc-parser's syntax tree.
 */
export interface JsonFileError {
  file: string;
  line: number;
  column: number;
  offset: number;
  length: number;
  /** The field, as `guardrails[0].match["tool.name"].regex`; empty for the whole document. */
  field: string;
  message: string;
}

/** `file:line:column: field: message`, the form compilers use (terminals and editors link it). */
export function formatJsonFileError(e: JsonFileError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.field ? `${e.field}: ` : ""}${e.message}`;
}

export type Locate = (offset: number, length: number, field: string, message: string) => JsonFileError;

export function locator(text: string, file: string): Locate {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return (offset, length, field, message) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, column: offset - lineStarts[lo]! + 1, offset, length, field, message };
  };
}

/**
 * The syntax tree of a plain JSON file (no comments, no trailing commas), or the syntax errors. An empty file
 * is an error, not an empty document.
 */
export function parseJsonTree(text: string, locate: Locate): { root: Node; errors: [] } | { root: undefined; errors: JsonFileError[] } {
  const syntaxErrors: ParseError[] = [];
  const root = parseTree(text, syntaxErrors, { disallowComments: true, allowTrailingComma: false });
  if (syntaxErrors.length > 0 || root === undefined) {
    const errors = syntaxErrors.map((e) => locate(e.offset, e.length, "", `JSON syntax error: ${printParseErrorCode(e.error)}`));
    return { root: undefined, errors: errors.length > 0 ? errors : [locate(0, 0, "", "the file is empty")] };
  }
  return { root, errors: [] };
}

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment))) out += out === "" ? String(segment) : `.${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** JSON allows duplicate keys and keeps the last; in a config file that silently drops a setting, so it is an error. */
export function duplicateKeyErrors(root: Node, locate: Locate): JsonFileError[] {
  const errors: JsonFileError[] = [];
  const visit = (node: Node, path: (string | number)[]): void => {
    if (node.type === "object") {
      const seen = new Set<string>();
      for (const property of node.children ?? []) {
        const [keyNode, valueNode] = property.children ?? [];
        if (keyNode === undefined) continue;
        const key = String(keyNode.value);
        if (seen.has(key)) {
          errors.push(locate(keyNode.offset, keyNode.length, formatFieldPath([...path, key]), `duplicate key "${key}"`));
        }
        seen.add(key);
        if (valueNode) visit(valueNode, [...path, key]);
      }
    } else if (node.type === "array") {
      node.children?.forEach((child, i) => visit(child, [...path, i]));
    }
  };
  visit(root, []);
  return errors;
}

export interface SchemaIssueOptions {
  /** The message for an unknown key `key` in the object at `path` (did-you-mean goes here). */
  unknownKeyMessage(path: readonly (string | number)[], key: string): string;
  /**
   * For a failed union at `path`: the index of the branch whose errors to report, or a message for the
   * whole value. Default: the branch that got furthest (the most specific complaint).
   */
  unionBranch?(path: readonly (string | number)[], branches: readonly (readonly z.core.$ZodIssue[])[]): number | string | undefined;
}

/** One zod issue as positioned errors: unknown keys at the key, everything else at the value (or its parent). */
export function schemaIssueErrors(issue: z.core.$ZodIssue, root: Node, locate: Locate, options: SchemaIssueOptions): JsonFileError[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const keyNode = findNodeAtLocation(root, path)?.children?.find((p) => p.children?.[0]?.value === key)?.children?.[0];
      const message = options.unknownKeyMessage(path, key);
      const field = formatFieldPath([...path, key]);
      return keyNode ? locate(keyNode.offset, keyNode.length, field, message) : errorAtPath(root, path, message, locate);
    });
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const chosen = options.unionBranch?.(path, issue.errors);
    if (typeof chosen === "string") return [errorAtPath(root, path, chosen, locate)];
    // Report the branch that got furthest (the most specific complaint) rather than "Invalid input".
    const best = chosen !== undefined && issue.errors[chosen] !== undefined ? issue.errors[chosen] : issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (best.length > 0) return best.flatMap((inner) => schemaIssueErrors({ ...inner, path: [...issue.path, ...inner.path] }, root, locate, options));
  }
  return [errorAtPath(root, path, issue.message, locate)];
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 1)));
}

/** An error at `path`; a missing field is reported on the nearest enclosing node that exists. */
export function errorAtPath(root: Node, path: readonly (string | number)[], message: string, locate: Locate, field = formatFieldPath(path)): JsonFileError {
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n) as (string | number)[]);
    if (node) return locate(node.offset, node.length, field, message);
  }
  return locate(0, 0, field, message);
}

/** The key node of property `key` in the object at `path`, if both exist. */
export function keyNodeAt(root: Node, path: readonly (string | number)[], key: string): Node | undefined {
  return findNodeAtLocation(root, path as (string | number)[])
    ?.children?.find((p) => p.children?.[0]?.value === key)
    ?.children?.[0];
}

export function sortByPosition<E extends JsonFileError>(errors: E[]): E[] {
  return errors.sort((a, b) => a.offset - b.offset);
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
