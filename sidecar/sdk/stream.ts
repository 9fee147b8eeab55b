import type { Socket } from "node:net";
import WebSocket from "ws";
import { z } from "zod";
import { ApprovalStatusSchema, type ApprovalStatus } from "../protocol/approvals";
import { STREAM_PATH, type StreamServerFrame } from "../protocol/stream";

/**
 * The client's one WebSocket to `/v1/stream`, opened lazily when the first approval wait needs it and shared
 * by every waiter. It follows the `approvals` topic (the server's default subscription). The connection is
 * authenticated like HTTP (Bearer key on the upgrade) and sends no Origin header (the sidecar refuses web
 * pages). While nobody is waiting, its socket is unref'd, so an idle connection never keeps the process
 * alive; `close()` ends it. After a drop the next `connect()` opens a new one.
 */

export type ApprovalListener = (status: ApprovalStatus) => void;

interface Watcher {
  onUpdate: ApprovalListener;
  onDrop: () => void;
}

const ApprovalFrameSchema = z.object({
  type: z.literal("approval"),
  approval: z.object({ id: z.string(), status: ApprovalStatusSchema }),
});
const HelloFrameSchema = z.object({ type: z.literal("hello") });
// Contract check: the sidecar's approval frame parses here.
const _frameParses = (frame: Extract<StreamServerFrame, { type: "approval" }>): z.input<typeof ApprovalFrameSchema> => frame;
void _frameParses;

export class ApprovalStream {
  private socket: WebSocket | undefined;
  private netSocket: Socket | undefined;
  private opening: Promise<boolean> | undefined;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private watcherCount = 0;
  private closed = false;

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
    if (this.closed) return Promise.resolve(false);
    if (this.socket?.readyState === WebSocket.OPEN && this.opening === undefined) return Promise.resolve(true);
    this.opening ??= this.open(timeoutMs).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /**
   * Follows one approval: `onUpdate` for each status pushed for it, `onDrop` if the connection ends while
   * watching (updates may have been missed; re-check and reconnect). Returns the unsubscribe function.
   */
  watch(approvalId: string, onUpdate: ApprovalListener, onDrop: () => void): () => void {
    const watcher: Watcher = { onUpdate, onDrop };
    let set = this.watchers.get(approvalId);
    if (set === undefined) this.watchers.set(approvalId, (set = new Set()));
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
  }

  private open(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const socket = new WebSocket(this.url, { headers: { ...this.headers }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
      const timer = setTimeout(() => {
        settle(false);
        socket.terminate();
      }, timeoutMs);
      socket.on("upgrade", (res) => {
        this.netSocket = res.socket;
        this.updateRef();
      });
      socket.on("message", (data, isBinary) => {
        if (isBinary) return;
        const frame = parseFrame(String(data));
        if (frame === undefined) return;
        if (HelloFrameSchema.safeParse(frame).success) {
          if (this.closed) {
            socket.terminate();
            settle(false);
            return;
          }
          this.socket = socket;
          settle(true);
          return;
        }
        const approval = ApprovalFrameSchema.safeParse(frame);
        if (approval.success) this.dispatch(approval.data.approval.id, approval.data.approval.status);
      });
      // Errors (refused, 401, reset) end in "close"; this listener only keeps them from being thrown.
      socket.on("error", () => undefined);
      socket.on("close", () => {
        settle(false);
        if (this.socket !== socket) return;
        this.socket = undefined;
        this.netSocket = undefined;
        for (const set of [...this.watchers.values()]) for (const w of [...set]) w.onDrop();
      });
    });
  }

  private dispatch(approvalId: string, status: ApprovalStatus): void {
    const set = this.watchers.get(approvalId);
    if (set) for (const w of [...set]) w.onUpdate(status);
  }

  /** Hold the process open only while someone waits on the stream. */
  private updateRef(): void {
    if (this.netSocket === undefined) return;
    if (this.watcherCount > 0) this.netSocket.ref();
    else this.netSocket.unref();
  }
}

function parseFrame(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
