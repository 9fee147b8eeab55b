import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { z } from "zod";
import { MAX_BODY_BYTES } from "../protocol/v1";
import { ApieError } from "./errors";
import type { SidecarStream } from "./stream";

/**
 * JSON over `node:http` with one keep-alive agent per client (PERF.md: global fetch costs ~6× more per
 * round trip on loopback, which matters on the guard path), or as `call` frames over the client's
 * {@link SidecarStream} whenever the sidecar serves them (cheaper still; same answers, same errors). Every
 * request has a deadline. Failures come in
 * two kinds, because the guard treats them differently:
 * - {@link TransportError}: no answer from the sidecar — unreachable, reset, past the deadline — or an
 *   answer that is not the sidecar's: a non-2xx without Apie's JSON error body (an HTML 502 from a proxy, an
 *   empty 500), a 2xx that is not JSON. For the guard this, and only this, is "guard unavailable".
 * - {@link ApieError} `http_error`: the sidecar answered this request with its JSON error body
 *   `{"error": {code, message}}`, whatever the status — 4xx (it refused the request: bad field, bad key,
 *   unknown id, a body nested too deep) or 5xx (it failed on this request). A sidecar that answered is not
 *   unavailable: the guard never applies `guardFailureMode` to this, so no mode runs the call (issue 11:
 *   a request the sidecar crashed on would otherwise have been let through by fail_open). `status` and
 *   `serverCode` say which; {@link isRetryable} still retries 408/409/429/5xx for the event queue.
 */

export type TransportFailureKind = "unreachable" | "timeout" | "bad_response";

export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly kind: TransportFailureKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpClientOptions {
  baseUrl: string;
  apiKey: string;
  headers?: Readonly<Record<string, string>>;
  /** Deadline of a request that does not name its own. */
  timeoutMs: number;
}

export type Method = "GET" | "POST";

/** A request body that is already JSON text (sent as is, not serialized again). */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface RequestControl {
  /** Default: the client's `timeoutMs`. */
  deadlineMs?: number | undefined;
  /** An absolute deadline (epoch ms, as Date.now()); wins over `deadlineMs`. */
  deadlineAt?: number | undefined;
  /** Aborting ends the request with a {@link TransportError} (`unreachable`). */
  signal?: AbortSignal | undefined;
}


const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export class HttpClient {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly target: { protocol: string; hostname: string; port: string; basePath: string };
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private stream: SidecarStream | undefined;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.baseUrl);
    const https = url.protocol === "https:";
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = https ? httpsRequest : httpRequest;
    this.target = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port,
      basePath: url.pathname.replace(/\/+$/, ""),
    };
    this.headers = { accept: "application/json", ...options.headers, authorization: `Bearer ${options.apiKey}` };
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * One request. Resolves with the parsed JSON of a 2xx answer; rejects with {@link TransportError} or
   * {@link ApieError} (`http_error`). A POST without a body sends `{}`.
   */
  request(method: Method, path: string, body?: unknown, options: RequestControl = {}): Promise<unknown> {
    const payload = method !== "POST" ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body ?? {});
    const deadline = options.deadlineAt ?? Date.now() + (options.deadlineMs ?? this.timeoutMs);
    const stream = this.stream;
    if (stream !== undefined && options.signal === undefined && fitsFrame(payload)) {
      if (stream.callsAvailable) {
        return stream.call(method, path, payload, deadline).then(({ status, body: answer }) => interpret(method, path, status, answer === undefined ? undefined : { value: answer }));
      }
      stream.warm();
    }
    return this.attempt(method, path, payload, deadline, options.signal, true);
  }

  /**
   * Sends requests over `stream` whenever it serves calls (requests with an abort signal — long-polls — stay
   * on HTTP, where hanging up ends them). The client starts connecting it.
   */
  useStream(stream: SidecarStream): void {
    this.stream = stream;
    stream.warm();
  }

  /** Like {@link request}, for the public API: a {@link TransportError} becomes an `http_error` whose cause it is. */
  async call(method: Method, path: string, body?: unknown, options?: RequestControl): Promise<unknown> {
    try {
      return await this.request(method, path, body, options);
    } catch (error) {
      throw toApieError(error, `${method} ${path}`);
    }
  }

  /** Closes pooled connections; requests in flight are aborted. */
  close(): void {
    this.agent.destroy();
  }

  private attempt(method: Method, path: string, payload: string | undefined, deadline: number, signal: AbortSignal | undefined, mayRetry: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        reject(new TransportError("timeout", `${method} ${path}: no answer within the deadline`));
        return;
      }
      const headers: Record<string, string | number> = { ...this.headers };
      if (payload !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      const options: RequestOptions = {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        path: this.target.basePath + path,
        method,
        agent: this.agent,
        headers,
        ...(signal ? { signal } : {}),
      };
      let settled = false;
      let timedOut = false;
      let answered = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req: ClientRequest = this.send(options, (res) => {
        answered = true;
        readBody(res, (text, error) => {
          if (error !== undefined) {
            finish(() => reject(timedOut ? timeoutError(method, path) : new TransportError("unreachable", `${method} ${path}: connection lost mid-answer`, res.statusCode, { cause: error })));
            return;
          }
          finish(() => {
            try {
              resolve(interpret(method, path, res.statusCode ?? 0, parseJson(text)));
            } catch (failure) {
              reject(failure);
            }
          });
        });
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, remaining);
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (settled) return;
        if (timedOut) {
          finish(() => reject(timeoutError(method, path)));
          return;
        }
        // A pooled connection the server closed just as we reused it: nothing reached the server, ask again once.
        if (mayRetry && !answered && req.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
          finish(() => resolve(this.attempt(method, path, payload, deadline, signal, false)));
          return;
        }
        finish(() => reject(new TransportError("unreachable", `${method} ${path}: ${error.code ?? error.message}`, undefined, { cause: error })));
      });
      req.end(payload);
    });
  }
}

function readBody(res: IncomingMessage, done: (text: string, error?: unknown) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
  res.on("aborted", () => done("", new Error("aborted")));
  res.on("error", (error) => done("", error));
}

/**
 * A 2xx answer's JSON; any other status carrying Apie's JSON error body as `http_error` (the sidecar answered);
 * anything else as a {@link TransportError}. Over HTTP and for a `/v1/stream` `reply` frame alike.
 */
function interpret(method: Method, path: string, status: number, json: { value: unknown } | undefined): unknown {
  const what = `${method} ${path}`;
  if (status >= 200 && status < 300) {
    if (json === undefined) throw new TransportError("bad_response", `${what}: HTTP ${status} answer is not JSON`, status);
    return json.value;
  }
  if (status >= 400) {
    const body = json === undefined ? undefined : ErrorBodySchema.safeParse(json.value);
    if (body?.success) {
      const e = body.data.error;
      throw new ApieError("http_error", `${what} → ${status} ${e.code}: ${e.message}`, { status, serverCode: e.code, field: e.field });
    }
  }
  throw new TransportError("bad_response", `${what}: HTTP ${status}${json === undefined ? " (not JSON)" : ""}`, status);
}

/** Bodies above the sidecar's cap go over HTTP, whose 413 names the limit. */
function fitsFrame(payload: string | undefined): boolean {
  return payload === undefined || payload.length * 3 <= MAX_BODY_BYTES || Buffer.byteLength(payload) <= MAX_BODY_BYTES;
}

function parseJson(text: string): { value: unknown } | undefined {
  if (text.trim() === "") return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function timeoutError(method: Method, path: string): TransportError {
  return new TransportError("timeout", `${method} ${path}: no answer within the deadline`);
}

/** Any failure as the public error type: transport failures become `http_error` with the failure as cause. */
export function toApieError(error: unknown, what: string): ApieError {
  if (error instanceof ApieError) return error;
  if (error instanceof TransportError) {
    return new ApieError("http_error", `${error.message}`, { status: error.status, cause: error });
  }
  return new ApieError("http_error", `${what}: ${String(error)}`, { cause: error });
}

/** Worth another try later: the sidecar was away or overloaded, not refusing the request itself. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  if (error instanceof ApieError && error.status !== undefined) return [408, 409, 429].includes(error.status) || error.status >= 500;
  return false;
}
