import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Mode } from "../guard/types";
import { firstIssue } from "../protocol/issues";
import type { TimelineRecord } from "../protocol/records";
import { STREAM_PATH, StreamClientFrameSchema, type StreamServerFrame, type StreamTopic } from "../protocol/stream";
import type { Journal } from "../store/journal";
import { checkAccess, type Keys } from "./security";

/** A client that lets this much pile up unread is cut off rather than growing the sidecar's memory. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_FRAME_BYTES = 64 * 1024;

/**
 * `/v1/stream`: pushes approvals, live records and mode changes to subscribed WebSocket clients. The upgrade
 * goes through the same access check as HTTP (key, Host, no Origin); a refused upgrade gets a plain HTTP
 * status and the socket is closed.
 */
export class StreamHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly topics = new Map<WebSocket, Set<StreamTopic>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly journal: Journal,
    private readonly keys: Keys,
    private readonly mode: () => Mode,
  ) {
    this.unsubscribe = journal.onRecord((record) => this.publish(record));
  }

  /** Wire to `server.on("upgrade", …)`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, port: number): void {
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH) return refuse(socket, 404, `no WebSocket endpoint at ${path}`);
    const access = checkAccess(req, this.keys, port);
    if (!access.ok) return refuse(socket, access.status, access.message);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  get clientCount(): number {
    return this.topics.size;
  }

  close(): void {
    this.unsubscribe();
    for (const ws of this.topics.keys()) ws.close(1001, "sidecar shutting down");
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    this.topics.set(ws, new Set(["approvals"]));
    ws.on("close", () => this.topics.delete(ws));
    ws.on("error", () => this.topics.delete(ws));
    ws.on("message", (data, isBinary) => this.onClientFrame(ws, isBinary ? null : data.toString()));
    send(ws, { type: "hello", last_seq: this.journal.state.lastSeq, mode: this.mode() });
  }

  private onClientFrame(ws: WebSocket, text: string | null): void {
    let json: unknown;
    try {
      json = text === null ? undefined : JSON.parse(text);
    } catch {
      return send(ws, { type: "error", message: "frame is not JSON" });
    }
    const parsed = StreamClientFrameSchema.safeParse(json);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      return send(ws, { type: "error", message: field ? `${field}: ${message}` : message });
    }
    const frame = parsed.data;
    if (frame.type === "subscribe") this.topics.set(ws, new Set(frame.topics));
    else send(ws, { type: "pong", ...(frame.id !== undefined ? { id: frame.id } : {}) });
  }

  private publish(record: TimelineRecord): void {
    if (this.topics.size === 0) return;
    const frames: [StreamTopic, string][] = [];
    if (record.kind === "approval.requested" || record.kind === "approval.resolved") {
      const id = record.kind === "approval.requested" ? (record as TimelineRecord<"approval.requested">).data.approval.id : (record as TimelineRecord<"approval.resolved">).data.id;
      const approval = this.journal.state.approvals.get(id);
      if (approval) frames.push(["approvals", JSON.stringify({ type: "approval", approval } satisfies StreamServerFrame)]);
    }
    if (record.kind === "mode.changed") {
      frames.push(["mode", JSON.stringify({ type: "mode", mode: (record as TimelineRecord<"mode.changed">).data.mode } satisfies StreamServerFrame)]);
    }
    let eventFrame: string | undefined;
    for (const [ws, topics] of this.topics) {
      for (const [topic, frame] of frames) if (topics.has(topic)) sendRaw(ws, frame);
      if (topics.has("events")) {
        eventFrame ??= JSON.stringify({ type: "event", record: { seq: record.seq, ts: record.ts, kind: record.kind, data: record.data } } satisfies StreamServerFrame);
        sendRaw(ws, eventFrame);
      }
    }
  }
}

function send(ws: WebSocket, frame: StreamServerFrame): void {
  sendRaw(ws, JSON.stringify(frame));
}

function sendRaw(ws: WebSocket, text: string): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    ws.close(1013, "client too slow; reconnect and resync");
    return;
  }
  ws.send(text);
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? "unauthorized" : status === 404 ? "not_found" : "forbidden", message } });
  const reason = status === 401 ? "Unauthorized" : status === 404 ? "Not Found" : "Forbidden";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
