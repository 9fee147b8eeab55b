import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Readable, Writable } from "node:stream";
import type { ApieLogger } from "../sdk/types";
import { deliverLine, LineReader, parseLine, writeLine } from "./lineFraming";
import { ErrorCodes, errorResponse, errorWithoutId, type JSONRPCMessage } from "./messages";

/**
 * The host's side of a stdio proxy: newline-delimited JSON-RPC on our stdin/stdout (lineFraming.ts: each line
 * parsed with the SDK's `JSONRPCMessageSchema`), plus what the SDK leaves to its Server class:
 * - a message the proxy forwards unchanged in the turn it arrived in reaches a stdio upstream as the very line
 *   that was checked (lineFraming.ts, deliverLine), not serialized again — but what the pump decides or
 *   records on (a tool call, a cancellation) goes as parsed (proxy.ts, forgetLine);
 * - a line that is not JSON is answered with a parse error (-32700, `"id": null`); JSON that is no JSON-RPC
 *   message with an invalid request (-32600, with its id when it had a readable one, else `null`);
 * - a line over {@link MAX_CLIENT_LINE_BYTES} is dropped unread and answered -32600 under its id when the
 *   bounded scan of its edges finds one (else only stderr says so: a notification gets no answer);
 * the proxy keeps reading in every case;
 * - end of stdin (the host closed the pipe) or a broken stdout closes the transport (`onclose`).
 * stdout carries MCP messages only; everything else the proxy says goes to stderr.
 */

/** The most the host may send in one message: as over HTTP (httpClientSide.ts, MAX_BODY_BYTES). */
export const MAX_CLIENT_LINE_BYTES = 4 * 1024 * 1024;

export class StdioClientSide implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  private closed = false;
  private readonly reader: LineReader;

  constructor(
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly logger: ApieLogger,
  ) {
    this.reader = new LineReader(MAX_CLIENT_LINE_BYTES, {
      line: (text) => this.line(text),
      oversized: ({ bytes, id }) => {
        this.logger.warn(`a message of ${bytes} bytes from the MCP client exceeds the ${MAX_CLIENT_LINE_BYTES}-byte limit; dropped${id === undefined ? " (no id to answer)" : `, answered -32600 (id ${JSON.stringify(id)})`}`);
        if (id !== undefined) void this.send(errorResponse(id, ErrorCodes.invalidRequest, `Invalid Request: a message of ${bytes} bytes exceeds the MCP proxy's ${MAX_CLIENT_LINE_BYTES}-byte limit`, { limit: MAX_CLIENT_LINE_BYTES, bytes }));
      },
    });
  }

  async start(): Promise<void> {
    this.stdin.on("data", this.onData);
    this.stdin.once("end", () => void this.close());
    this.stdin.once("close", () => void this.close());
    this.stdin.on("error", (error) => this.onerror?.(error));
    this.stdout.on("error", (error) => {
      this.logger.warn(`stdout: ${error.message}; the MCP client is gone`);
      void this.close();
    });
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.closed) return Promise.resolve();
    return writeLine(this.stdout, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off("data", this.onData);
    this.stdin.pause();
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer): void => this.reader.push(chunk);
  private readonly deliver = (message: JSONRPCMessage): void => this.onmessage?.(message);

  private line(text: string): void {
    const parsed = parseLine(text);
    if (parsed.ok) {
      deliverLine(parsed.message, text, this.deliver);
      return;
    }
    if (parsed.code === ErrorCodes.parseError) {
      this.logger.warn(`a line from the MCP client is not JSON (${parsed.detail}); answered with a parse error`);
      void this.send(errorWithoutId(ErrorCodes.parseError, "Parse error", { detail: parsed.detail }));
      return;
    }
    this.logger.warn("a line from the MCP client is JSON but not a JSON-RPC message; answered with an invalid request error");
    const message = "Invalid Request: not a JSON-RPC 2.0 message";
    void this.send(parsed.id === undefined ? errorWithoutId(ErrorCodes.invalidRequest, message) : errorResponse(parsed.id, ErrorCodes.invalidRequest, message));
  }
}
