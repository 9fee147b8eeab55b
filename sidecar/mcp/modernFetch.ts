import { mirroredHeaders } from "./requestMetadata";
import { MCP_PARAM_HEADER_PREFIX, type ToolParamHeaders } from "./paramHeaders";
import { clientMetaOf, learnToolPages, LISTING_TIMEOUT_MS } from "./toolListing";

/**
 * The `fetch` of an HTTP upstream for the session-less requests of the modern revisions (2026-07-28 and
 * later):
 * - the headers they require are written from the body: `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`,
 *   and on a `tools/call` the `Mcp-Param-*` of the arguments the tool's schema marks (paramHeaders.ts),
 *   learned from the `tools/list` answers the proxy relays and its own listings (`params`, shared with the
 *   host side, which lists before a call of a tool not listed yet: toolListing.ts). A call the server still
 *   refuses with -32020 (a tool that appeared after the last listing) makes the proxy list the tools again
 *   and send the call once more, as the revision asks of a client;
 * - an error the server answers with a 4xx status and a JSON-RPC body (unsupported version, header
 *   mismatch, unknown method) is handed to the SDK as the message it is: the SDK would throw it away for an
 *   HTTP error, and the host must see it.
 */
export class ModernFetch {
  private refreshes = 0;

  constructor(
    private readonly params: ToolParamHeaders,
    /** The deadline of the proxy's own listing after a -32020: the call's own answer goes to the host then. */
    private readonly listingTimeoutMs = LISTING_TIMEOUT_MS,
  ) {}

  readonly fetch = async (input: string | URL, init: RequestInit | undefined): Promise<Response> => {
    const body = typeof init?.body === "string" ? parseOrUndefined(init.body) : undefined;
    const mirrored = mirroredHeaders(body);
    if (mirrored === undefined) return fetch(input, init);
    const request = body as { method: string; params?: { name?: unknown; arguments?: unknown; _meta?: unknown } };
    const call = request.method === "tools/call" && typeof request.params?.name === "string" ? { name: request.params.name, args: request.params.arguments } : undefined;
    const send = () => fetch(input, { ...init, headers: this.headers(init?.headers, mirrored, call) });
    let response = await send();
    if (response.ok || !isJson(response)) return response;
    let text = await response.text();
    if (call !== undefined && errorCode(text) === -32020) {
      const before = JSON.stringify(this.params.headersFor(call.name, call.args));
      await this.listTools(input, init?.headers, clientMetaOf(request));
      if (JSON.stringify(this.params.headersFor(call.name, call.args)) !== before) {
        response = await send();
        if (response.ok || !isJson(response)) return response;
        text = await response.text();
      }
    }
    if (errorCode(text) === undefined) return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    return new Response(text, { status: 200, headers: { "content-type": "application/json" } });
  };

  /** The request's headers: the configured ones without any `Mcp-Param-*` (only the body may say those), plus the mirrored ones. */
  private headers(configured: RequestInit["headers"], mirrored: Record<string, string>, call: { name: string; args: unknown } | undefined): Headers {
    const headers = new Headers(configured);
    for (const name of [...headers.keys()]) if (name.startsWith(MCP_PARAM_HEADER_PREFIX)) headers.delete(name);
    for (const [name, value] of Object.entries(mirrored)) headers.set(name, value);
    if (call !== undefined) for (const [name, value] of Object.entries(this.params.headersFor(call.name, call.args))) headers.set(name, value);
    return headers;
  }

  /** The proxy's own `tools/list` (learnToolPages), with the host's client identity (clientMetaOf). */
  private listTools(input: string | URL, configured: RequestInit["headers"], meta: Record<string, unknown>): Promise<void> {
    return learnToolPages(this.params, this.listingTimeoutMs, async (cursor, deadline) => {
      const id = `apie-tools-list-${++this.refreshes}`;
      const body = { jsonrpc: "2.0", id, method: "tools/list", params: { ...(cursor === undefined ? {} : { cursor }), _meta: meta } };
      const headers = this.headers(configured, mirroredHeaders(body) ?? {}, undefined);
      headers.set("content-type", "application/json");
      headers.set("accept", "application/json, text/event-stream");
      try {
        const response = await fetch(input, { method: "POST", headers, body: JSON.stringify(body), signal: deadline });
        return response.ok ? resultOf(await response.text(), id) : undefined;
      } catch {
        return undefined; // no listing (unreachable, or past its deadline): the call's own error is the answer then
      }
    });
  }
}

function isJson(response: Response): boolean {
  return response.headers.get("content-type")?.includes("application/json") === true;
}

/** The JSON-RPC error code of a JSON answer, or undefined when it is not a JSON-RPC error. */
function errorCode(text: string): number | undefined {
  const answer = parseOrUndefined(text) as { jsonrpc?: unknown; error?: { code?: unknown } } | undefined;
  if (answer?.jsonrpc !== "2.0" || answer.error === undefined) return undefined;
  return typeof answer.error.code === "number" ? answer.error.code : Number.NaN;
}

/** The `result` of the answer to request `id` in a JSON body or an SSE stream's `data:` lines. */
function resultOf(text: string, id: unknown): unknown {
  const candidates = text.trimStart().startsWith("{") ? [text] : text.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5));
  for (const candidate of candidates) {
    const message = parseOrUndefined(candidate) as { id?: unknown; result?: unknown } | undefined;
    if (message !== undefined && message.id === id && message.result !== undefined) return message.result;
  }
  return undefined;
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
