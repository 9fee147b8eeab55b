import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isInitializeRequest, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApieLogger } from "../sdk/types";
import { ErrorCodes } from "./messages";

/**
 * The host's side of an HTTP proxy (`--transport http`): MCP Streamable HTTP at `http://127.0.0.1:PORT/mcp`,
 * one SDK `StreamableHTTPServerTransport` per session. Each `initialize` without a session id opens a new
 * session with its own upstream (so a host that reconnects gets a fresh one); requests name their session
 * with `mcp-session-id` (unknown → 404, and the client initializes again).
 *
 * Around the SDK transport:
 * - only 127.0.0.1 is bound, and the Host header must name this port on 127.0.0.1/localhost/[::1], and an
 *   Origin header (browsers send one) this origin: a web page cannot reach the proxy (DNS rebinding);
 * - an `mcp-protocol-version` header the SDK does not know (a host newer than the SDK, e.g. 2026-07-28) is
 *   removed before the transport sees it — the SDK would answer 400. The proxy forwards messages as they are
 *   and only needs the header for the transport's own bookkeeping, so removing it is safe: the upstream gets
 *   the version its own initialize answer named.
 */

export interface HttpSession {
  /** Resolves when the session ends (client closed it, or its upstream exited). */
  done: Promise<unknown>;
  close(): Promise<void>;
}

export interface HttpClientSideOptions {
  /** 0 = any free port. */
  port: number;
  logger: ApieLogger;
  /** Connects a new session's transport to a fresh upstream; rejects when the upstream cannot start. */
  openSession(transport: Transport): Promise<HttpSession>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MCP_PATH = "/mcp";

interface Entry {
  transport: StreamableHTTPServerTransport;
  session: HttpSession;
}

export class HttpClientSide {
  private readonly sessions = new Map<string, Entry>();
  private readonly opening = new Set<Promise<unknown>>();
  private port = 0;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly options: HttpClientSideOptions,
  ) {}

  /** Listens on 127.0.0.1; resolves once bound. */
  static async listen(options: HttpClientSideOptions): Promise<HttpClientSide> {
    const server = createServer();
    const side = new HttpClientSide(server, options);
    server.on("request", (req, res) => {
      side.handle(req, res).catch((error: unknown) => {
        options.logger.warn(`HTTP ${req.method} ${req.url}: ${(error as Error).message}`);
        if (!res.headersSent) reply(res, 500, ErrorCodes.internalError, "Internal error");
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, "127.0.0.1", () => resolve());
    });
    side.port = (server.address() as AddressInfo).port;
    return side;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${MCP_PATH}`;
  }

  /** Stops listening and closes every session (each closes its upstream). */
  async close(): Promise<void> {
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.opening]);
    await Promise.allSettled([...this.sessions.values()].map((e) => e.session.close()));
    this.sessions.clear();
    this.server.closeAllConnections();
    await stopped;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.allowedHost(req.headers.host) || !this.allowedOrigin(req.headers.origin)) {
      reply(res, 403, -32000, `Forbidden: the MCP proxy answers only http://127.0.0.1:${this.port} (Host ${req.headers.host ?? "missing"}${req.headers.origin ? `, Origin ${req.headers.origin}` : ""})`);
      return;
    }
    if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== MCP_PATH) {
      reply(res, 404, -32000, `Not found: the MCP endpoint is ${MCP_PATH}`);
      return;
    }
    dropUnknownProtocolVersion(req);
    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const entry = this.sessions.get(sessionId);
      if (entry === undefined) {
        reply(res, 404, -32001, "Session not found");
        return;
      }
      await entry.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== "POST") {
      reply(res, req.method === "GET" || req.method === "DELETE" ? 400 : 405, -32000, "Bad Request: Mcp-Session-Id header is required");
      return;
    }
    const body = await readJson(req);
    if (!body.ok) {
      reply(res, body.status, body.status === 413 ? -32000 : ErrorCodes.parseError, body.message);
      return;
    }
    if (!isInitializeRequest(body.value)) {
      reply(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required (only initialize opens a session)");
      return;
    }
    await this.openSession(req, res, body.value);
  }

  private async openSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (this.closed) {
      reply(res, 503, -32000, "The MCP proxy is shutting down");
      return;
    }
    let entry: Entry | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      // Registered before the initialize request is dispatched: the client's next request may come at once.
      onsessioninitialized: (id) => {
        if (entry !== undefined) this.sessions.set(id, entry);
      },
    });
    const opening = this.options.openSession(transport);
    this.opening.add(opening);
    let session: HttpSession;
    try {
      session = await opening;
    } catch (error) {
      reply(res, 502, ErrorCodes.internalError, `could not start the upstream MCP server: ${(error as Error).message}`);
      return;
    } finally {
      this.opening.delete(opening);
    }
    entry = { transport, session };
    void session.done.then(() => {
      if (transport.sessionId !== undefined) this.sessions.delete(transport.sessionId);
      void session.close();
    });
    await transport.handleRequest(req, res, body);
    if (transport.sessionId === undefined) await session.close(); // the transport refused the initialize
  }

  private allowedHost(host: string | undefined): boolean {
    return host !== undefined && [`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`].includes(host.toLowerCase());
  }

  private allowedOrigin(origin: string | undefined): boolean {
    return origin === undefined || [`http://127.0.0.1:${this.port}`, `http://localhost:${this.port}`, `http://[::1]:${this.port}`].includes(origin.toLowerCase());
  }
}

/** Removes a protocol version header the SDK transport would refuse (see the module comment). */
function dropUnknownProtocolVersion(req: IncomingMessage): void {
  const version = req.headers["mcp-protocol-version"];
  if (version === undefined || (typeof version === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return;
  delete req.headers["mcp-protocol-version"];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === "mcp-protocol-version") raw.splice(i, 2);
}

async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) return { ok: false, status: 413, message: `Payload Too Large: over ${MAX_BODY_BYTES} bytes` };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, message: `Payload Too Large: over ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { ok: false, status: 400, message: "Parse error: Invalid JSON" };
  }
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}
