import { nestingBeyond } from "../protocol/nesting";
import { MAX_NESTING_DEPTH, type ErrorBody } from "../protocol/v1";
import { agentRoutes } from "./routes/agents";
import { approvalRoutes } from "./routes/approvals";
import { eventRoutes } from "./routes/events";
import { guardrailRoutes } from "./routes/guardrails";
import { hookRoutes } from "./routes/hooks";
import { reportRoutes } from "./routes/reports";
import { runRoutes } from "./routes/runs";
import { HttpError, tooDeepError, type Route, type RouteContext, type SidecarServices } from "./routing";
import type { Caller } from "./security";

export { MAX_BODY_BYTES } from "../protocol/v1";

/** A route found for a request, ready to run once its body is read. */
export interface RouteHit {
  route: Route;
  params: string[];
}

/**
 * The v1 API's routes, shared by both ways in: HTTP requests and `call` frames on /v1/stream. Finding a route
 * applies the same rules for both — 404 for an unknown path, 405 for a wrong method, 403 when the agent key
 * asks for an admin route — before any body is read.
 */
export class RouteDispatcher {
  private readonly table: RouteTable;

  /** `onRun`: told of every request run (HTTP or stream), e.g. to know when the sidecar is idle. */
  constructor(
    services: SidecarServices,
    private readonly onRun?: () => void,
  ) {
    this.table = new RouteTable([
      ...guardrailRoutes(services),
      ...agentRoutes(services),
      ...runRoutes(services),
      ...eventRoutes(services),
      ...approvalRoutes(services),
      ...reportRoutes(services),
      ...hookRoutes(services),
    ]);
  }

  /** The route for `method pathname` as `caller` may call it; throws the {@link HttpError} to answer otherwise. */
  find(method: string, pathname: string, caller: Caller): RouteHit {
    const candidates = this.table.match(pathname);
    if (candidates.length === 0) throw new HttpError(404, "not_found", `no route ${method} ${pathname}`);
    const hit = candidates.find((c) => c.route.method === method);
    if (hit === undefined) throw new HttpError(405, "method_not_allowed", `${pathname} accepts ${candidates.map((c) => c.route.method).join(", ")}`);
    if (hit.route.admin && caller !== "admin") {
      throw new HttpError(403, "admin_required", `${method} ${pathname} needs the admin key; the agent key (APIE_API_KEY) cannot do this`);
    }
    return hit;
  }

  /**
   * Runs a found route; the result (or rejection) is what the caller answers with. A body nested past
   * MAX_NESTING_DEPTH never reaches the route's handler (whose parsing, hashing, redacting and logging
   * recurse): the route's `tooDeep` answers it, else a 400 `too_deep` naming the field. Checked here, once,
   * because this is where HTTP bodies and `/v1/stream` call frames meet; one iterative walk that stops at the
   * limit, so it costs a body of any depth at most the limit's worth of frames.
   */
  run(hit: RouteHit, context: Omit<RouteContext, "params">): unknown {
    this.onRun?.();
    const full = { ...context, params: hit.params };
    const limit = hit.route.maxDepth ?? MAX_NESTING_DEPTH;
    const tooDeep = context.body === undefined ? undefined : nestingBeyond(context.body, limit);
    if (tooDeep === undefined) return hit.route.handle(full);
    if (hit.route.tooDeep !== undefined) return hit.route.tooDeep(full, tooDeep);
    throw tooDeepError(tooDeep, limit);
  }
}

/** Any failure as the status and JSON error body to answer with; an unexpected error is a 500. */
export function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  const e = error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
  const retry = e.retryAfterS === undefined ? {} : { retry_after_s: e.retryAfterS };
  return { status: e.status, body: { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}), ...retry } } };
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

  /** Throws a 400 `invalid_path` for an id whose percent-escapes do not decode (`/v1/runs/%`). */
  match(path: string): RouteHit[] {
    const literal = this.literal.get(path);
    if (literal !== undefined) return literal.map((route) => ({ route, params: [] }));
    return this.patterns.flatMap((route) => {
      const groups = route.path.exec(path);
      return groups === null ? [] : [{ route, params: groups.slice(1).map((segment) => decodeSegment(segment, path)) }];
    });
  }
}

function decodeSegment(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const shown = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text);
    throw new HttpError(400, "invalid_path", `${shown(path)}: "${shown(segment)}" is not a valid percent-encoded path segment`, "path");
  }
}
