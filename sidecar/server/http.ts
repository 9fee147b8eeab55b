import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { z } from "zod";
import type { GuardEngine } from "../guard/engine";
import { createHash } from "node:crypto";
import {
  DeclareCapabilitiesBodySchema,
  DefineToolBodySchema,
  EvaluateBodySchema,
  IdentifyBodySchema,
  toCapabilities,
  toGuardRequest,
  type ErrorBody,
  type IdentifyResponse,
} from "../protocol/v1";
import { firstIssue } from "../protocol/issues";
import { AgentRegistry } from "./agents";
import { checkAccess, type Caller, type Keys } from "./security";

/** Bodies above this are refused with 413 before they are read in full. */
export const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

interface Route {
  method: "GET" | "POST";
  /** A literal path, or a pattern whose groups become `params`. */
  path: string | RegExp;
  handle(body: unknown, caller: Caller, params: string[]): unknown;
}

export interface SidecarHttpOptions {
  engine: GuardEngine;
  keys: Keys;
  startedAt: number;
  /** The server's own base URL (known once listening). */
  baseUrl: () => string;
}

/**
 * The Apie v1 HTTP API on loopback. Every request: access check (Host, Origin, key), body cap, JSON parse,
 * zod validation naming the field; every answer is JSON, errors as `{"error": {code, message, field?}}`.
 */
export function createSidecarHttpServer(options: SidecarHttpOptions): Server {
  const { engine } = options;
  const agents = new AgentRegistry();
  const agentKey = (id: string | undefined): string => {
    const key = id === undefined ? undefined : agents.keyOf(id);
    if (key === undefined) throw new HttpError(404, "unknown_agent", `no agent with id "${id}"; call /v1/agents/identify first`);
    return key;
  };
  const routes: Route[] = [
    {
      method: "GET",
      path: "/v1/health",
      handle: () => ({ status: "ok", policy: engine.policyStatus.state, mode: engine.workspaceMode, uptime_ms: Date.now() - options.startedAt }),
    },
    {
      method: "POST",
      path: "/v1/guardrails/evaluate",
      handle: (body) => engine.evaluate(toGuardRequest(parseBody(EvaluateBodySchema, body))),
    },
    {
      method: "POST",
      path: "/v1/agents/identify",
      handle: (body): IdentifyResponse => {
        const parsed = parseBody(IdentifyBodySchema, body);
        const { id, created } = agents.identify(parsed.agent.key);
        return {
          agent_id: id,
          agent_version_id: `${id}_v1`,
          workspace_id: "local",
          config_hash: createHash("sha256").update(JSON.stringify(body)).digest("hex"),
          created,
          version_created: created,
          ingest_url: options.baseUrl(),
          recommended_next_step: "enable guardrail templates in apie.policy.json (apie guardrails enable KEY)",
          dashboard_url: "",
        };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/agents\/([^/]+)\/capabilities\/declare$/,
      handle: (body, _caller, [id]) => {
        const key = agentKey(id);
        const capabilities = toCapabilities(parseBody(DeclareCapabilitiesBodySchema, body));
        engine.declareCapabilities(key, capabilities);
        return { agent_id: id, declared: capabilities.length };
      },
    },
    {
      method: "POST",
      path: /^\/v1\/agents\/([^/]+)\/tools\/define$/,
      handle: (body, _caller, [id]) => {
        agentKey(id);
        const tool = parseBody(DefineToolBodySchema, body);
        engine.defineTool(tool);
        return { agent_id: id, tool: { name: tool.name } };
      },
    },
  ];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const port = (server.address() as { port: number } | null)?.port ?? 0;
    const access = checkAccess(req, options.keys, port);
    if (!access.ok) {
      req.resume();
      throw new HttpError(access.status, access.status === 401 ? "unauthorized" : "forbidden", access.message);
    }
    const path = (req.url ?? "/").split("?")[0]!;
    const matchRoute = (r: Route): string[] | undefined => {
      if (typeof r.path === "string") return r.path === path ? [] : undefined;
      return r.path.exec(path)?.slice(1).map(decodeURIComponent);
    };
    const candidates = routes.flatMap((route) => {
      const params = matchRoute(route);
      return params === undefined ? [] : [{ route, params }];
    });
    if (candidates.length === 0) {
      req.resume();
      throw new HttpError(404, "not_found", `no route ${req.method} ${path}`);
    }
    const hit = candidates.find((c) => c.route.method === req.method);
    if (hit === undefined) {
      req.resume();
      throw new HttpError(405, "method_not_allowed", `${path} accepts ${candidates.map((c) => c.route.method).join(", ")}`);
    }
    const body = hit.route.method === "POST" ? await readJson(req) : undefined;
    sendJson(res, 200, hit.route.handle(body, access.caller, hit.params));
  }

  return server;
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new HttpError(400, "invalid_request", field ? `${field}: ${message}` : message, field || undefined);
}

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
  if (text.trim() === "") throw new HttpError(400, "invalid_request", "the request needs a JSON body");
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
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: ErrorBody = { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } };
  sendJson(res, e.status, body);
}
