import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ErrorBody } from "../protocol/v1";
import { agentRoutes } from "./routes/agents";
import { approvalRoutes } from "./routes/approvals";
import { eventRoutes } from "./routes/events";
import { guardrailRoutes } from "./routes/guardrails";
import { reportRoutes } from "./routes/reports";
import { runRoutes } from "./routes/runs";
import { HttpError, type Route, type SidecarServices } from "./routing";
import { checkAccess } from "./security";

/** Bodies above this are refused with 413 before they are read in full. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The Apie v1 HTTP API on loopback. Every request: access check (Host, Origin, key), body cap, JSON parse,
 * zod validation naming the field; every answer is JSON, errors as `{"error": {code, message, field?}}`.
 */
export function createSidecarHttpServer(services: SidecarServices): Server {
  const routes: Route[] = [
    ...guardrailRoutes(services),
    ...agentRoutes(services),
    ...runRoutes(services),
    ...eventRoutes(services),
    ...approvalRoutes(services),
    ...reportRoutes(services),
  ];

  const table = new RouteTable(routes);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 60_000;
  // Long-polls (/v1/approvals/{id}/wait) may legitimately take up to 10 minutes.
  server.requestTimeout = 0;

  let port = 0;
  server.once("listening", () => (port = localPort(server)));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const access = checkAccess(req, services.keys, port);
    if (!access.ok) {
      req.resume();
      throw new HttpError(access.status, access.status === 401 ? "unauthorized" : "forbidden", access.message);
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const candidates = table.match(url.pathname);
    if (candidates.length === 0) {
      req.resume();
      throw new HttpError(404, "not_found", `no route ${req.method} ${url.pathname}`);
    }
    const hit = candidates.find((c) => c.route.method === req.method);
    if (hit === undefined) {
      req.resume();
      throw new HttpError(405, "method_not_allowed", `${url.pathname} accepts ${candidates.map((c) => c.route.method).join(", ")}`);
    }
    if (hit.route.admin && access.caller !== "admin") {
      req.resume();
      throw new HttpError(403, "admin_required", `${req.method} ${url.pathname} needs the admin key; the agent key (APIE_API_KEY) cannot do this`);
    }
    const body = hit.route.method === "POST" ? await readJson(req) : undefined;
    // Returned, not awaited: this frame (and the request body it holds) is released while a handler waits
    // for the disk, so batches do not survive into the old generation and the heap stays small.
    return answer(res, hit.route.handle({ body, caller: access.caller, params: hit.params, query: url.searchParams, hangUp: () => hangUpSignal(res) }));
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

/**
 * Finds the routes of a path. Literal paths (the guard's `/v1/guardrails/evaluate` among them) are one map
 * lookup; patterns are tried only when no literal path matched, so the hot path runs no regex.
 */
class RouteTable {
  private readonly literal = new Map<string, Route[]>();
  private readonly patterns: (Route & { path: RegExp })[] = [];

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      if (typeof route.path === "string") this.literal.set(route.path, [...(this.literal.get(route.path) ?? []), route]);
      else this.patterns.push(route as Route & { path: RegExp });
    }
  }

  match(path: string): { route: Route; params: string[] }[] {
    const literal = this.literal.get(path);
    if (literal !== undefined) return literal.map((route) => ({ route, params: [] }));
    return this.patterns.flatMap((route) => {
      const groups = route.path.exec(path);
      return groups === null ? [] : [{ route, params: groups.slice(1).map(decodeURIComponent) }];
    });
  }
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

function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body: ErrorBody = { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } };
  sendJson(res, e.status, body);
}
