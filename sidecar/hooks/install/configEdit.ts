import { applyEdits, getLocation, modify, parse, printParseErrorCode, type JSONPath, type ParseError } from "jsonc-parser";
import type { HookHost } from "../hosts";
import { isOurCommand } from "./hookCommand";
import { appendMember, removeMember, type TextFormat } from "./jsonEdits";
import { FORMATS, HOOK_EVENT_KINDS, type ConfigFormat, type HandlerSpec, type HookEvent } from "./hostConfigs";

/**
 * Text edits of one host hook file, in place with jsonc-parser: the user's other hooks (Rampart's, their
 * own), comments, key order and indentation stay as they were; only our entries change. Pure functions on
 * the file's text (the caller reads and writes it), so every host's case is a unit test.
 *
 * "Ours" = a handler whose command holds the launcher's name and `--host H` (isOurCommand). In the nested
 * formats (Claude, Codex, Gemini) we add a matcher group of our own; a group is removed when removing our
 * handler leaves it without handlers, and an event's list when it leaves it empty.
 */

/** A hook file we cannot edit safely (it does not parse, or a field has an unexpected type): never rewritten. */
export class HookConfigError extends Error {}

export interface EventEntries {
  /** The host's event name, and which of our commands runs for it. */
  event: string;
  kind: HookEvent;
  handlers: Array<{ command: string; timeout: unknown }>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function formattingOf(text: string): TextFormat {
  const indent = /^([ \t]+)["}\]]/m.exec(text)?.[1];
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  if (indent?.startsWith("\t")) return { insertSpaces: false, tabSize: 4, eol };
  return { insertSpaces: true, tabSize: indent === undefined ? 2 : Math.min(indent.length, 8), eol };
}

/** Parses the file (comments and trailing commas allowed, as the hosts accept) and checks the shape we edit. */
export function parseHookFile(text: string, file: string): Json {
  const errors: ParseError[] = [];
  const doc: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const e = errors[0]!;
    const before = text.slice(0, e.offset).split("\n");
    throw new HookConfigError(`${file}:${before.length}:${before.at(-1)!.length + 1}: ${printParseErrorCode(e.error)}; fix the file first (it was not changed)`);
  }
  if (text.trim() === "") return {};
  if (!isObject(doc)) throw new HookConfigError(`${file}: expected a JSON object at the top level (the file was not changed)`);
  if (doc.hooks !== undefined && !isObject(doc.hooks)) throw new HookConfigError(`${file}: "hooks" is not an object (the file was not changed)`);
  for (const [event, list] of Object.entries((doc.hooks as Json | undefined) ?? {})) {
    if (!Array.isArray(list)) throw new HookConfigError(`${file}: "hooks.${event}" is not a list (the file was not changed)`);
  }
  return doc;
}

/** Where our handlers sit in one event's list: `[index]` (flat) or `[group, "hooks", index]` (nested). */
function ourHandlerPaths(list: unknown[], format: ConfigFormat, host: HookHost): Array<{ at: JSONPath; handler: Json }> {
  const spec = FORMATS[format];
  const ours = (h: unknown): h is Json => isObject(h) && spec.commandFields.some((f) => isOurCommand(h[f], host));
  const found: Array<{ at: JSONPath; handler: Json }> = [];
  list.forEach((item, i) => {
    if (spec.matcher === undefined) {
      if (ours(item)) found.push({ at: [i], handler: item });
    } else if (isObject(item) && Array.isArray(item.hooks)) {
      item.hooks.forEach((h, j) => ours(h) && found.push({ at: [i, "hooks", j], handler: h }));
    } else if (ours(item)) {
      found.push({ at: [i], handler: item }); // a handler put directly under the event by hand
    }
  });
  return found;
}

function commandOf(handler: Json, format: ConfigFormat): string {
  const field = FORMATS[format].commandFields.find((f) => typeof handler[f] === "string");
  return field === undefined ? "" : (handler[field] as string);
}

/** Our handlers in a parsed file, per event of the host's table. */
export function findOurEntries(doc: Json, format: ConfigFormat, host: HookHost, events: Readonly<Record<HookEvent, readonly string[]>>): EventEntries[] {
  const hooks = isObject(doc.hooks) ? doc.hooks : {};
  return HOOK_EVENT_KINDS.flatMap((kind) =>
    events[kind].map((event) => {
      const list = hooks[event];
      const found = Array.isArray(list) ? ourHandlerPaths(list, format, host) : [];
      return { event, kind, handlers: found.map(({ handler }) => ({ command: commandOf(handler, format), timeout: handler[FORMATS[format].timeout.field] })) };
    }),
  );
}

class TextEditor {
  readonly format: TextFormat;
  constructor(
    public text: string,
    private readonly file: string,
  ) {
    this.format = formattingOf(text);
  }

  get doc(): Json {
    return parseHookFile(this.text, this.file);
  }

  /** Replaces the value at an existing path. */
  replace(at: JSONPath, value: unknown): void {
    this.text = applyEdits(this.text, modify(this.text, at, value, { formattingOptions: this.format }));
  }

  /** Adds `entry` to the event's list, creating the list (and `hooks`) when missing. */
  add(event: string, entry: unknown): void {
    const doc = this.doc;
    if (doc.hooks === undefined) this.text = appendMember(this.text, [], "hooks", { [event]: [entry] }, this.format);
    else if ((doc.hooks as Json)[event] === undefined) this.text = appendMember(this.text, ["hooks"], event, [entry], this.format);
    else this.text = appendMember(this.text, ["hooks", event], undefined, entry, this.format);
  }

  /**
   * Removes one handler (`["hooks", event, i]` flat, `["hooks", event, group, "hooks", i]` nested) and what
   * that leaves empty: its group, the event's list, `hooks`.
   */
  removeHandler(at: JSONPath): void {
    const emptyAt = (p: JSONPath) => {
      const v = valueAt(this.doc, p);
      return Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0;
    };
    this.text = removeMember(this.text, at);
    if (at.length === 5 && emptyAt([...at.slice(0, 3), "hooks"])) this.text = removeMember(this.text, at.slice(0, 3));
    if (emptyAt(at.slice(0, 2))) this.text = removeMember(this.text, at.slice(0, 2));
    if (emptyAt(["hooks"])) this.text = removeMember(this.text, ["hooks"]);
  }
}

function valueAt(doc: unknown, at: JSONPath): unknown {
  let v: unknown = doc;
  for (const key of at) v = Array.isArray(v) ? v[key as number] : isObject(v) ? v[key as string] : undefined;
  return v;
}

/**
 * Makes the file hold exactly one handler of ours per event of `events`, equal to `handlerFor(kind)`: added
 * when missing, rewritten in place when it differs (a new timeout), duplicates removed. Idempotent: when
 * everything is already as wanted the text comes back unchanged, byte for byte.
 */
export function installHookEntries(
  text: string | undefined,
  file: string,
  format: ConfigFormat,
  host: HookHost,
  events: Readonly<Record<HookEvent, readonly string[]>>,
  handlerFor: (kind: HookEvent) => HandlerSpec,
): string {
  const spec = FORMATS[format];
  const editor = new TextEditor(text ?? `${JSON.stringify(spec.newFile, null, 2)}\n`, file);
  editor.doc; // a file we cannot parse is refused before any edit
  for (const kind of HOOK_EVENT_KINDS) {
    const handler = spec.handler(handlerFor(kind));
    for (const event of events[kind]) {
      const list = (editor.doc.hooks as Json | undefined)?.[event] as unknown[] | undefined;
      const found = list === undefined ? [] : ourHandlerPaths(list, format, host);
      if (found.length === 0) {
        editor.add(event, spec.matcher === undefined ? handler : { matcher: spec.matcher, hooks: [handler] });
        continue;
      }
      // Duplicates first, from the last, so the first one's path stays valid.
      for (const extra of found.slice(1).reverse()) editor.removeHandler(["hooks", event, ...extra.at]);
      const first = found[0]!;
      if (JSON.stringify(first.handler) !== JSON.stringify(handler)) editor.replace(["hooks", event, ...first.at], handler);
    }
  }
  return editor.text;
}

/**
 * Removes every handler of ours for `host` from every event of the file (also events the table no longer
 * lists), with the groups and lists that leaves empty, and `hooks` itself when that leaves it empty.
 * Returns the text and whether anything but the format's own top-level fields is left.
 */
export function removeHookEntries(text: string, file: string, format: ConfigFormat, host: HookHost): { text: string; removed: number; leftover: boolean } {
  const editor = new TextEditor(text, file);
  let removed = 0;
  for (;;) {
    const hooks = (editor.doc.hooks as Json | undefined) ?? {};
    const next = Object.entries(hooks).flatMap(([event, list]) => ourHandlerPaths(list as unknown[], format, host).map((f) => ["hooks", event, ...f.at] as JSONPath))[0];
    if (next === undefined) break;
    editor.removeHandler(next);
    removed++;
  }
  const rest = Object.keys(editor.doc).filter((k) => !(k in FORMATS[format].newFile));
  // Comments left behind count as the user's content too.
  const hasComments = /\/\/|\/\*/.test(stripStrings(editor.text));
  return { text: editor.text, removed, leftover: rest.length > 0 || hasComments };
}

function stripStrings(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** For tests and diagnostics: the JSON path at an offset. */
export const pathAt = (text: string, offset: number): JSONPath => getLocation(text, offset).path;
