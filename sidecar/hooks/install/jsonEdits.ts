import { applyEdits, createScanner, findNodeAtLocation, modify, parseTree, type Edit, type FormattingOptions, type JSONPath, type Node } from "jsonc-parser";

/**
 * Adding and removing one member of a JSON object or array in a JSONC text, so that install followed by
 * uninstall gives back the user's file byte for byte. jsonc-parser's `modify` does the rest (values, empty
 * containers), but its insertions land before a trailing line comment (`{…} // rampart` would then
 * annotate our entry) and its removals take the comment on the removed member's line with them and
 * re-format the container. Here a new member goes after the last one's trailing comment, and a removed
 * member takes exactly its own lines and separating comma.
 */

export interface TextFormat extends FormattingOptions {
  eol: string;
  tabSize: number;
}

/** jsonc-parser's SyntaxKind is a `const enum`, which isolatedModules cannot read: its two values used here. */
const COMMA_TOKEN = 5;
const EOF_TOKEN = 17;

function unit(format: TextFormat): string {
  return format.insertSpaces ? " ".repeat(format.tabSize) : "\t";
}

function tree(text: string): Node {
  const root = parseTree(text, [], { allowTrailingComma: true });
  if (root === undefined) throw new Error("not JSON");
  return root;
}

/** The offset of the first comma token in [from, to), skipping comments; undefined when there is none. */
function commaBetween(text: string, from: number, to: number): number | undefined {
  const scanner = createScanner(text, false);
  scanner.setPosition(from);
  for (let kind = scanner.scan(); kind !== EOF_TOKEN && scanner.getTokenOffset() < to; kind = scanner.scan()) {
    if (kind === COMMA_TOKEN) return scanner.getTokenOffset();
  }
  return undefined;
}

const lineStartOf = (text: string, offset: number) => text.lastIndexOf("\n", offset - 1) + 1;
function lineEndOf(text: string, offset: number): number {
  const end = text.indexOf("\n", offset);
  const at = end === -1 ? text.length : end;
  return text[at - 1] === "\r" ? at - 1 : at;
}
const startsItsLine = (text: string, offset: number) => /^[ \t]*$/.test(text.slice(lineStartOf(text, offset), offset));
const indentOf = (text: string, offset: number) => /^[ \t]*/.exec(text.slice(lineStartOf(text, offset)))![0];

/** The member node (property for an object, value for an array) at `at`. */
function memberAt(root: Node, at: JSONPath): Node | undefined {
  const value = findNodeAtLocation(root, at);
  return value?.parent?.type === "property" ? value.parent : value;
}

/**
 * Appends a member to the object or array at `container`: `key` for an object, undefined for an array.
 * An empty container is left to jsonc-parser (nothing to keep there).
 */
export function appendMember(text: string, container: JSONPath, key: string | undefined, value: unknown, format: TextFormat): string {
  const node = findNodeAtLocation(tree(text), container);
  if (node === undefined) throw new Error(`no ${container.join(".")}`);
  const last = node.children?.at(-1);
  if (last === undefined) return applyEdits(text, modify(text, [...container, key ?? -1], value, { formattingOptions: format }));
  const lastEnd = last.offset + last.length;
  const containerEnd = node.offset + node.length - 1;
  const trailingComma = commaBetween(text, lastEnd, containerEnd);
  const after = trailingComma === undefined ? lastEnd : trailingComma + 1;
  // A comment closing the last member's line stays with it.
  const lineEnd = lineEndOf(text, after);
  const at = /^[ \t]*(\/\/.*|\/\*.*\*\/[ \t]*)$/.test(text.slice(after, lineEnd)) ? lineEnd : after;
  const indent = startsItsLine(text, last.offset) ? indentOf(text, last.offset) : indentOf(text, node.offset) + unit(format);
  const body = JSON.stringify(value, null, unit(format)).split("\n").join(`${format.eol}${indent}`);
  const member = `${format.eol}${indent}${key === undefined ? "" : `${JSON.stringify(key)}: `}${body}`;
  const edits: Edit[] = trailingComma === undefined ? [{ offset: lastEnd, length: 0, content: "," }] : [];
  if (at === lastEnd && edits.length > 0) edits[0]!.content += member;
  else edits.push({ offset: at, length: 0, content: member });
  return applyEdits(text, edits);
}

/** Removes the member at `at` with its own line(s) and one separating comma, nothing else. */
export function removeMember(text: string, at: JSONPath): string {
  const root = tree(text);
  const member = memberAt(root, at);
  const container = member?.parent;
  if (member === undefined || container === undefined) return text;
  const siblings = container.children ?? [];
  const index = siblings.indexOf(member);
  const prev = siblings[index - 1];
  const next = siblings[index + 1];
  let start = member.offset;
  let end = member.offset + member.length;
  if (startsItsLine(text, start)) {
    start = lineStartOf(text, start);
    if (start > 0) start -= text[start - 2] === "\r" ? 2 : 1; // the line break before it
  }
  const edits: Edit[] = [];
  if (next !== undefined) {
    const comma = commaBetween(text, end, next.offset);
    if (comma !== undefined) end = comma + 1;
  } else if (prev !== undefined) {
    const comma = commaBetween(text, prev.offset + prev.length, member.offset);
    if (comma !== undefined && comma < start) edits.push({ offset: comma, length: 1, content: "" });
    else if (comma !== undefined) start = comma;
    // a trailing comma after the removed last member goes with it
    const trailing = commaBetween(text, end, container.offset + container.length - 1);
    if (trailing !== undefined) end = trailing + 1;
  } else {
    const trailing = commaBetween(text, end, container.offset + container.length - 1);
    if (trailing !== undefined) end = trailing + 1;
  }
  edits.push({ offset: start, length: end - start, content: "" });
  return applyEdits(text, edits);
}
