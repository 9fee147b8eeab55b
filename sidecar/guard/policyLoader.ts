import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import type { z } from "zod";
import { compilePolicy, PolicyCompileError, type CompiledPolicy } from "./compile";
import { PolicySchema, type PolicyDocument } from "./policySchema";
import { TEMPLATE_KEYS } from "./templateCatalog";

/**
 * Reads apie.policy.json text into a compiled policy, or into errors that each name the file, the line and
 * column, and the field. Positions come from jsonc-parser's syntax tree, so the same errors serve the CLI and
 * the editor's diagnostics (offset/length).
 */
export interface PolicyError {
  file: string;
  line: number;
  column: number;
  offset: number;
  length: number;
  /** The field, as `guardrails[0].match["tool.name"].regex`; empty for the whole document. */
  field: string;
  message: string;
}

export type PolicyLoadResult =
  | { ok: true; policy: CompiledPolicy; document: PolicyDocument }
  | { ok: false; errors: PolicyError[] };

export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.field ? `${e.field}: ` : ""}${e.message}`;
}

export function loadPolicy(text: string, file = "apie.policy.json"): PolicyLoadResult {
  const locate = locator(text, file);
  const syntaxErrors: ParseError[] = [];
  const root = parseTree(text, syntaxErrors, { disallowComments: true, allowTrailingComma: false });
  if (syntaxErrors.length > 0 || root === undefined) {
    const errors = syntaxErrors.map((e) => locate(e.offset, e.length, "", `JSON syntax error: ${printParseErrorCode(e.error)}`));
    return { ok: false, errors: errors.length > 0 ? errors : [locate(0, 0, "", "the file is empty")] };
  }
  const errors = duplicateKeyErrors(root, locate);
  const parsed = PolicySchema.safeParse(getNodeValue(root));
  if (!parsed.success) {
    errors.push(...parsed.error.issues.flatMap((issue) => schemaIssueErrors(issue, root, locate)));
  } else {
    errors.push(...guardrailKeyCollisions(parsed.data, root, locate));
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors: sortByPosition(errors) };
  try {
    return { ok: true, policy: compilePolicy(parsed.data), document: parsed.data };
  } catch (error) {
    if (!(error instanceof PolicyCompileError)) throw error;
    return { ok: false, errors: [errorAtPath(root, error.path, error.message, locate)] };
  }
}

type Locate = (offset: number, length: number, field: string, message: string) => PolicyError;

function locator(text: string, file: string): Locate {
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

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment))) out += out === "" ? String(segment) : `.${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** JSON allows duplicate keys and keeps the last; in a policy that silently drops a rule, so it is an error. */
function duplicateKeyErrors(root: Node, locate: Locate): PolicyError[] {
  const errors: PolicyError[] = [];
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

function schemaIssueErrors(issue: z.core.$ZodIssue, root: Node, locate: Locate): PolicyError[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const keyNode = findNodeAtLocation(root, path)?.children?.find((p) => p.children?.[0]?.value === key)?.children?.[0];
      const message = unknownKeyMessage(path, key);
      const field = formatFieldPath([...path, key]);
      return keyNode ? locate(keyNode.offset, keyNode.length, field, message) : errorAtPath(root, path, message, locate);
    });
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    // Report the branch that got furthest (the most specific complaint) rather than "Invalid input".
    const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (best.length > 0) return best.flatMap((inner) => schemaIssueErrors({ ...inner, path: [...issue.path, ...inner.path] }, root, locate));
  }
  return [errorAtPath(root, path, issue.message, locate)];
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 1)));
}

function unknownKeyMessage(path: readonly (string | number)[], key: string): string {
  if (path.length === 1 && path[0] === "templates") {
    const suggestion = closest(key, TEMPLATE_KEYS);
    return `unknown template key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ""} (known: ${TEMPLATE_KEYS.join(", ")})`;
  }
  return `unknown field "${key}"`;
}

function guardrailKeyCollisions(doc: PolicyDocument, root: Node, locate: Locate): PolicyError[] {
  const errors: PolicyError[] = [];
  const seen = new Set<string>(TEMPLATE_KEYS);
  doc.guardrails?.forEach((g, i) => {
    if (seen.has(g.key)) {
      const what = (TEMPLATE_KEYS as readonly string[]).includes(g.key) ? "a template" : "another guardrail";
      errors.push(errorAtPath(root, ["guardrails", i, "key"], `duplicate guardrail key "${g.key}" (already used by ${what})`, locate));
    }
    seen.add(g.key);
  });
  return errors;
}

function errorAtPath(root: Node, path: readonly (string | number)[], message: string, locate: Locate): PolicyError {
  // Walk up until a node exists (a missing field is reported on the object that should hold it).
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n) as (string | number)[]);
    if (node) return locate(node.offset, node.length, formatFieldPath(path), message);
  }
  return locate(0, 0, formatFieldPath(path), message);
}

function sortByPosition(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => a.offset - b.offset);
}

function closest(word: string, candidates: readonly string[]): string | undefined {
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

function editDistance(a: string, b: string): number {
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
