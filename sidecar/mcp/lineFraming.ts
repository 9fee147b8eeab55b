import {
  JSONRPCErrorResponseSchema,
  JSONRPCNotificationSchema,
  JSONRPCRequestSchema,
  JSONRPCResultResponseSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { isUtf8 } from "node:buffer";
import type { Writable } from "node:stream";
import type { JSONRPCMessage, RequestId } from "./messages";

/**
 * Newline-delimited JSON-RPC, as MCP's stdio transport frames it, with a bound on the line: the proxy's own
 * framing on both stdio ends (host and upstream) in place of the SDK's stdio transports, whose read buffer
 * re-concatenates on every chunk and, past 10 MiB, throws and closes the transport — the proxy stayed alive
 * but deaf (issue 14, item 6). Each line is parsed with JSON.parse and checked with the SDK's own
 * `JSONRPCMessageSchema`, as the SDK's transports do.
 *
 * A line longer than the bound is never held whole: its first and last {@link EDGE_CHARS} characters are
 * kept, the rest counted and dropped, and at its newline the reader reports it as oversized with what a
 * bounded scan of those edges can tell (its id, whether it has a method), so the caller can answer that id
 * with an error and go on reading the next line.
 */

/** Characters kept from each end of an oversized line to find its id and method. */
const EDGE_CHARS = 4_096;

/** What can be read of an oversized line from its edges. */
export interface OversizedLine {
  bytes: number;
  /** The top-level `id`, when the line's start (up to the first big member) or its end names it. */
  id: RequestId | undefined;
  /** A top-level `method` seen at the line's start: a request or notification, not a response. */
  method: string | undefined;
}

export type ParsedLine =
  | { ok: true; message: JSONRPCMessage }
  /** Not JSON (-32700) or JSON but no JSON-RPC message (-32600); `id` when the JSON had a readable one. */
  | { ok: false; code: -32700 | -32600; detail: string; id: RequestId | undefined };

export interface LineReaderHandlers {
  line(text: string): void;
  oversized(line: OversizedLine): void;
}

/** Splits a byte stream into lines of at most `maxLineBytes` (without the newline and a trailing \r). */
export class LineReader {
  /** Chunks of the current line while it is within the bound. */
  private parts: Buffer[] = [];
  private size = 0;
  /** Set while dropping an oversized line: its start, its end so far, its length so far. */
  private dropping: { head: string; tail: string; bytes: number } | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly handlers: LineReaderHandlers,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.dropping !== undefined) this.drop(chunk, start, end);
      else if (this.size + (end - start) > this.maxLineBytes) this.startDropping(chunk, start, end);
      else if (newline !== -1 && this.size === 0) this.emitWithin(chunk, start, end); // the common case: no copy
      else {
        this.parts.push(chunk.subarray(start, end));
        this.size += end - start;
        if (newline !== -1) this.emit(Buffer.concat(this.parts, this.size).toString("utf8"));
      }
      if (newline === -1) return;
      if (this.dropping !== undefined) this.endDropping();
      this.parts = [];
      this.size = 0;
      start = newline + 1;
    }
  }

  private emit(text: string): void {
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (line.trim() !== "") this.handlers.line(line);
  }

  /** A line lying whole in `chunk`: while it is handled, its bytes (newline included) are the line's bytes. */
  private emitWithin(chunk: Buffer, start: number, end: number): void {
    const text = chunk.toString("utf8", start, end);
    if (text.endsWith("\r")) {
      this.emit(text); // its bytes end in \r\n: forwarded as the text without the \r
      return;
    }
    lineBytes = chunk;
    lineStart = start;
    lineEnd = end + 1;
    try {
      this.emit(text);
    } finally {
      lineBytes = undefined;
    }
  }

  private startDropping(chunk: Buffer, start: number, end: number): void {
    const held = Buffer.concat([...this.parts, chunk.subarray(start, Math.min(end, start + EDGE_CHARS))]);
    this.dropping = { head: held.toString("utf8", 0, Math.min(held.length, EDGE_CHARS)), tail: "", bytes: this.size };
    this.parts = [];
    this.size = 0;
    this.drop(chunk, start, end);
  }

  private drop(chunk: Buffer, start: number, end: number): void {
    const dropping = this.dropping!;
    dropping.bytes += end - start;
    const piece = chunk.toString("utf8", Math.max(start, end - EDGE_CHARS), end);
    dropping.tail = (dropping.tail + piece).slice(-EDGE_CHARS);
  }

  private endDropping(): void {
    const { head, tail, bytes } = this.dropping!;
    this.dropping = undefined;
    const front = scanFront(head);
    this.handlers.oversized({ bytes, id: front.id ?? idAtEnd(tail), method: front.method });
  }
}

/** One line → a message the SDK's schema accepts, or why not (with the id when the JSON had one). */
export function parseLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, code: -32700, detail: (error as Error).message, id: undefined };
  }
  const message = checkMessage(json);
  if (message !== undefined) return { ok: true, message };
  const id = (json as { id?: unknown } | null)?.id;
  return { ok: false, code: -32600, detail: "not a JSON-RPC 2.0 message", id: typeof id === "string" || typeof id === "number" ? id : undefined };
}

/**
 * What the SDK's `JSONRPCMessageSchema.safeParse` gives, without paying for the members that cannot match.
 * That schema is the union of four strict objects, tried in order, the first that accepts winning: request
 * (needs `method` and `id`), notification (`method`), result response (`result`), error response (`error`).
 * A member whose required key is absent is certain to fail, so it is skipped; the others are tried in the
 * union's order, so the answer is the union's own. Skipping matters: each failed member costs a parse with
 * its issues, and a response — half of a proxied call's messages — used to fail two before its own.
 * test/unit/mcp/lineFraming.test.ts holds it equal to the union.
 */
export function checkMessage(json: unknown): JSONRPCMessage | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  if (plainlyValid(json as Record<string, unknown>)) return json as JSONRPCMessage;
  const { method, id, result, error } = json as Record<string, unknown>;
  if (method !== undefined) {
    if (id !== undefined) {
      const request = JSONRPCRequestSchema.safeParse(json);
      if (request.success) return request.data;
    }
    const notification = JSONRPCNotificationSchema.safeParse(json);
    if (notification.success) return notification.data;
  }
  if (result !== undefined) {
    const response = JSONRPCResultResponseSchema.safeParse(json);
    if (response.success) return response.data;
  }
  if (error !== undefined) {
    const failure = JSONRPCErrorResponseSchema.safeParse(json);
    if (failure.success) return failure.data;
  }
  return undefined;
}

/**
 * True when the union is certain to accept `json` unchanged: the common shapes of a proxied call, checked by
 * hand — a request, notification or result response whose top-level keys are exactly the member's, with
 * `"jsonrpc": "2.0"`, an id that is a string or a safe integer (`z.number().int()`), a string method, and
 * params / result a plain object without `_meta` or `__proto__` keys (the only parts of those loose objects
 * the schema looks into or rewrites). Everything else — any doubt — goes to the SDK's schema, which decides.
 * Why: the zod parse of a proxied call's two lines cost ~5 µs each in place (a process woken per message
 * runs cold), on the call's path. test/unit/mcp/lineFraming.test.ts holds the answers equal to the union's.
 */
function plainlyValid(message: Record<string, unknown>): boolean {
  let keys = 0;
  for (const key in message) {
    if (key !== "jsonrpc" && key !== "id" && key !== "method" && key !== "params" && key !== "result") return false;
    keys++;
  }
  if (message.jsonrpc !== "2.0") return false;
  const { id, method } = message;
  const hasId = id !== undefined;
  if (hasId && typeof id !== "string" && !Number.isSafeInteger(id)) return false;
  if (method !== undefined) {
    if (typeof method !== "string" || message.result !== undefined) return false;
    const params = message.params;
    return keys === 2 + (hasId ? 1 : 0) + (params === undefined ? 0 : 1) && (params === undefined || plainObjectWithoutMeta(params));
  }
  return hasId && keys === 3 && plainObjectWithoutMeta(message.result);
}

function plainObjectWithoutMeta(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  for (const key in value) if (key === "_meta" || key === "__proto__") return false;
  return true;
}

/**
 * The bytes of the line a LineReader is handing out, when it lies whole in one chunk: `lineBytes` from
 * `lineStart` to `lineEnd` (the newline included). Set only while its handler runs.
 */
let lineBytes: Buffer | undefined;
let lineStart = 0;
let lineEnd = 0;

/** The message being delivered from a line, and that line (see {@link deliverLine}). */
let deliveredMessage: JSONRPCMessage | undefined;
let deliveredText = "";

/**
 * Hands `message`, parsed from `text`, to `deliver`; while that call runs, {@link writeLine} writes this very
 * message as the line it was read as — its bytes from the reader's chunk when the line lay whole in one, else
 * `text`. So a message forwarded unchanged in the same turn (the upstream's answers, on their way to a stdio
 * host) is written as the bytes that were checked, instead of being serialized again.
 */
export function deliverLine(message: JSONRPCMessage, text: string, deliver: (message: JSONRPCMessage) => void): void {
  deliveredMessage = message;
  deliveredText = text;
  try {
    deliver(message);
  } finally {
    deliveredMessage = undefined;
    deliveredText = "";
  }
}

/**
 * From here on `message` is written serialized from its parsed form, not as its line. For what a guard
 * decided on: a line can say more than its parse (a duplicate key, which JSON.parse reads last-wins and
 * another parser first-wins), so the upstream must get the parse the decision was made on.
 */
export function forgetLine(message: JSONRPCMessage): void {
  if (message === deliveredMessage) {
    deliveredMessage = undefined;
    deliveredText = "";
  }
}

/**
 * What goes on the wire for `message`: the bytes it was read as, when it is being forwarded unchanged and they
 * lay whole in one chunk and are UTF-8 (no string to build and encode again, however large the answer); else
 * its line as text, or its serialization.
 */
function outgoingLine(message: JSONRPCMessage): Buffer | string {
  if (message !== deliveredMessage) return serializeLine(message);
  // A message is delivered from inside its reader's handler, so the line's bytes, when set, are its own.
  if (lineBytes !== undefined) {
    const bytes = lineBytes.subarray(lineStart, lineEnd);
    // Bytes that are not UTF-8 were read with U+FFFD in their place, and that text is what was checked.
    if (isUtf8(bytes)) return bytes;
  }
  return `${deliveredText}\n`;
}

/** A message as one line of newline-delimited JSON. */
export function serializeLine(message: JSONRPCMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * What a send answers when the stream took its message at once: one promise, already resolved, shared by every
 * such send. The proxy's pump knows it (McpProxy.toUpstream) and attaches nothing to it, so a message the pipe
 * takes at once — nearly every one — costs no promise, no handler and no microtask on the call's path.
 */
export const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Writes one message as a line. {@link WRITTEN} when the stream took it, else a promise that resolves when it
 * drains and rejects if the stream closes or fails before draining (a peer gone while its pipe was full), so
 * no send waits forever.
 */
export function writeLine(stream: Writable, message: JSONRPCMessage): Promise<void> {
  if (stream.write(outgoingLine(message))) return WRITTEN;
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off("drain", drained);
      stream.off("close", closed);
      stream.off("error", settle);
      if (error === undefined) resolve();
      else reject(error);
    };
    const drained = (): void => settle();
    const closed = (): void => settle(new Error("the pipe closed before it took the message"));
    stream.once("drain", drained);
    stream.once("close", closed);
    stream.once("error", settle);
  });
}

/**
 * The top-level `id` and `method` found in the start of an object's text, reading member by member and
 * skipping the values of other members (strings and nesting tracked) until the text runs out.
 */
export function scanFront(text: string): { id: RequestId | undefined; method: string | undefined } {
  const found: { id: RequestId | undefined; method: string | undefined } = { id: undefined, method: undefined };
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return found;
  i++;
  for (;;) {
    i = skipSpace(text, i);
    const key = readString(text, i);
    if (key === undefined) return found;
    i = skipSpace(text, key.end);
    if (text[i] !== ":") return found;
    i = skipSpace(text, i + 1);
    if (key.value === "id" || key.value === "method") {
      const value = readScalar(text, i);
      if (value === undefined) return found;
      if (key.value === "id" && (typeof value.value === "string" || typeof value.value === "number")) found.id = value.value;
      if (key.value === "method" && typeof value.value === "string") found.method = value.value;
      i = value.end;
    } else {
      const end = skipValue(text, i);
      if (end === undefined) return found;
      i = end;
    }
    i = skipSpace(text, i);
    if (text[i] !== ",") return found;
    i++;
  }
}

/** `…,"id":7}` at the very end of an object's text: the top-level id of a message that puts it last. */
export function idAtEnd(text: string): RequestId | undefined {
  const match = /[,{]\s*"id"\s*:\s*(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")\s*\}\s*$/.exec(text);
  if (match === null) return undefined;
  try {
    const value: unknown = JSON.parse(match[1]!);
    return typeof value === "string" || typeof value === "number" ? value : undefined;
  } catch {
    return undefined;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  return i;
}

function readString(text: string, i: number): { value: string; end: number } | undefined {
  if (text[i] !== '"') return undefined;
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') {
      try {
        return { value: JSON.parse(text.slice(i, j + 1)) as string, end: j + 1 };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function readScalar(text: string, i: number): { value: unknown; end: number } | undefined {
  if (text[i] === '"') return readString(text, i);
  const match = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|null|true|false)/.exec(text.slice(i, i + 64));
  if (match === null) return undefined;
  const end = i + match[0].length;
  return end < text.length ? { value: JSON.parse(match[0]) as unknown, end } : undefined; // a number cut by the edge is unknown
}

/** The end of the JSON value starting at `i`, or undefined when the text ends first. */
function skipValue(text: string, i: number): number | undefined {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"') {
      const s = readString(text, j);
      if (s === undefined) return undefined;
      j = s.end - 1;
      if (depth === 0) return s.end;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return j + 1;
      if (depth < 0) return j;
    } else if (depth === 0 && (c === "," || c === " " || c === "\n" || c === "\t" || c === "\r")) return j;
  }
  return undefined;
}
