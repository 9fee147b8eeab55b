import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ServerResponse } from "node:http";
import { isNotification, isResponse, progressTokenOf, type JSONRPCMessage, type JSONRPCRequest, type RequestId } from "./messages";
import { httpStatusOf, isModernError } from "./requestMetadata";

/**
 * The host's side of the proxy for session-less requests of the modern revisions (2026-07-28 and later)
 * over `--transport http`: each HTTP POST carries one request, and its HTTP response carries that request's
 * answer — a single JSON object, or an SSE stream when notifications for it (progress, e.g. while it waits
 * for approval) come first. All session-less requests share one pump and one upstream, so the id (and the
 * progress token) of each request is replaced by one of the proxy's own on the way in and restored on the
 * way out: two hosts may both send id 1.
 * - The host closing a response before its answer cancels that request (the modern revisions' rule):
 *   `notifications/cancelled` goes into the pump, which cancels a pending approval or tells the upstream.
 * - `server/discover` answered with an error that is not a modern one means the upstream speaks only the
 *   handshake era: the host gets 400 with a body that is no modern error, which is what makes a dual-era
 *   client fall back to initialize (a session), as it would talking to that upstream directly.
 * - Change notifications come only on a `subscriptions/listen` request's stream, each naming it in
 *   `_meta["io.modelcontextprotocol/subscriptionId"]` (as does the result that ends it): that id is the
 *   proxy's own too, so they go to the host that opened the stream, under the host's id. Notifications that
 *   name no request in flight have nowhere to go and are dropped rather than guessed onto some host's
 *   stream; server→client requests do not exist in these revisions (they are embedded in results).
 */

interface Exchange {
  res: ServerResponse;
  /** The host's id and progress token, restored in what goes back. */
  id: RequestId;
  progressToken: string | number | undefined;
  method: string;
  /** The answer is an SSE stream (a notification came before it). */
  streaming: boolean;
}

/** Where a subscription's notifications and its closing result name their `subscriptions/listen` request. */
const SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

/** `holder` with `_meta[SUBSCRIPTION_ID]` restored to the host's id when it is the proxy's `laneId`; else `holder` as is. */
function withSubscriptionId<T>(holder: T, laneId: string, hostId: RequestId): T {
  const meta = (holder as { _meta?: Record<string, unknown> } | null | undefined)?._meta;
  if (meta === undefined || meta === null || typeof meta !== "object" || meta[SUBSCRIPTION_ID] !== laneId) return holder;
  return { ...holder, _meta: { ...meta, [SUBSCRIPTION_ID]: hostId } };
}

export const LEGACY_UPSTREAM = "the upstream MCP server does not serve protocol revision 2026-07-28 or later";

export class StatelessClientSide implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  private readonly exchanges = new Map<string, Exchange>();
  /** The proxy's own requests in the pump, by their id: what their answer resolves. */
  private readonly own = new Map<string, (answer: JSONRPCMessage | undefined) => void>();
  private next = 0;
  private closed = false;

  async start(): Promise<void> {}

  /** One POSTed request; its answer (or its cancellation, when `res` closes first) is handled here. */
  request(request: JSONRPCRequest, res: ServerResponse): void {
    const laneId = `apie-lane-${++this.next}`;
    const progressToken = progressTokenOf(request);
    const exchange: Exchange = { res, id: request.id, progressToken, method: request.method, streaming: false };
    this.exchanges.set(laneId, exchange);
    res.once("close", () => {
      if (this.exchanges.get(laneId) !== exchange) return;
      this.exchanges.delete(laneId);
      this.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: laneId, reason: "the MCP client closed the request's response stream" } });
    });
    const params = request.params;
    const forwarded: JSONRPCRequest =
      progressToken === undefined ? { ...request, id: laneId } : { ...request, id: laneId, params: { ...params, _meta: { ...params!._meta, progressToken: laneId } } };
    this.onmessage?.(forwarded);
  }

  /**
   * A request of the proxy's own into the pump (e.g. `tools/list`, to learn what a tool declares): its answer,
   * or undefined when the lane closes first or `signal` aborts. An aborted request is cancelled as a host's
   * is (`notifications/cancelled` into the pump, which tells the upstream and forgets it): a request nobody
   * waits for any more is not left pending, in the pump or here.
   */
  ownRequest(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<JSONRPCMessage | undefined> {
    if (this.closed || signal?.aborted === true) return Promise.resolve(undefined);
    const laneId = `apie-own-${++this.next}`;
    return new Promise((resolve) => {
      const done = (answer: JSONRPCMessage | undefined): void => {
        signal?.removeEventListener("abort", abandon);
        resolve(answer);
      };
      const abandon = (): void => {
        if (this.own.get(laneId) !== done) return;
        this.own.delete(laneId);
        this.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: laneId, reason: "the MCP proxy stopped waiting for its own request" } });
        done(undefined);
      };
      this.own.set(laneId, done);
      signal?.addEventListener("abort", abandon, { once: true });
      this.onmessage?.({ jsonrpc: "2.0", id: laneId, method, params });
    });
  }

  /** One POSTed notification (the caller answers 202). */
  notify(message: JSONRPCMessage): void {
    this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      const laneId = String(message.id);
      const ownAnswer = this.own.get(laneId);
      if (ownAnswer !== undefined) {
        this.own.delete(laneId);
        return ownAnswer(message);
      }
      const exchange = this.exchanges.get(laneId);
      if (exchange === undefined) return; // cancelled meanwhile
      this.exchanges.delete(laneId);
      const result = "result" in message ? withSubscriptionId(message.result, laneId, exchange.id) : undefined;
      this.answer(exchange, result === undefined ? { ...message, id: exchange.id } : { ...message, id: exchange.id, result });
      return;
    }
    if (!isNotification(message)) return;
    const params = message.params as { progressToken?: unknown; _meta?: Record<string, unknown> } | undefined;
    // A subscription's notification, by the id of its subscriptions/listen request (the proxy's own).
    const subscription = params?._meta?.[SUBSCRIPTION_ID];
    if (subscription !== undefined) {
      const exchange = this.exchanges.get(String(subscription));
      if (exchange !== undefined) this.event(exchange, { ...message, params: withSubscriptionId(params, String(subscription), exchange.id) as typeof message.params });
      return;
    }
    // Progress, by its token (the proxy's own too).
    if (message.method !== "notifications/progress") return;
    const exchange = this.exchanges.get(String(params?.progressToken));
    if (exchange === undefined || exchange.progressToken === undefined) return;
    this.event(exchange, { ...message, params: { ...message.params, progressToken: exchange.progressToken } });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.exchanges.values()];
    this.exchanges.clear(); // before ending them: their close is no cancellation to report
    for (const { res } of open) (res.headersSent ? res : res.writeHead(503)).end();
    const waiting = [...this.own.values()];
    this.own.clear();
    for (const resolve of waiting) resolve(undefined);
    this.onclose?.();
  }

  private answer(exchange: Exchange, message: JSONRPCMessage): void {
    const { res } = exchange;
    if (exchange.streaming) {
      this.event(exchange, message);
      res.end();
      return;
    }
    const code = "error" in message ? message.error.code : undefined;
    if (code !== undefined && exchange.method === "server/discover" && !isModernError(code)) {
      const why = `Bad Request: ${LEGACY_UPSTREAM} (server/discover: ${(message as { error: { message: string } }).error.message}); initialize opens a session`;
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: exchange.id, error: { code: -32000, message: why } }));
      return;
    }
    res.writeHead(code === undefined ? 200 : httpStatusOf(code), { "content-type": "application/json" }).end(JSON.stringify(message));
  }

  private event(exchange: Exchange, message: JSONRPCMessage): void {
    const { res } = exchange;
    if (!exchange.streaming) {
      exchange.streaming = true;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" });
    }
    res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }
}
