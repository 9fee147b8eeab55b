import type { IncomingHttpHeaders } from "node:http";
import type { JSONRPCMessage, JSONRPCRequest } from "./messages";

/**
 * Protocol revision 2026-07-28 and later ("modern" MCP) over Streamable HTTP: no initialize and no session;
 * every request carries its protocol version (and client info and capabilities) in `params._meta`, and the
 * HTTP request mirrors `method` and the tool/prompt name or resource URI into headers (`MCP-Protocol-Version`,
 * `Mcp-Method`, `Mcp-Name`), which a server that reads the body must check against it (400, -32020).
 * The proxy reads the body (the guard decides on it), so it checks them; toward an HTTP upstream it writes
 * them from the body it forwards, and the `Mcp-Param-*` of tool parameters a server asks to see mirrored
 * (paramHeaders.ts).
 */

export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";

/** Error codes of the modern revisions: a client that gets one knows the server is modern. */
export const ModernErrorCodes = { headerMismatch: -32020, missingRequiredClientCapability: -32021, unsupportedProtocolVersion: -32022 } as const;

const MODERN_ERRORS: readonly number[] = Object.values(ModernErrorCodes);

export function isModernError(code: number): boolean {
  return MODERN_ERRORS.includes(code);
}

/** The protocol version a message's `_meta` declares (modern messages only). */
export function declaredVersion(message: unknown): string | undefined {
  const version = (message as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta?.[META_PROTOCOL_VERSION];
  return typeof version === "string" ? version : undefined;
}

/**
 * A session-less message of the modern revisions: `server/discover`, or a message declaring its version in
 * `_meta`, or a request carrying `Mcp-Method`. (`MCP-Protocol-Version` alone does not say it: handshake-era
 * clients send it too.)
 */
export function isModernMessage(message: unknown, headers: IncomingHttpHeaders): message is JSONRPCMessage & { method: string } {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return false;
  const method = (message as { method?: unknown }).method;
  if (typeof method !== "string") return false;
  return method === "server/discover" || declaredVersion(message) !== undefined || headers["mcp-method"] !== undefined;
}

/** Where the headers and the body disagree (the -32020 message), or undefined. `protocolHeader` as received. */
export function headerMismatch(message: JSONRPCRequest | (JSONRPCMessage & { method: string }), headers: IncomingHttpHeaders, protocolHeader: string | undefined): string | undefined {
  const method = single(headers["mcp-method"]);
  if (method !== undefined && method !== message.method) return `Header mismatch: Mcp-Method '${method}' does not match the body's method '${message.method}'`;
  const nameHeader = single(headers["mcp-name"]);
  if (nameHeader !== undefined) {
    const name = decodeHeaderValue(nameHeader);
    const body = nameOf(message);
    if (name === undefined) return `Header mismatch: Mcp-Name '${nameHeader}' carries an invalid Base64 value`;
    if (name !== body) return `Header mismatch: Mcp-Name '${nameHeader}' does not match the body's ${body === undefined ? "(no name)" : `'${body}'`}`;
  }
  const version = declaredVersion(message);
  if (protocolHeader !== undefined && version !== undefined && protocolHeader !== version) {
    return `Header mismatch: MCP-Protocol-Version '${protocolHeader}' does not match _meta ${META_PROTOCOL_VERSION} '${version}'`;
  }
  return undefined;
}

/** The headers a modern request carries, written from its body; undefined for a message of the handshake era. */
export function mirroredHeaders(message: unknown): Record<string, string> | undefined {
  const version = declaredVersion(message);
  if (version === undefined) return undefined;
  const m = message as { method: string };
  const headers: Record<string, string> = { "mcp-protocol-version": version, "mcp-method": m.method };
  const name = nameOf(m);
  if (name !== undefined) headers["mcp-name"] = encodeHeaderValue(name);
  return headers;
}

/** The HTTP status of a modern answer carrying error `code`: 404 for an unknown method, 400 for the modern errors. */
export function httpStatusOf(code: number): number {
  if (code === -32601) return 404;
  return isModernError(code) ? 400 : 200;
}

/** `params.name` (tools/call, prompts/get) or `params.uri` (resources/read). */
function nameOf(message: { method: string; params?: unknown }): string | undefined {
  const params = message.params as { name?: unknown; uri?: unknown } | undefined;
  const value = message.method === "resources/read" ? params?.uri : message.method === "tools/call" || message.method === "prompts/get" ? params?.name : undefined;
  return typeof value === "string" ? value : undefined;
}

const SENTINEL = /^=\?base64\?(.*)\?=$/;

/** A header value as the spec writes it: as is when plain visible ASCII, else `=?base64?…?=`. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A header value as sent: as is, or the UTF-8 inside `=?base64?…?=`; undefined when that is not canonical
 * Base64 of valid UTF-8, which the revision has a server refuse.
 */
export function decodeHeaderValue(value: string): string | undefined {
  const match = SENTINEL.exec(value);
  if (match === null) return value;
  if (!CANONICAL_BASE64.test(match[1]!)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(match[1]!, "base64"));
  } catch {
    return undefined;
  }
}

/** A header's text (repeated ones joined, as Node joins most). */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
