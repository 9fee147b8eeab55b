import type { Socket } from "node:net";
import WebSocket from "ws";
import { z } from "zod";
import { ApprovalStatusSchema, type ApprovalStatus } from "../protocol/approvals";
import { MAX_WATCH_IDS, STREAM_PATH, type CallId, type StreamClientFrame, type StreamServerFrame } from "../protocol/stream";
import { TransportError, type Method } from "./http";

/**
 * The client's one WebSocket to `/v1/stream`, shared by everything in the client:
 * - approval waiters follow the `approvals` topic (the server's default subscription): a `watch` frame names
 *   each approval waited on, since an agent-key connection is pushed only the approvals opened by its own
 *   calls or named by id (the guard call that opened it may have gone over HTTP, or another connection);
 * - v1 requests travel as `call` frames when the sidecar announces `calls` in its hello — a frame costs a
 *   fraction of an HTTP exchange, which is most of the guard path's latency (bench/sidecar.bench.ts).
 *   Anywhere else (an Apie server without the extension, the socket down), requests use HTTP.
 *
 * The connection is authenticated like HTTP (Bearer key on the upgrade) and sends no Origin header (the
 * sidecar refuses web pages). Its socket is ref'd only while someone waits on it, so an idle connection never
 * keeps the process alive; `close()` ends it. After a drop, `warm()` reconnects in the background with
 * backoff; a server that has no stream endpoint (404 on the upgrade) is not asked again.
 */

export type ApprovalListener = (status: ApprovalStatus) => void;

/** What a `call` got back: the HTTP status and JSON body the same request gets over HTTP. */
export interface CallAnswer {
  status: number;
  body: unknown;
}

interface Watcher {
  onUpdate: ApprovalListener;
  onDrop: () => void;
}

interface PendingCall {
  resolve: (answer: CallAnswer) => void;
  reject: (error: TransportError) => void;
  timer: NodeJS.Timeout;
  what: string;
}

const ApprovalFrameSchema = z.object({
  type: z.literal("approval"),
  approval: z.object({ id: z.string(), status: ApprovalStatusSchema }),
});
const HelloFrameSchema = z.object({ type: z.literal("hello"), calls: z.boolean().optional() }).loose();
const ReplyFrameSchema = z.object({ type: z.literal("reply"), id: z.int(), status: z.int(), body: z.unknown() });
// Contract checks: the sidecar's frames parse here.
const _framesParse = (
  approval: Extract<StreamServerFrame, { type: "approval" }>,
  hello: Extract<StreamServerFrame, { type: "hello" }>,
  reply: Extract<StreamServerFrame, { type: "reply" }> & { id: number },
): [z.input<typeof ApprovalFrameSchema>, z.input<typeof HelloFrameSchema>, z.input<typeof ReplyFrameSchema>] => [approval, hello, reply];
void _framesParse;

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 60_000;
const WARM_CONNECT_TIMEOUT_MS = 2_000;

export class SidecarStream {
  private socket: WebSocket | undefined;
  private netSocket: Socket | undefined;
  private opening: Promise<boolean> | undefined;
  private callsServed = false;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private watcherCount = 0;
  private readonly pending = new Map<CallId, PendingCall>();
  private nextCallId = 0;
  private held = false;
  private closed = false;
  /** A server without `/v1/stream`: never asked again. */
  private unsupported = false;
  private retryAt = 0;
  private retryDelay = RECONNECT_MIN_MS;
  private topics: readonly string[] | undefined;
  private readonly frameListeners = new Set<(frame: Record<string, unknown>) => void>();

  constructor(
    private readonly url: string,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  static urlFor(baseUrl: string): string {
    const url = new URL(baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = url.pathname.replace(/\/+$/, "") + STREAM_PATH;
    return url.toString();
  }

  /** Resolves true once the server's hello arrived on an open connection, false if none within `timeoutMs`. */
  connect(timeoutMs: number): Promise<boolean> {
    if (this.closed || this.unsupported) return Promise.resolve(false);
    if (this.socket?.readyState === WebSocket.OPEN && this.opening === undefined) return Promise.resolve(true);
    this.opening ??= this.open(timeoutMs).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Starts connecting in the background unless connected, connecting, or backing off after a failure. */
  warm(): void {
    if (this.socket !== undefined || this.opening !== undefined || this.closed || this.unsupported || Date.now() < this.retryAt) return;
    void this.connect(WARM_CONNECT_TIMEOUT_MS);
  }

  /** True when requests can go as `call` frames right now. */
  get callsAvailable(): boolean {
    return this.callsServed && this.socket !== undefined && this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * One v1 request as a `call` frame; `body` is its JSON text (POST). Rejects with {@link TransportError}:
   * `timeout` past `deadline` (the call is then cancelled on the server), `unreachable` when the connection
   * drops first or is not open.
   */
  call(method: Method, path: string, body: string | undefined, deadline: number): Promise<CallAnswer> {
    const socket = this.socket;
    const what = `${method} ${path}`;
    if (socket === undefined || !this.callsAvailable) return Promise.reject(new TransportError("unreachable", `${what}: the stream is not open`));
    const id = this.nextCallId++;
    return new Promise<CallAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        this.updateRef();
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "cancel", id }));
        reject(new TransportError("timeout", `${what}: no answer within the deadline`));
      }, Math.max(0, deadline - Date.now()));
      this.pending.set(id, { resolve, reject, timer, what });
      this.updateRef();
      // The body is spliced in as the JSON text it already is: serialized once, by its producer.
      const head = `{"type":"call","id":${id},"method":"${method}","path":${JSON.stringify(path)}`;
      socket.send(body === undefined ? `${head}}` : `${head},"body":${body}}`);
    });
  }

  /**
   * Subscribes to these topics (instead of the server's default, `approvals`) now and after every reconnect.
   * Without `approvals`, watchers hear nothing (the waiter then learns the status only by its reads).
   */
  subscribe(topics: readonly string[]): void {
    this.topics = topics;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "subscribe", topics }));
  }

  /** Every other server frame — `hello` included, once per connection — as parsed JSON. Returns the unsubscribe. */
  onFrame(listener: (frame: Record<string, unknown>) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /**
   * Follows one approval: `onUpdate` for each status pushed for it, `onDrop` if the connection ends while
   * watching (updates may have been missed; re-check and reconnect). Returns the unsubscribe function.
   */
  watch(approvalId: string, onUpdate: ApprovalListener, onDrop: () => void): () => void {
    const watcher: Watcher = { onUpdate, onDrop };
    let set = this.watchers.get(approvalId);
    if (set === undefined) {
      this.watchers.set(approvalId, (set = new Set()));
      // Open: named now. Not yet: named with the others once the server's hello arrives.
      if (this.socket?.readyState === WebSocket.OPEN) sendWatch(this.socket, [approvalId]);
    }
    set.add(watcher);
    this.watcherCount++;
    this.updateRef();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(watcher);
      if (set.size === 0) this.watchers.delete(approvalId);
      this.watcherCount--;
      this.updateRef();
    };
  }

  close(): void {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    socket?.terminate();
    this.failPending("the client was shut down");
  }

  private open(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) this.retryDelay = RECONNECT_MIN_MS;
        else this.backOff();
        resolve(ok);
      };
      const socket = new WebSocket(this.url, { headers: { ...this.headers }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
      const timer = setTimeout(() => {
        settle(false);
        socket.terminate();
      }, timeoutMs);
      socket.on("upgrade", (res) => {
        this.netSocket = res.socket;
        this.held = true; // a fresh socket is ref'd; updateRef settles it
        this.updateRef();
      });
      socket.on("unexpected-response", (_req, res) => {
        if (res.statusCode === 404) this.unsupported = true;
        socket.terminate();
      });
      socket.on("message", (data, isBinary) => {
        if (isBinary) return;
        const frame = parseFrame(String(data));
        if (frame === undefined) return;
        if (this.socket === socket) return this.handleFrame(frame);
        const hello = HelloFrameSchema.safeParse(frame);
        if (!hello.success) return;
        if (this.closed) {
          socket.terminate();
          settle(false);
          return;
        }
        this.socket = socket;
        this.callsServed = hello.data.calls === true;
        if (this.topics !== undefined) socket.send(JSON.stringify({ type: "subscribe", topics: this.topics }));
        this.sendWatches(socket);
        settle(true);
        for (const listener of this.frameListeners) listener(frame as Record<string, unknown>);
      });
      // Errors (refused, 401, reset) end in "close"; this listener only keeps them from being thrown.
      socket.on("error", () => undefined);
      socket.on("close", () => {
        settle(false);
        if (this.socket !== socket) return;
        this.socket = undefined;
        this.netSocket = undefined;
        this.callsServed = false;
        this.failPending("the connection to the sidecar dropped");
        for (const set of [...this.watchers.values()]) for (const w of [...set]) w.onDrop();
      });
    });
  }

  private handleFrame(frame: unknown): void {
    const type = (frame as { type?: unknown }).type;
    if (type === "reply") {
      const reply = ReplyFrameSchema.safeParse(frame);
      if (!reply.success) return;
      const call = this.pending.get(reply.data.id);
      if (call === undefined) return; // timed out meanwhile
      this.pending.delete(reply.data.id);
      clearTimeout(call.timer);
      this.updateRef();
      call.resolve({ status: reply.data.status, body: reply.data.body });
      return;
    }
    if (type === "approval") {
      const approval = ApprovalFrameSchema.safeParse(frame);
      if (approval.success) this.dispatch(approval.data.approval.id, approval.data.approval.status);
      return;
    }
    for (const listener of this.frameListeners) listener(frame as Record<string, unknown>);
  }

  /** Names every approval watched on a new connection, in frames of at most MAX_WATCH_IDS. */
  private sendWatches(socket: WebSocket): void {
    const ids = [...this.watchers.keys()];
    for (let i = 0; i < ids.length; i += MAX_WATCH_IDS) sendWatch(socket, ids.slice(i, i + MAX_WATCH_IDS));
  }

  private failPending(reason: string): void {
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(new TransportError("unreachable", `${call.what}: ${reason}`));
    }
    this.pending.clear();
    this.updateRef();
  }

  private backOff(): void {
    this.retryAt = Date.now() + this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RECONNECT_MAX_MS);
  }

  private dispatch(approvalId: string, status: ApprovalStatus): void {
    const set = this.watchers.get(approvalId);
    if (set) for (const w of [...set]) w.onUpdate(status);
  }

  /** Hold the process open only while someone waits on the stream (a watcher or a call in flight). */
  private updateRef(): void {
    if (this.netSocket === undefined) return;
    const hold = this.watcherCount > 0 || this.pending.size > 0;
    if (hold === this.held) return;
    this.held = hold;
    if (hold) this.netSocket.ref();
    else this.netSocket.unref();
  }
}

/** Ids no approval can have (the server's schema refuses them, and the whole frame with them) are left out. */
function sendWatch(socket: WebSocket, ids: string[]): void {
  const named = ids.filter((id) => id.length > 0 && id.length <= 100);
  if (named.length > 0) socket.send(JSON.stringify({ type: "watch", ids: named } satisfies StreamClientFrame));
}

function parseFrame(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
