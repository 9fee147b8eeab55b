import { getNodePath, parseTree, type Node } from "jsonc-parser";
import { formatFieldPath, locator, type JsonFileError } from "../guard/jsonDocument";

const FLAGS = /^[imsu]*$/;

/**
 * Every `regex` matcher under `guardrails` that JavaScript cannot compile, with the matcher's `flags`. The
 * loader stops at the first compile error (and compiles nothing while the schema has errors); the editor
 * shows them all at once. Same message as the loader's, so the two dedupe.
 */
export function invalidRegexErrors(text: string, file: string): JsonFileError[] {
  const root = parseTree(text, [], { disallowComments: true, allowTrailingComma: false });
  const guardrails = root?.children?.find((p) => p.children?.[0]?.value === "guardrails")?.children?.[1];
  if (guardrails === undefined) return [];
  const locate = locator(text, file);
  const errors: JsonFileError[] = [];
  const visit = (node: Node): void => {
    if (node.type === "object") {
      const regex = valueOf(node, "regex");
      const flags = valueOf(node, "flags");
      if (regex?.type === "string") {
        const flagText = flags?.type === "string" && typeof flags.value === "string" && FLAGS.test(flags.value) ? flags.value : "";
        try {
          new RegExp(String(regex.value), flagText);
        } catch (error) {
          errors.push(locate(regex.offset, regex.length, formatFieldPath(getNodePath(regex)), `invalid regex ${JSON.stringify(regex.value)}: ${(error as Error).message}`));
        }
      }
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit(guardrails);
  return errors;
}

function valueOf(object: Node, key: string): Node | undefined {
  return object.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];
}
