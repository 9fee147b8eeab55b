import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Readable, Writable } from "node:stream";
import type { ApieLogger } from "../sdk/types";
import { ErrorCodes, errorWithoutId, type JSONRPCMessage } from "./messages";

/**
 * The host's side of a stdio proxy: the SDK's `StdioServerTransport` on our stdin/stdout (newline-delimited
 * JSON-RPC, each line parsed with `JSONRPCMessageSchema`), plus what the SDK leaves to its Server class:
 * - a line that is not JSON is answered with a parse error (-32700, `"id": null`); JSON that is no JSON-RPC
 *   message with an invalid request (-32600, `"id": null`); the proxy keeps reading either way;
 * - end of stdin (the host closed the pipe) or a broken stdout closes the transport (`onclose`).
 * stdout carries MCP messages only; everything else the proxy says goes to stderr.
 */
export class StdioClientSide implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  private readonly inner: StdioServerTransport;
  private closed = false;

  constructor(
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly logger: ApieLogger,
  ) {
    this.inner = new StdioServerTransport(stdin, stdout);
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message) => this.onmessage?.(message);
    this.inner.onerror = (error) => this.malformed(error);
    this.inner.onclose = () => this.closedOnce();
    this.stdin.once("end", () => void this.close());
    this.stdin.once("close", () => void this.close());
    this.stdout.on("error", (error) => {
      this.logger.warn(`stdout: ${error.message}; the MCP client is gone`);
      void this.close();
    });
    await this.inner.start();
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.inner.send(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.inner.close();
  }

  private closedOnce(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  /** The transport reports unreadable lines through onerror: answer them as JSON-RPC says. */
  private malformed(error: Error): void {
    if (error instanceof SyntaxError) {
      this.logger.warn(`a line from the MCP client is not JSON (${error.message}); answered with a parse error`);
      void this.send(errorWithoutId(ErrorCodes.parseError, "Parse error", { detail: error.message }));
      return;
    }
    if (error.name === "ZodError" || Array.isArray((error as { issues?: unknown }).issues)) {
      this.logger.warn("a line from the MCP client is JSON but not a JSON-RPC message; answered with an invalid request error");
      void this.send(errorWithoutId(ErrorCodes.invalidRequest, "Invalid Request: not a JSON-RPC 2.0 message"));
      return;
    }
    this.onerror?.(error);
  }
}
