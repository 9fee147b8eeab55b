import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorAnswer, MAX_BODY_BYTES, type RouteDispatcher, type RouteHit } from "./dispatch";
import { HttpError } from "./routing";
import { checkAccess, type Caller, type Keys } from "./security";

/**
 * The Apie v1 HTTP API on loopback. Every request: access check (Host, Origin, key), body cap, JSON parse,
 * zod validation naming the field; every answer is JSON, errors as `{"error": {code, message, field?}}`.
 */
export function createSidecarHttpServer(routes: RouteDispatcher, keys: Keys): Server {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });
  server.keepAliveTimeout = 60_000;
  // Long-polls (/v1/approvals/{id}/wait) may legitimately take up to 10 minutes.
  server.requestTimeout = 0;

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
      req.resume();
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
    req.resume();
    throw new HttpError(413, "payload_too_large", `body of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpError(413, "payload_too_large", `body exceeds the ${MAX_BODY_BYTES}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "invalid_json", `body is not JSON: ${(error as Error).message}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(payload) });
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
