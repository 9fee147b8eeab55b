import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ErrorBody } from "../protocol/v1";
import { agentRoutes } from "./routes/agents";
import { approvalRoutes } from "./routes/approvals";
import { eventRoutes } from "./routes/events";
import { guardrailRoutes } from "./routes/guardrails";
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
  ];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 60_000;
  // Long-polls (/v1/approvals/{id}/wait) may legitimately take up to 10 minutes.
  server.requestTimeout = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const access = checkAccess(req, services.keys, localPort(server));
    if (!access.ok) {
      req.resume();
      throw new HttpError(access.status, access.status === 401 ? "unauthorized" : "forbidden", access.message);
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const candidates = routes.flatMap((route) => {
      const params = matchPath(route, url.pathname);
      return params === undefined ? [] : [{ route, params }];
    });
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
    const hangUp = new AbortController();
    res.once("close", () => hangUp.abort());
    const result = await hit.route.handle({ body, caller: access.caller, params: hit.params, query: url.searchParams, signal: hangUp.signal });
    if (!res.destroyed) sendJson(res, 200, result);
  }

  return server;
}

export function localPort(server: Server): number {
  return (server.address() as { port: number } | null)?.port ?? 0;
}

function matchPath(route: Route, path: string): string[] | undefined {
  if (typeof route.path === "string") return route.path === path ? [] : undefined;
  return route.path.exec(path)?.slice(1).map(decodeURIComponent);
}

/** The parsed JSON body; `undefined` when the body is empty (routes that need one say so by validating). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new HttpError(413, "payload_too_large", `body of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new HttpError(413, "payload_too_large", `body exceeds the ${MAX_BODY_BYTES}-byte limit`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
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
