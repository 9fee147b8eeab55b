import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ApieLogger } from "../sdk/types";
import { forgetLine, WRITTEN } from "./lineFraming";
import {
  ErrorCodes,
  errorResponse,
  isNotification,
  isRequest,
  isResponse,
  progressNotification,
  progressTokenOf,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type ProgressToken,
  type RequestId,
} from "./messages";
import type { CallContext, OutcomeTicket, Verdict } from "./toolCallGuard";

/**
 * The message pump between one MCP client (the host, through a server-side transport) and one upstream MCP
 * server (through a client-side transport). Messages pass at the raw JSON-RPC level, exactly as the
 * transports parsed them (the SDK's `JSONRPCMessageSchema`), so any protocol version the two ends agree on
 * works; the proxy never sends requests of its own, so ids pass through unchanged. Exceptions:
 * - `tools/call` requests are held until the guard decides: forwarded, answered by the proxy (a refusal or
 *   an error), or dropped (the client cancelled it);
 * - `notifications/cancelled` for a held call ends the wait and is not forwarded (the upstream never saw
 *   the request); the proxy's own `notifications/progress` go to the client while a call waits for approval;
 * - the `initialize` answer sets the upstream transport's protocol version (the HTTP header); `tools/list`
 *   answers are handed to the catalog after being forwarded.
 * When the upstream goes away every pending request gets a -32603 error and {@link McpProxy.done} resolves;
 * when the client goes away it resolves too. The caller then calls {@link McpProxy.close}.
 */

/** How a proxy session ended. */
export type ProxyEnd = { reason: "client_closed" } | { reason: "upstream_closed"; message: string };

/** The guard side of the pump (implemented by ToolCallGuard + ToolCatalog). */
export interface ToolCallHandler {
  /** A verdict reached without waiting (forwarded in the same turn), else undefined: then `decide`. */
  decideNow(request: JSONRPCRequest): Verdict | undefined;
  decide(request: JSONRPCRequest, ctx: CallContext): Promise<Verdict>;
  settled(ticket: OutcomeTicket, response: JSONRPCResponse | { failure: string }): void;
  toolsListed(result: unknown): void;
}

interface Pending {
  method: string;
  progressToken: ProgressToken | undefined;
  /** held: the guard is deciding (tools/call); forwarded: the upstream has it. */
  state: "held" | "forwarded";
  abort: AbortController | undefined;
  ticket: OutcomeTicket | undefined;
  progress: number | undefined;
}

export interface McpProxyOptions {
  /** For messages: `filesystem (npx -y @modelcontextprotocol/server-filesystem /tmp)`. */
  upstreamLabel: string;
  logger: ApieLogger;
}

export class McpProxy {
  /** Resolves once, when either side is gone. */
  readonly done: Promise<ProxyEnd>;
  private resolveDone!: (end: ProxyEnd) => void;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly deciding = new Set<Promise<void>>();
  private ended: ProxyEnd | undefined;
  private closing: Promise<void> | undefined;
  /** The last message handed to the client transport (stdio sends are ordered: waiting for it waits for all). */
  private lastClientSend: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: Transport,
    private readonly upstream: Transport,
    private readonly handler: ToolCallHandler,
    private readonly options: McpProxyOptions,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts the upstream first (a spawn failure rejects here), then listens to the client. */
  async start(): Promise<void> {
    this.upstream.onmessage = (message) => this.fromUpstream(message);
    this.upstream.onerror = (error) => this.options.logger.warn(`upstream: ${error.message}`);
    this.upstream.onclose = () => this.upstreamClosed();
    this.client.onmessage = (message) => this.fromClient(message);
    this.client.onclose = () => this.finish({ reason: "client_closed" });
    this.client.onerror ??= (error) => this.options.logger.warn(`client: ${error.message}`);
    await this.upstream.start();
    await this.client.start();
  }

  /**
   * Stops both sides: held calls are abandoned (their approvals cancelled with `reason`; waits at most 2 s
   * for that), the upstream closed (stdio: stdin closed, then SIGTERM/SIGKILL), the client transport closed.
   * Without `reason` the cause is named from how the session ended: the client closed it (end of stdin, an
   * HTTP DELETE), else the proxy is shutting down. Idempotent.
   */
  close(reason?: string): Promise<void> {
    this.closing ??= (async () => {
      const why = reason ?? (this.ended?.reason === "client_closed" ? "the MCP client closed its session" : "the MCP proxy is shutting down");
      this.finish({ reason: "client_closed" });
      for (const pending of this.pending.values()) pending.abort?.abort(why);
      this.pending.clear();
      await Promise.race([Promise.allSettled([...this.deciding]), delay(2_000)]);
      await Promise.race([this.lastClientSend, delay(1_000)]);
      await Promise.allSettled([this.upstream.close(), this.client.close()]);
    })();
    return this.closing;
  }

  /**
   * The client can no longer receive the answer to request `id` (over HTTP: its response stream closed
   * before the answer, with no cancel and no DELETE). A call still held for a decision is abandoned — its
   * approval cancelled with `reason` — and never forwarded: nobody could receive its result. A request the
   * upstream already has is left to finish (the 2025 revisions do not make a disconnect a cancellation).
   */
  requesterGone(id: RequestId, reason: string): void {
    const pending = this.pending.get(id);
    if (pending?.state !== "held") return;
    this.pending.delete(id);
    pending.abort?.abort(reason);
  }

  private fromClient(message: JSONRPCMessage): void {
    if (this.ended !== undefined) return;
    // What the pump decides or records on goes upstream as it was parsed, never as its line: a line can say
    // something else to another parser (a duplicate key; see forgetLine), and the upstream must run what the
    // guard decided, and cancel what the log says was cancelled.
    if (decidedOrRecorded(message)) forgetLine(message);
    if (isRequest(message)) {
      // Every field from the start: what the call's path writes later never changes the object's shape.
      const pending: Pending = { method: message.method, progressToken: progressTokenOf(message), state: "forwarded", abort: undefined, ticket: undefined, progress: undefined };
      this.pending.set(message.id, pending);
      if (message.method === "tools/call") this.guard(message, pending);
      else this.toUpstream(message);
      return;
    }
    if (isNotification(message) && message.method === "notifications/cancelled") {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const pending = id === undefined ? undefined : this.pending.get(id);
      if (pending !== undefined && id !== undefined) {
        this.pending.delete(id);
        if (pending.state === "held") {
          pending.abort?.abort("the MCP client cancelled the tool call");
          return; // the upstream never saw the request
        }
        this.settle(pending, { failure: "cancelled by the MCP client" });
      }
    }
    this.toUpstream(message);
  }

  private guard(request: JSONRPCRequest, pending: Pending): void {
    let now: Verdict | undefined;
    try {
      now = this.handler.decideNow(request);
    } catch {
      now = undefined; // the fast path failed: decide() takes the call, with its own error handling (never an allow by fault)
    }
    if (now?.action === "forward") {
      pending.ticket = now.ticket;
      this.toUpstream(request);
      return;
    }
    pending.state = "held";
    const abort = new AbortController();
    pending.abort = abort;
    const token = pending.progressToken;
    const progress =
      token === undefined
        ? undefined
        : (text: string) => {
            if (this.pending.get(request.id) !== pending) return;
            pending.progress = (pending.progress ?? 0) + 1;
            this.toClient(progressNotification(token, pending.progress, text), request.id);
          };
    const deciding = this.handler.decide(request, { signal: abort.signal, progress }).then(
      (verdict) => {
        if (this.pending.get(request.id) !== pending) return; // cancelled, or the upstream went away meanwhile
        if (verdict.action === "forward") {
          pending.state = "forwarded";
          pending.ticket = verdict.ticket;
          this.toUpstream(request);
          return;
        }
        this.pending.delete(request.id);
        if (verdict.action === "answer") this.toClient(verdict.message);
      },
      (error: unknown) => {
        this.options.logger.warn(`tools/call ${String(request.id)}: ${(error as Error).stack ?? String(error)}`);
        if (this.pending.get(request.id) !== pending) return;
        this.pending.delete(request.id);
        this.toClient(errorResponse(request.id, ErrorCodes.internalError, `MCP proxy error: ${(error as Error).message}`));
      },
    );
    this.deciding.add(deciding);
    void deciding.finally(() => this.deciding.delete(deciding));
  }

  private fromUpstream(message: JSONRPCMessage): void {
    if (isResponse(message)) {
      this.toClient(message);
      if (message.id === undefined) return; // an error about nothing in particular
      const pending = this.pending.get(message.id);
      if (pending === undefined) return;
      this.pending.delete(message.id);
      if ("result" in message) {
        if (pending.method === "initialize") {
          const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
          if (typeof version === "string") this.upstream.setProtocolVersion?.(version);
        } else if (pending.method === "tools/list") {
          this.handler.toolsListed(message.result);
        }
      }
      this.settle(pending, message);
      return;
    }
    this.toClient(message, this.relatedRequest(message));
  }

  /**
   * Which client request an upstream notification or request belongs to (matters for Streamable HTTP, where
   * it travels on that request's stream): progress by its token; anything else with the most recent
   * forwarded request, else the session's own stream.
   */
  private relatedRequest(message: JSONRPCMessage): RequestId | undefined {
    if (isNotification(message) && message.method === "notifications/progress") {
      const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
      for (const [id, pending] of this.pending) if (pending.progressToken === token) return id;
    }
    let latest: RequestId | undefined;
    for (const [id, pending] of this.pending) if (pending.state === "forwarded") latest = id;
    return latest;
  }

  private toUpstream(message: JSONRPCMessage): void {
    const sending = this.upstream.send(message);
    if (sending === WRITTEN) return; // taken at once: nothing can fail any more (lineFraming.ts)
    sending.catch((error: unknown) => {
      const why = `the upstream MCP server did not take the message: ${(error as Error).message}`;
      if (!isRequest(message)) {
        this.options.logger.warn(why);
        return;
      }
      const pending = this.pending.get(message.id);
      if (pending === undefined) return;
      this.pending.delete(message.id);
      this.settle(pending, { failure: why });
      this.toClient(errorResponse(message.id, ErrorCodes.internalError, why, { upstream: this.options.upstreamLabel }));
    });
  }

  private toClient(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    const sending = this.client.send(message, relatedRequestId === undefined ? undefined : { relatedRequestId });
    this.lastClientSend =
      sending === WRITTEN
        ? sending
        : sending.catch((error: unknown) => {
            this.options.logger.warn(`could not deliver a message to the MCP client: ${(error as Error).message}`);
          });
  }

  /** Records a forwarded call's outcome under its ticket. */
  private settle(pending: Pending, response: JSONRPCResponse | { failure: string }): void {
    if (pending.ticket !== undefined) this.handler.settled(pending.ticket, response);
  }

  private upstreamClosed(): void {
    if (this.closing !== undefined || this.ended !== undefined) return;
    const message = `the upstream MCP server ${this.options.upstreamLabel} exited`;
    for (const [id, pending] of this.pending) {
      pending.abort?.abort("the upstream MCP server exited");
      this.settle(pending, { failure: message });
      this.toClient(errorResponse(id, ErrorCodes.internalError, `Upstream MCP server exited before answering ${pending.method}`, { upstream: this.options.upstreamLabel }));
    }
    this.pending.clear();
    this.finish({ reason: "upstream_closed", message });
  }

  private finish(end: ProxyEnd): void {
    if (this.ended !== undefined) return;
    this.ended = end;
    this.resolveDone(end);
  }
}

/** A tool call (guarded) or a cancellation (its call's outcome is recorded as cancelled). */
function decidedOrRecorded(message: JSONRPCMessage): boolean {
  return (isRequest(message) && message.method === "tools/call") || (isNotification(message) && message.method === "notifications/cancelled");
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
