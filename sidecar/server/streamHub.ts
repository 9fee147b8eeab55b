import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Mode } from "../guard/types";
import { firstIssue } from "../protocol/issues";
import { textNestsBeyond } from "../protocol/nesting";
import { MAX_PARSE_DEPTH } from "../protocol/v1";
import type { TimelineRecord } from "../protocol/records";
import { CallIdSchema, STREAM_PATH, StreamClientFrameSchema, type CallId, type StreamClientFrame, type StreamServerFrame, type StreamTopic } from "../protocol/stream";
import type { Journal } from "../store/journal";
import { errorAnswer, MAX_BODY_BYTES, type RouteDispatcher } from "./dispatch";
import { HttpError, unparsedTooDeepError } from "./routing";
import { checkAccess, type Caller, type Keys } from "./security";

/** A client that lets this much pile up unread is cut off rather than growing the sidecar's memory. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** A `call` frame carries a request body: the HTTP cap plus room for the frame around it. */
const MAX_FRAME_BYTES = MAX_BODY_BYTES + 64 * 1024;
/**
 * Calls one connection may have running at once. Each holds its frame and its route's state (a long-poll, a
 * timer) until it ends: 100 000 long-polls on one socket took the sidecar from 65 to 450 MB. Past the cap a
 * call is answered 429 at once. The SDK keeps long-polls on HTTP and has at most its own concurrency in flight.
 */
export const MAX_CALLS_PER_CONNECTION = 1024;
/** Connections at once; past it an upgrade is refused 503. Every agent process holds one. */
export const MAX_STREAM_CLIENTS = 512;

interface StreamClient {
  topics: Set<StreamTopic>;
  caller: Caller;
  /** Calls still running; the controller exists once the route asked for a hang-up signal. */
  calls: Map<CallId, AbortController | undefined>;
  /**
   * Agent key: the approvals this connection holds (opened by its calls, or named in `watch`), the only ones
   * it is pushed. An id leaves when its approval resolves, so this holds pending approvals only.
   */
  held: Set<string>;
}

/**
 * `/v1/stream`: pushes approvals, live records and mode changes to subscribed WebSocket clients, and serves
 * `call` frames through the same routes as HTTP. The upgrade goes through the same access check as HTTP (key,
 * Host, no Origin); a refused upgrade gets a plain HTTP status and the socket is closed. The key presented at
 * the upgrade is the caller of every call on that connection. An agent-key connection is pushed only the
 * approvals it holds; the admin key's, every approval (see StreamClientFrameSchema in protocol/stream.ts).
 */
export class StreamHub {
  // autoPong off: ws's own answers to WebSocket pings terminate the socket, without a word, once 60 pongs are
  // unsent (a burst of pings does that); ours answer every ping, bounded by the same rule as any frame.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, autoPong: false });
  private readonly clients = new Map<WebSocket, StreamClient>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly journal: Journal,
    private readonly keys: Keys,
    private readonly mode: () => Mode,
    private readonly routes: RouteDispatcher,
    private readonly guardVersion: () => number,
  ) {
    this.unsubscribe = journal.onRecord((record) => this.publish(record));
  }

  /** Wire to `server.on("upgrade", …)`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, port: number): void {
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH) return refuse(socket, 404, `no WebSocket endpoint at ${path}`);
    const access = checkAccess(req, this.keys, port);
    if (!access.ok) return refuse(socket, access.status, access.message);
    if (this.clients.size >= MAX_STREAM_CLIENTS) {
      return refuse(socket, 503, `the sidecar already serves ${MAX_STREAM_CLIENTS} stream connections; close one or use HTTP`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, access.caller));
  }

  get clientCount(): number {
    return this.clients.size;
  }

  close(): void {
    this.unsubscribe();
    for (const ws of this.clients.keys()) ws.close(1001, "sidecar shutting down");
    this.wss.close();
  }

  private accept(ws: WebSocket, caller: Caller): void {
    const client: StreamClient = { topics: new Set(["approvals"]), caller, calls: new Map(), held: new Set() };
    this.clients.set(ws, client);
    const gone = (): void => {
      this.clients.delete(ws);
      for (const controller of client.calls.values()) controller?.abort();
      client.calls.clear();
    };
    ws.on("close", gone);
    ws.on("error", gone);
    ws.on("message", (data, isBinary) => this.onClientFrame(ws, client, isBinary ? null : data.toString()));
    ws.on("ping", (data) => {
      if (ws.readyState === ws.OPEN && !tooSlow(ws)) ws.pong(data);
    });
    send(ws, { type: "hello", last_seq: this.journal.state.lastSeq, mode: this.mode(), calls: true, guard_version: this.guardVersion() });
  }

  private onClientFrame(ws: WebSocket, client: StreamClient, text: string | null): void {
    if (text !== null && textNestsBeyond(text, MAX_PARSE_DEPTH)) {
      // Not parsed (see MAX_PARSE_DEPTH); a call still gets its reply, its id read from the frame's start.
      const id = callIdAtStart(text);
      if (id !== undefined) return this.reply(ws, id, errorAnswer(unparsedTooDeepError()));
      return send(ws, { type: "error", message: `frame nests deeper than ${MAX_PARSE_DEPTH} levels: not parsed` });
    }
    let json: unknown;
    try {
      json = text === null ? undefined : JSON.parse(text);
    } catch {
      return send(ws, { type: "error", message: "frame is not JSON" });
    }
    const parsed = StreamClientFrameSchema.safeParse(json);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      const problem = field ? `${field}: ${message}` : message;
      // A malformed call still gets its reply, so the caller is not left waiting for its deadline.
      const id = callIdOf(json);
      if (id !== undefined) return this.reply(ws, id, errorAnswer(new HttpError(400, "invalid_frame", problem, field || undefined)));
      return send(ws, { type: "error", message: problem });
    }
    const frame = parsed.data;
    switch (frame.type) {
      case "subscribe":
        return this.subscribe(ws, client, frame.topics);
      case "watch":
        return this.watch(ws, client, frame.ids);
      case "ping":
        return send(ws, { type: "pong", ...(frame.id !== undefined ? { id: frame.id } : {}) });
      case "call":
        return this.serveCall(ws, client, frame);
      case "cancel":
        client.calls.get(frame.id)?.abort();
        return;
    }
  }

  /** One v1 request, exactly as over HTTP; its answer goes back as a `reply` frame. */
  private serveCall(ws: WebSocket, client: StreamClient, frame: Extract<StreamClientFrame, { type: "call" }>): void {
    const { id } = frame;
    if (client.calls.has(id)) return this.reply(ws, id, errorAnswer(new HttpError(409, "duplicate_call", `call ${JSON.stringify(id)} is still running`)));
    if (client.calls.size >= MAX_CALLS_PER_CONNECTION) {
      return this.reply(ws, id, errorAnswer(new HttpError(429, "too_many_calls", `this connection already has ${MAX_CALLS_PER_CONNECTION} calls running; wait for their replies`)));
    }
    const query = frame.path.indexOf("?");
    const pathname = query < 0 ? frame.path : frame.path.slice(0, query);
    let pending: unknown;
    try {
      const hit = this.routes.find(frame.method, pathname, client.caller);
      client.calls.set(id, undefined);
      pending = this.routes.run(hit, {
        body: frame.body,
        caller: client.caller,
        query: new URLSearchParams(query < 0 ? "" : frame.path.slice(query + 1)),
        holdApproval: (approvalId) => client.held.add(approvalId),
        hangUp: () => {
          const controller = new AbortController();
          client.calls.set(id, controller);
          return controller.signal;
        },
      });
    } catch (error) {
      client.calls.delete(id);
      return this.reply(ws, id, errorAnswer(error));
    }
    Promise.resolve(pending).then(
      (body) => {
        client.calls.delete(id);
        this.reply(ws, id, { status: 200, body });
      },
      (error: unknown) => {
        client.calls.delete(id);
        this.reply(ws, id, errorAnswer(error));
      },
    );
  }

  /** The `events` topic carries every approval id and its arguments: the admin key's only. */
  private subscribe(ws: WebSocket, client: StreamClient, topics: StreamTopic[]): void {
    if (client.caller !== "admin" && topics.includes("events")) {
      return send(ws, { type: "error", message: "topics: the events topic needs the admin key; the agent key (APIE_API_KEY) hears only of its own approvals (see the watch frame)" });
    }
    client.topics = new Set(topics);
  }

  /** Holds the named approvals that exist and are pending, and answers with the current view of each (once). */
  private watch(ws: WebSocket, client: StreamClient, ids: string[]): void {
    for (const id of new Set(ids)) {
      const approval = this.journal.state.approvals.get(id);
      if (approval === undefined) continue;
      if (approval.status === "pending" && client.caller !== "admin") client.held.add(id);
      if (client.topics.has("approvals")) send(ws, { type: "approval", approval });
    }
  }

  private reply(ws: WebSocket, id: CallId, answer: { status: number; body: unknown }): void {
    send(ws, { type: "reply", id, status: answer.status, body: answer.body });
  }

  /** The guard state changed: `guard` subscribers (engine replicas) hear its new version. */
  guardChanged(version: number): void {
    let frame: string | undefined;
    for (const [ws, { topics }] of this.clients) {
      if (!topics.has("guard")) continue;
      frame ??= JSON.stringify({ type: "guard", version } satisfies StreamServerFrame);
      sendRaw(ws, frame);
    }
  }

  /**
   * One record to the connections that may hear it: an approval's view (opened or resolved) to admin-key
   * connections on `approvals` and to the agent-key connections that hold it (see StreamClientFrameSchema);
   * a mode change on `mode`; the record itself on `events` (admin key only). Each frame is serialised once.
   */
  private publish(record: TimelineRecord): void {
    if (this.clients.size === 0) return;
    const approvalId = approvalIdOf(record);
    const approval = approvalId === undefined ? undefined : this.journal.state.approvals.get(approvalId);
    const resolved = approval !== undefined && approval.status !== "pending";
    const mode = record.kind === "mode.changed" ? (record as TimelineRecord<"mode.changed">).data.mode : undefined;
    let approvalFrame: string | undefined;
    let modeFrame: string | undefined;
    let eventFrame: string | undefined;
    for (const [ws, client] of this.clients) {
      if (approvalId !== undefined) {
        const mine = client.caller === "admin" || client.held.has(approvalId);
        if (resolved) client.held.delete(approvalId);
        if (approval !== undefined && mine && client.topics.has("approvals")) {
          sendRaw(ws, (approvalFrame ??= JSON.stringify({ type: "approval", approval } satisfies StreamServerFrame)));
        }
      }
      if (mode !== undefined && client.topics.has("mode")) sendRaw(ws, (modeFrame ??= JSON.stringify({ type: "mode", mode } satisfies StreamServerFrame)));
      if (client.caller === "admin" && client.topics.has("events")) {
        eventFrame ??= JSON.stringify({ type: "event", record: { seq: record.seq, ts: record.ts, kind: record.kind, data: record.data } } satisfies StreamServerFrame);
        sendRaw(ws, eventFrame);
      }
    }
  }
}

/** The approval a record opens or resolves. */
function approvalIdOf(record: TimelineRecord): string | undefined {
  if (record.kind === "approval.requested") return (record as TimelineRecord<"approval.requested">).data.approval.id;
  if (record.kind === "approval.resolved") return (record as TimelineRecord<"approval.resolved">).data.id;
  return undefined;
}

/**
 * The id of a call frame that is not parsed (too deep), when its text starts the way clients write one:
 * `{"type":"call","id":…` with a number or a plain string id.
 */
function callIdAtStart(text: string): CallId | undefined {
  const match = /^\s*\{\s*"type"\s*:\s*"call"\s*,\s*"id"\s*:\s*(\d{1,15}|"[^"\\]{1,100}")/.exec(text.slice(0, 256));
  if (match === null) return undefined;
  const id = CallIdSchema.safeParse(JSON.parse(match[1]!));
  return id.success ? id.data : undefined;
}

/** The id of something that looks like a call frame, if it has a usable one. */
function callIdOf(json: unknown): CallId | undefined {
  if (typeof json !== "object" || json === null || (json as { type?: unknown }).type !== "call") return undefined;
  const id = CallIdSchema.safeParse((json as { id?: unknown }).id);
  return id.success ? id.data : undefined;
}

function send(ws: WebSocket, frame: StreamServerFrame): void {
  sendRaw(ws, JSON.stringify(frame));
}

function sendRaw(ws: WebSocket, text: string): void {
  if (ws.readyState !== ws.OPEN || tooSlow(ws)) return;
  ws.send(text);
}

/** A client that lets answers pile up unread is closed (1013), rather than growing the sidecar's memory. */
function tooSlow(ws: WebSocket): boolean {
  if (ws.bufferedAmount <= MAX_BUFFERED_BYTES) return false;
  ws.close(1013, "client too slow; reconnect and resync");
  return true;
}

const REFUSALS = {
  401: ["unauthorized", "Unauthorized"],
  403: ["forbidden", "Forbidden"],
  404: ["not_found", "Not Found"],
  503: ["too_many_connections", "Service Unavailable"],
} as const;

function refuse(socket: Duplex, status: keyof typeof REFUSALS, message: string): void {
  const [code, reason] = REFUSALS[status];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
