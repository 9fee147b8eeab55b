import { getNodeValue, type Node } from "jsonc-parser";
import { compilePolicy, PolicyCompileError, type CompiledPolicy } from "./compile";
import {
  closest,
  duplicateKeyErrors,
  errorAtPath,
  formatJsonFileError,
  locator,
  parseJsonTree,
  schemaIssueErrors,
  sortByPosition,
  type JsonFileError,
  type Locate,
} from "./jsonDocument";
import { PolicySchema, type PolicyDocument } from "./policySchema";
import { TEMPLATE_KEYS } from "./templateCatalog";

export { formatFieldPath } from "./jsonDocument";

/**
 * Reads apie.policy.json text into a compiled policy, or into errors that each name the file, the line and
 * column, and the field. Positions come from jsonc-parser's syntax tree (jsonDocument.ts), so the same errors
 * serve the CLI and the editor's diagnostics (offset/length).
 */
export type PolicyError = JsonFileError;

export type PolicyLoadResult =
  | { ok: true; policy: CompiledPolicy; document: PolicyDocument }
  | { ok: false; errors: PolicyError[] };

export const formatPolicyError: (e: PolicyError) => string = formatJsonFileError;

export function loadPolicy(text: string, file = "apie.policy.json"): PolicyLoadResult {
  const locate = locator(text, file);
  const { root, errors: syntaxErrors } = parseJsonTree(text, locate);
  if (root === undefined) return { ok: false, errors: syntaxErrors };
  const errors = duplicateKeyErrors(root, locate);
  const parsed = PolicySchema.safeParse(getNodeValue(root));
  if (!parsed.success) {
    errors.push(...parsed.error.issues.flatMap((issue) => schemaIssueErrors(issue, root, locate, { unknownKeyMessage })));
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
