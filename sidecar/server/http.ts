import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { errorAnswer, MAX_BODY_BYTES, type RouteDispatcher, type RouteHit } from "./dispatch";
import { textNestsBeyond } from "../protocol/nesting";
import { MAX_PARSE_DEPTH, type ErrorBody } from "../protocol/v1";
import { HttpError, unparsedTooDeepError } from "./routing";
import { checkAccess, type Caller, type Keys } from "./security";

/**
 * How long a client may take to send one whole request, headers and body. A body that never finishes is
 * answered 408 and its connection closed, instead of being held (and its bytes kept) forever. Only the
 * request is timed: a long-poll (/v1/approvals/{id}/wait, up to 10 minutes) has been received in full long
 * before its answer, so this never cuts one short.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A refused request's body is read and dropped (so the client, still sending, hears the refusal instead of a
 * reset: a 413 must reach the SDK as an answer, never as "guard unavailable") — up to this many bytes, past
 * which the socket is destroyed. A body that never ends is cut by the request timeout.
 */
const DRAIN_BYTES = 8 * MAX_BODY_BYTES;

export interface SidecarHttpOptions {
  /** Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
}

/**
 * The Apie v1 HTTP API on loopback. Every request: access check (Host, Origin, key), body cap, JSON parse,
 * zod validation naming the field; every answer is JSON, errors as `{"error": {code, message, field?}}` —
 * also the ones Node's HTTP parser makes itself (malformed request line, unknown method, headers too large,
 * request timeout), through `clientError`.
 */
export function createSidecarHttpServer(routes: RouteDispatcher, keys: Keys, options: SidecarHttpOptions = {}): Server {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // The response of the request each socket is serving: Node's parser may refuse a request whose handler runs
  // already (a body that times out), and a second answer must not go out after the first one started.
  const serving = new WeakMap<Duplex, ServerResponse>();
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      // How often Node checks the two timeouts above (default 30 s: a 30 s timeout could fire at 60 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, requestTimeout / 4)),
    },
    (req, res) => {
      serving.set(req.socket, res);
      handle(req, res).catch((error: unknown) => sendError(res, error));
    },
  );
  server.keepAliveTimeout = 60_000;
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, serving.get(socket)?.headersSent === true, requestTimeout));

  let port = 0;
  server.once("listening", () => (port = localPort(server)));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const { hit, caller } = admit(req, url.pathname);
    const body = hit.route.method === "POST" ? await readJson(req) : undefined;
    // Returned, not awaited: this frame (and the request body it holds) is released while a handler waits
    // for the disk, so batches do not survive into the old generation and the heap stays small.
    return answer(res, routes.run(hit, { body, caller, query: url.searchParams, hangUp: () => hangUpSignal(res) }));
  }

  /** The caller and route of a request, or the refusal to answer with (the unread body is drained). */
  function admit(req: IncomingMessage, pathname: string): { hit: RouteHit; caller: Caller } {
    try {
      const access = checkAccess(req, keys, port);
      if (!access.ok) throw new HttpError(access.status, access.status === 401 ? "unauthorized" : "forbidden", access.message);
      return { hit: routes.find(req.method ?? "", pathname, access.caller), caller: access.caller };
    } catch (refusal) {
      drain(req);
      throw refusal;
    }
  }

  return server;
}

export function localPort(server: Server): number {
  return (server.address() as { port: number } | null)?.port ?? 0;
}

async function answer(res: ServerResponse, pending: unknown): Promise<void> {
  const result = await pending;
  if (!res.destroyed) sendJson(res, 200, result);
}

/** Aborts when the client goes away before the answer is sent. Made on demand: most routes never wait. */
function hangUpSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** The parsed JSON body; `undefined` when the body is empty (routes that need one say so by validating). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    drain(req);
    throw new HttpError(413, "payload_too_large", `body of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        drain(req);
        reject(new HttpError(413, "payload_too_large", `body exceeds the ${MAX_BODY_BYTES}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
  if (text.trim() === "") return undefined;
  if (textNestsBeyond(text, MAX_PARSE_DEPTH)) throw unparsedTooDeepError();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "invalid_json", `body is not JSON: ${(error as Error).message}`);
  }
}

/** Reads and drops the rest of a refused request's body, at most DRAIN_BYTES (then the socket goes). */
function drain(req: IncomingMessage): void {
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * Node's parser refused the request before any route saw it. Node's own answer has no body; ours is the same
 * status with a JSON error, so every answer of the sidecar is one. A socket whose answer has started already,
 * or that is gone, is just closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, answered: boolean, requestTimeoutMs: number): void {
  if (answered || !socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] = clientErrorAnswer(error, requestTimeoutMs);
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  // end() sends the answer and a FIN; a client that keeps its side open is not waited for past a second.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function clientErrorAnswer(error: NodeJS.ErrnoException, requestTimeoutMs: number): [number, string, string, string] {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "Request Timeout", "request_timeout", `the request (headers and body) did not arrive within ${requestTimeoutMs} ms`];
    case "HPE_HEADER_OVERFLOW":
      return [431, "Request Header Fields Too Large", "headers_too_large", "the request's headers exceed Node's limit (16 KiB)"];
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return [413, "Payload Too Large", "payload_too_large", "the request's chunk extensions are too large"];
    case "HPE_INVALID_METHOD":
      return [400, "Bad Request", "invalid_method", "unknown HTTP method (the v1 API uses GET and POST)"];
    default:
      return [400, "Bad Request", "bad_request", `malformed HTTP request (${error.code ?? "parse error"})`];
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status, body } = errorAnswer(error);
  if (body.error.retry_after_s !== undefined) res.setHeader("retry-after", String(body.error.retry_after_s));
  sendJson(res, status, body);
}
