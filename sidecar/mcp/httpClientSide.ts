import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isInitializeRequest, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApieLogger } from "../sdk/types";
import { formatDuration } from "./duration";
import { checkMessage } from "./lineFraming";
import { ErrorCodes, isRequest, type JSONRPCMessage, type RequestId } from "./messages";
import type { ToolParamHeaders } from "./paramHeaders";
import { headerMismatch, isModernMessage, ModernErrorCodes } from "./requestMetadata";
import { StatelessClientSide } from "./statelessClientSide";
import { ToolListing } from "./toolListing";

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
 *   the version its own initialize answer named;
 * - a POST body that is JSON but no JSON-RPC message is answered with -32600 and the id it named, when it
 *   named a readable one (the SDK would say -32700 with `"id": null`);
 * - a request whose response stream closes before its answer (the client vanished: no cancel, no DELETE)
 *   is reported to its session ({@link HttpSession.requesterGone}): a call held for approval is then
 *   abandoned, its approval cancelled, and never run;
 * - a session-less request of the modern revisions (2026-07-28 and later: `server/discover`, or `_meta`
 *   declaring the protocol version) is served without a session: its headers are checked against its body
 *   (400, -32020) — for a tool no `tools/list` has named yet, after the proxy listed the tools itself
 *   (toolListing.ts) — and it goes to the one stateless pump, whose upstream is started with the first such
 *   request and closed like an idle session (see StatelessClientSide);
 * - sessions expire after `idleTimeoutMs` without a request (a request still being answered, e.g. a call
 *   waiting for approval, keeps its session alive): the session and its upstream are closed, and the
 *   client's next request gets 404, so it initializes again;
 * - at most `maxSessions` are open at once. An initialize past that closes the session idle the longest
 *   among those no client holds on to (no request being answered, no GET stream open) — a client that went
 *   away without a DELETE leaves exactly such a session, and hosts rarely send one; a live client that left
 *   no stream open gets 404 next and initializes again, as after an expiry. Only when every session is in
 *   use is the initialize refused: 503 naming the limit.
 */

export interface HttpSession {
  /** Resolves when the session ends (client closed it, or its upstream exited). */
  done: Promise<unknown>;
  /** `reason` is what a call still waiting for approval is cancelled with (default: from how it ended). */
  close(reason?: string): Promise<void>;
  /** The client can no longer receive the answer to request `id` (see the module comment). */
  requesterGone(id: RequestId, reason: string): void;
}

export interface HttpClientSideOptions {
  /** 0 = any free port. */
  port: number;
  logger: ApieLogger;
  /** Connects a new session's transport to a fresh upstream; rejects when the upstream cannot start. */
  openSession(transport: Transport): Promise<HttpSession>;
  /** A session with no request for this long is closed with its upstream (default 30 min). */
  idleTimeoutMs?: number;
  /** Sessions open at once (default 64); past that an idle one makes room, else the initialize gets 503. */
  maxSessions?: number;
  /** The tools' Mcp-Param-* declarations: a session-less call whose headers disagree with its body gets 400, -32020. */
  paramHeaders?: ToolParamHeaders;
}

export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_MAX_SESSIONS = 64;
/** Why a call still waiting for approval is abandoned when its requester's response stream closed. */
export const REQUESTER_GONE = "the MCP client disconnected";

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MCP_PATH = "/mcp";

/** The pump of session-less requests (modern revisions). */
interface Lane extends Entry {
  transport: StatelessClientSide;
}

interface Entry {
  transport: Transport;
  session: HttpSession;
  /** POSTs of this session not answered yet (their response still open). */
  inFlight: number;
  /** GET streams of this session still open (a client listening for the server's messages). */
  streams: number;
  /** performance.now() at its last request or stream change: the idlest session makes room first. */
  lastActive: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** Closed by the proxy (expired, or room made): no longer counted, whenever its upstream is gone. */
  retired: boolean;
}

export class HttpClientSide {
  private readonly sessions = new Map<string, Entry>();
  private readonly opening = new Set<Promise<unknown>>();
  private lane: Promise<Lane> | undefined;
  private currentLane: Lane | undefined;
  private toolListing: ToolListing | undefined;
  /** Sessions being opened or open: what `maxSessions` counts. */
  private sessionCount = 0;
  private readonly idleTimeoutMs: number;
  private readonly maxSessions: number;
  private port = 0;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly options: HttpClientSideOptions,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

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
    for (const entry of this.sessions.values()) clearTimeout(entry.idleTimer);
    const lane = await this.lane?.catch(() => undefined);
    if (lane !== undefined) clearTimeout(lane.idleTimer);
    await Promise.allSettled([...this.sessions.values(), ...(lane ? [lane] : [])].map((e) => e.session.close()));
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
    const protocolHeader = req.headers["mcp-protocol-version"];
    dropUnknownProtocolVersion(req);
    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const entry = this.sessions.get(sessionId);
      if (entry === undefined) {
        reply(res, 404, -32001, "Session not found");
        return;
      }
      const transport = entry.transport as StreamableHTTPServerTransport;
      if (req.method === "GET") this.followStream(entry, res);
      else if (req.method !== "POST") this.touch(entry); // a DELETE is activity, but no answer the session waits on
      if (req.method !== "POST") {
        await transport.handleRequest(req, res);
        return;
      }
      const body = await readMessage(req, res);
      if (body === undefined) return;
      this.track(entry, res, body);
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== "POST") {
      reply(res, req.method === "GET" || req.method === "DELETE" ? 400 : 405, -32000, "Bad Request: Mcp-Session-Id header is required");
      return;
    }
    const body = await readMessage(req, res);
    if (body === undefined) return;
    if (isModernMessage(body, req.headers)) {
      await this.serveStateless(req, res, body, typeof protocolHeader === "string" ? protocolHeader : undefined);
      return;
    }
    if (!isInitializeRequest(body)) {
      reply(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required (only initialize opens a session)", idOf(body));
      return;
    }
    await this.openSession(req, res, body);
  }

  private async openSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (this.closed) {
      reply(res, 503, -32000, "The MCP proxy is shutting down", idOf(body));
      return;
    }
    if (this.sessionCount >= this.maxSessions && !this.makeRoom()) {
      this.options.logger.warn(`refused a new MCP session: ${this.sessionCount} are open and in use, the limit is ${this.maxSessions}`);
      const message =
        `Too many MCP sessions: this proxy serves at most ${this.maxSessions} at once (maxSessions, --max-sessions), and each one is in use ` +
        `(a request being answered or a stream open); end one (HTTP DELETE), or retry once one is idle`;
      reply(res, 503, -32000, message, idOf(body));
      return;
    }
    this.sessionCount += 1;
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
      this.sessionCount -= 1;
      reply(res, 502, ErrorCodes.internalError, `could not start the upstream MCP server: ${(error as Error).message}`, idOf(body));
      return;
    } finally {
      this.opening.delete(opening);
    }
    const opened: Entry = newEntry(transport, session);
    entry = opened;
    void session.done.then(() => {
      if (!opened.retired) this.sessionCount -= 1;
      clearTimeout(opened.idleTimer);
      if (transport.sessionId !== undefined && this.sessions.get(transport.sessionId) === opened) this.sessions.delete(transport.sessionId);
      void session.close();
    });
    this.track(opened, res, body);
    await transport.handleRequest(req, res, body);
    if (transport.sessionId === undefined) await session.close(); // the transport refused the initialize
  }

  /** A session-less request or notification of the modern revisions (see the module comment). */
  private async serveStateless(req: IncomingMessage, res: ServerResponse, message: JSONRPCMessage & { method: string }, protocolHeader: string | undefined): Promise<void> {
    const mismatch = headerMismatch(message, req.headers, protocolHeader) ?? this.options.paramHeaders?.mismatch(message, req.headers);
    if (mismatch !== undefined) {
      reply(res, 400, ModernErrorCodes.headerMismatch, mismatch, idOf(message));
      return;
    }
    if (this.closed) {
      reply(res, 503, -32000, "The MCP proxy is shutting down", idOf(message));
      return;
    }
    let lane: Lane;
    try {
      lane = await (this.lane ??= this.openLane());
    } catch (error) {
      this.lane = undefined;
      reply(res, 502, ErrorCodes.internalError, `could not start the upstream MCP server: ${(error as Error).message}`, idOf(message));
      return;
    }
    if (isRequest(message) && message.method === "tools/call") {
      // A tool not listed yet: what it marks for Mcp-Param-* is learned first, so its headers are checked.
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const params = this.options.paramHeaders;
      if (params !== undefined && typeof name === "string" && !params.knows(name)) {
        await (this.toolListing ??= new ToolListing(params)).learn(name, message, lane.transport);
        if (this.closed) {
          reply(res, 503, -32000, "The MCP proxy is shutting down", idOf(message));
          return;
        }
        const late = params.mismatch(message, req.headers);
        if (late !== undefined) {
          reply(res, 400, ModernErrorCodes.headerMismatch, late, idOf(message));
          return;
        }
      }
    }
    this.track(lane, res, message, false);
    if (isRequest(message)) {
      lane.transport.request(message, res);
      return;
    }
    lane.transport.notify(message);
    res.writeHead(202).end();
  }

  private async openLane(): Promise<Lane> {
    const transport = new StatelessClientSide();
    const opening = this.options.openSession(transport);
    this.opening.add(opening);
    let session: HttpSession;
    try {
      session = await opening;
    } finally {
      this.opening.delete(opening);
    }
    const lane: Lane = newEntry(transport, session);
    this.currentLane = lane;
    void session.done.then(() => {
      clearTimeout(lane.idleTimer);
      this.forgetLane(lane);
      void session.close();
    });
    return lane;
  }

  /** The next session-less request starts a new pump (and upstream). */
  private forgetLane(lane: Lane): void {
    if (this.currentLane !== lane) return;
    this.currentLane = undefined;
    this.lane = undefined;
  }

  /**
   * Follows one POST of a session until its response is over: the session is not idle meanwhile, and a
   * response closed before it was complete means the client can no longer receive the answers to the
   * requests it carried.
   */
  private track(entry: Entry, res: ServerResponse, body: unknown, reportGone = true): void {
    entry.inFlight += 1;
    this.touch(entry);
    res.once("close", () => {
      entry.inFlight -= 1;
      if (reportGone && !res.writableFinished) for (const id of requestIds(body)) entry.session.requesterGone(id, REQUESTER_GONE);
      this.touch(entry);
    });
  }

  /** Follows a session's GET stream until it closes: while open, the session is not for {@link makeRoom}. */
  private followStream(entry: Entry, res: ServerResponse): void {
    entry.streams += 1;
    this.touch(entry);
    res.once("close", () => {
      entry.streams -= 1;
      this.touch(entry);
    });
  }

  /** Restarts the session's idle clock, which runs only while none of its POSTs is being answered. */
  private touch(entry: Entry): void {
    entry.lastActive = performance.now();
    clearTimeout(entry.idleTimer);
    entry.idleTimer = entry.inFlight > 0 || this.closed ? undefined : setTimeout(() => this.expire(entry), this.idleTimeoutMs).unref();
  }

  private expire(entry: Entry): void {
    const idle = formatDuration(this.idleTimeoutMs);
    if (entry.transport instanceof StatelessClientSide) {
      this.forgetLane(entry as Lane);
      this.options.logger.warn(`no session-less MCP request for ${idle}: their upstream is closed`);
      void entry.session.close(`the stateless MCP pump expired after ${idle} idle`);
      return;
    }
    const id = entry.transport.sessionId;
    if (id === undefined || this.sessions.get(id) !== entry) return;
    this.options.logger.warn(`MCP session ${id} expired after ${idle} without a request; its upstream is closed`);
    this.retire(id, entry, `the MCP session expired after ${idle} idle`);
  }

  /**
   * At the limit: closes the session idle the longest among those no client holds on to (nothing being
   * answered, no stream open), so a new one can open. False when every session is in use.
   */
  private makeRoom(): boolean {
    let idlest: [string, Entry] | undefined;
    for (const candidate of this.sessions) {
      const entry = candidate[1];
      if (entry.inFlight === 0 && entry.streams === 0 && (idlest === undefined || entry.lastActive < idlest[1].lastActive)) idlest = candidate;
    }
    if (idlest === undefined) return false;
    const [id, entry] = idlest;
    const idleMs = performance.now() - entry.lastActive;
    const idle = idleMs < 1_000 ? `${Math.round(idleMs)} ms` : `${Math.round(idleMs / 1_000)} s`;
    this.options.logger.warn(`MCP session ${id} closed to make room for a new one (at most ${this.maxSessions} at once): idle for ${idle}, no stream open; its upstream is closed`);
    this.retire(id, entry, "the MCP session was closed to make room for a new one");
    return true;
  }

  /**
   * Closes a session the proxy ends itself (the client gets 404 from now on and initializes again). It stops
   * counting toward `maxSessions` at once; its upstream may take a moment more to exit.
   */
  private retire(id: string, entry: Entry, reason: string): void {
    this.sessions.delete(id);
    clearTimeout(entry.idleTimer);
    if (!entry.retired) this.sessionCount -= 1;
    entry.retired = true;
    void entry.session.close(reason);
  }

  private allowedHost(host: string | undefined): boolean {
    return host !== undefined && [`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`].includes(host.toLowerCase());
  }

  private allowedOrigin(origin: string | undefined): boolean {
    return origin === undefined || [`http://127.0.0.1:${this.port}`, `http://localhost:${this.port}`, `http://[::1]:${this.port}`].includes(origin.toLowerCase());
  }
}

function newEntry<T extends Transport>(transport: T, session: HttpSession): Entry & { transport: T } {
  return { transport, session, inFlight: 0, streams: 0, lastActive: performance.now(), idleTimer: undefined, retired: false };
}

/** Removes a protocol version header the SDK transport would refuse (see the module comment). */
function dropUnknownProtocolVersion(req: IncomingMessage): void {
  const version = req.headers["mcp-protocol-version"];
  if (version === undefined || (typeof version === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return;
  delete req.headers["mcp-protocol-version"];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === "mcp-protocol-version") raw.splice(i, 2);
}

/**
 * The POST body as one JSON-RPC message or a batch the SDK's schema accepts, else undefined once `res` has
 * the error: 413 (too big), -32700 (not JSON), -32600 with the message's id when it had a readable one.
 */
async function readMessage(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const body = await readJson(req);
  if (!body.ok) {
    reply(res, body.status, body.status === 413 ? -32000 : ErrorCodes.parseError, body.message);
    return undefined;
  }
  const messages = Array.isArray(body.value) ? body.value : [body.value];
  const invalid = messages.find((m) => checkMessage(m) === undefined);
  if (messages.length === 0 || invalid !== undefined) {
    reply(res, 400, ErrorCodes.invalidRequest, "Invalid Request: not a JSON-RPC 2.0 message", idOf(invalid));
    return undefined;
  }
  return body.value;
}

/** A message's id when it has a readable one (a string or a number), else null (JSON-RPC's "unknown"). */
function idOf(message: unknown): RequestId | null {
  const id = (message as { id?: unknown } | null | undefined)?.id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

/** The ids of the requests in a POST body (one message or a batch). */
function requestIds(body: unknown): RequestId[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: RequestId[] = [];
  for (const m of messages as { id?: unknown; method?: unknown }[]) {
    if (typeof m.method === "string" && (typeof m.id === "string" || typeof m.id === "number")) ids.push(m.id);
  }
  return ids;
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

function reply(res: ServerResponse, status: number, code: number, message: string, id: RequestId | null = null): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } }));
}
