import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ChildProcess } from "node:child_process";
import spawn from "cross-spawn";
import { deliverLine, LineReader, parseLine, writeLine } from "./lineFraming";
import { ErrorCodes, errorResponse, type JSONRPCMessage, type RequestId } from "./messages";

/**
 * A stdio upstream: the MCP server as our child process (stdin/stdout piped, stderr inherited), spoken to in
 * newline-delimited JSON-RPC (lineFraming.ts) — what the SDK's `StdioClientTransport` does, with the proxy's
 * bounded framing:
 * - a line that is not a JSON-RPC message is reported (onerror → stderr) and skipped;
 * - a line over {@link MAX_UPSTREAM_LINE_BYTES} is dropped unread. An answer (an id, no method) reaches the
 *   proxy as a -32603 error under that id, so the client's request ends with an error, not a wait; a request
 *   (id and method) is answered -32600 to the upstream; a notification is only logged;
 * - start() resolves once the process spawned and rejects if it cannot (ENOENT…); onclose when it exits;
 * - close(): stdin closed, then SIGTERM after 2 s, SIGKILL after 2 more.
 */

/** The most the upstream may send in one message: answers carry file contents and images, hence above the host's 4 MiB. */
export const MAX_UPSTREAM_LINE_BYTES = 16 * 1024 * 1024;

export interface StdioUpstreamParams {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string | undefined;
}

export class StdioUpstream implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private readonly reader: LineReader;
  private readonly deliver = (message: JSONRPCMessage): void => this.onmessage?.(message);

  constructor(private readonly params: StdioUpstreamParams) {
    this.reader = new LineReader(MAX_UPSTREAM_LINE_BYTES, {
      line: (text) => {
        const parsed = parseLine(text);
        if (parsed.ok) deliverLine(parsed.message, text, this.deliver);
        else this.onerror?.(new Error(`the upstream sent a line that is ${parsed.code === ErrorCodes.parseError ? `not JSON (${parsed.detail})` : "not a JSON-RPC message"}; skipped`));
      },
      oversized: ({ bytes, id, method }) => this.oversized(bytes, id, method),
    });
  }

  start(): Promise<void> {
    if (this.child !== undefined) throw new Error("StdioUpstream already started");
    const { command, args, env, cwd } = this.params;
    // cross-spawn, as the SDK's stdio transport: on Windows `npx` (npx.cmd) and other shims start without a shell.
    const child = spawn(command, args, { env, cwd, stdio: ["pipe", "pipe", "inherit"], shell: false, windowsHide: true });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("close", () => resolve()));
    void this.exited.then(() => this.onclose?.());
    child.stdout!.on("data", (chunk: Buffer) => this.reader.push(chunk));
    child.stdout!.on("error", (error) => this.onerror?.(error));
    child.stdin!.on("error", (error) => this.onerror?.(error));
    return new Promise((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || stdin.destroyed) return Promise.reject(new Error("the upstream process is not running"));
    return writeLine(stdin, message);
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = this.exited!;
    child.stdin?.end();
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (await settlesWithin(gone, 2_000)) return;
      child.kill(signal);
    }
  }

  private oversized(bytes: number, id: RequestId | undefined, method: string | undefined): void {
    const what = `a message of ${bytes} bytes from the upstream MCP server exceeds the proxy's ${MAX_UPSTREAM_LINE_BYTES}-byte limit`;
    if (id === undefined) {
      this.onerror?.(new Error(`${what}; dropped (no id to answer)`));
      return;
    }
    if (method !== undefined) {
      this.onerror?.(new Error(`${what}; dropped, answered -32600 (its request ${JSON.stringify(id)})`));
      void this.send(errorResponse(id, ErrorCodes.invalidRequest, `Invalid Request: ${what}`)).catch(() => undefined);
      return;
    }
    this.onerror?.(new Error(`${what}; dropped, its request ${JSON.stringify(id)} answered with an error`));
    this.onmessage?.(errorResponse(id, ErrorCodes.internalError, `The upstream MCP server's answer (${bytes} bytes) exceeds the MCP proxy's ${MAX_UPSTREAM_LINE_BYTES}-byte limit`, { limit: MAX_UPSTREAM_LINE_BYTES, bytes }));
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
