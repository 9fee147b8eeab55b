import { RecentMap } from "../store/recentMap";
import type { IncomingHttpHeaders } from "node:http";
import { decodeHeaderValue, encodeHeaderValue, single } from "./requestMetadata";

/**
 * Custom headers from tool parameters (protocol revision 2026-07-28, SEP-2243): a tool may mark properties of
 * its `inputSchema` with `x-mcp-header: "Region"`, and a client calling it over Streamable HTTP must then send
 * the argument's value as `Mcp-Param-Region` — a server that reads the body rejects a call whose annotated
 * argument is in the body but not in a header (400, -32020 HeaderMismatch). The proxy is that client toward a
 * modern HTTP upstream: it learns the declarations from the `tools/list` answers it relays and writes the
 * headers from the body it forwards (the one the guard decided on), never from what a host sent. Toward a host
 * it is the server, so a modern host's call whose `Mcp-Param-*` disagree with its body is refused the same
 * way (an intermediary before the proxy may have acted on the header).
 *
 * Mirroring a header the server does not check is harmless, omitting one it checks fails the call, so the
 * scan keeps every well-formed declaration on a chain of `properties` and does not judge the rest of the
 * schema (a tool the revision calls invalid is the server's to refuse).
 */

export const MCP_PARAM_HEADER_PREFIX = "mcp-param-";

export interface ParamHeaderDeclaration {
  /** Property keys from the arguments object down to the annotated value. */
  path: readonly string[];
  /** The header's name after `Mcp-Param-`. */
  name: string;
  /** The property's JSON Schema type: integers and numbers compare by value (`42.0` is `42`). */
  type: "string" | "integer" | "boolean" | "number";
}

const X_MCP_HEADER = "x-mcp-header";
/** RFC 9110 `token`: no spaces, control characters (CR/LF) or delimiters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The revision admits string, integer and boolean; `number` is invalid, but servers still check it. */
const PRIMITIVE_TYPES: ReadonlySet<unknown> = new Set<ParamHeaderDeclaration["type"]>(["string", "integer", "boolean", "number"]);
/** Nesting followed at most (the schema is the upstream's: untrusted, walked without recursion). */
const MAX_SCHEMA_DEPTH = 32;
/** Tools remembered per upstream; past it the oldest is forgotten (it is learned again from the next list). */
const MAX_TOOLS = 10_000;

/** The `x-mcp-header` declarations of one `inputSchema`, in schema order. */
export function paramHeaderDeclarations(inputSchema: unknown): ParamHeaderDeclaration[] {
  const found: ParamHeaderDeclaration[] = [];
  const pending: { node: unknown; path: string[] }[] = [{ node: inputSchema, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { node, path } = next;
    if (node === null || typeof node !== "object" || Array.isArray(node)) continue;
    const schema = node as Record<string, unknown>;
    const name = schema[X_MCP_HEADER];
    if (path.length > 0 && typeof name === "string" && TOKEN.test(name) && PRIMITIVE_TYPES.has(schema.type)) found.push({ path, name, type: schema.type as ParamHeaderDeclaration["type"] });
    const properties = schema.properties;
    if (path.length >= MAX_SCHEMA_DEPTH || properties === null || typeof properties !== "object" || Array.isArray(properties)) continue;
    // Pushed in reverse, so they come off the stack in schema order.
    for (const [key, child] of Object.entries(properties).reverse()) pending.push({ node: child, path: [...path, key] });
  }
  return found;
}

/**
 * The `Mcp-Param-*` headers of one call (lower-case names): for each declaration whose argument is a string,
 * a finite number or a boolean; none for an argument that is absent or null, as the revision says.
 */
export function paramHeaders(declarations: readonly ParamHeaderDeclaration[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { path, name } of declarations) {
    const text = primitiveText(valueAt(args, path));
    if (text !== undefined) headers[`${MCP_PARAM_HEADER_PREFIX}${name.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return headers;
}

/**
 * Why a call's `Mcp-Param-*` headers disagree with its arguments, or undefined when they agree: for each
 * declaration whose argument is given, the header must be there and decode to it (a header for an absent or
 * null argument is not looked at), as a server of the revision checks.
 */
export function paramHeaderMismatch(declarations: readonly ParamHeaderDeclaration[], args: unknown, headers: IncomingHttpHeaders): string | undefined {
  for (const { path, name, type } of declarations) {
    const value = valueAt(args, path);
    const text = primitiveText(value);
    if (text === undefined) continue;
    const header = `Mcp-Param-${name}`;
    const raw = single(headers[header.toLowerCase()]);
    if (raw === undefined) return `Header mismatch: the body carries ${path.join(".")} but the ${header} header is absent`;
    const sent = decodeHeaderValue(raw);
    if (sent === undefined) return `Header mismatch: the ${header} header carries an invalid Base64 value`;
    const numeric = (type === "integer" || type === "number") && typeof value === "number" && DECIMAL.test(sent);
    if (numeric ? Number(sent) !== value : sent !== text) return `Header mismatch: the ${header} header is ${JSON.stringify(sent)}, the body's ${path.join(".")} is ${JSON.stringify(value)}`;
  }
  return undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

function valueAt(args: unknown, path: readonly string[]): unknown {
  let value = args;
  for (const key of path) value = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/** What one upstream's tools declare, learned from its `tools/list` answers. */
export class ToolParamHeaders {
  /** Every tool listed, with its declarations (none for most). */
  private readonly byTool = new RecentMap<string, readonly ParamHeaderDeclaration[]>(MAX_TOOLS);

  /** A `tools/list` result (the upstream's, any shape). */
  learn(result: unknown): void {
    const tools = (result as { tools?: unknown } | null)?.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools) {
      const name = (tool as { name?: unknown } | null)?.name;
      if (typeof name === "string") this.byTool.set(name, paramHeaderDeclarations((tool as { inputSchema?: unknown }).inputSchema));
    }
  }

  /** Whether a `tools/list` answer named `tool` (so what it declares, if anything, is known). */
  knows(tool: string): boolean {
    return this.byTool.has(tool);
  }

  /** Why a host's `tools/call` has headers that disagree with its body (paramHeaderMismatch); undefined when they agree or the tool is not known. */
  mismatch(message: { method: string; params?: unknown }, headers: IncomingHttpHeaders): string | undefined {
    if (message.method !== "tools/call") return undefined;
    const params = message.params as { name?: unknown; arguments?: unknown } | undefined;
    const declarations = typeof params?.name === "string" ? this.byTool.get(params.name) : undefined;
    return declarations === undefined || declarations.length === 0 ? undefined : paramHeaderMismatch(declarations, params!.arguments, headers);
  }

  /** The headers of a `tools/call` of `tool` with `args` (empty when it declares none, or is not known yet). */
  headersFor(tool: string, args: unknown): Record<string, string> {
    const declarations = this.byTool.get(tool);
    return declarations === undefined ? {} : paramHeaders(declarations, args);
  }
}
