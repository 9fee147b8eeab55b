import type { z } from "zod";
import type { GuardEngine } from "../guard/engine";
import { firstIssue } from "../protocol/issues";
import { fieldOf, type NestingPath } from "../protocol/nesting";
import { MAX_NESTING_DEPTH, MAX_PARSE_DEPTH } from "../protocol/v1";
import type { Journal } from "../store/journal";
import type { ApprovalBroker } from "./approvalBroker";
import type { Caller, Keys } from "./security";

/**
 * An error that becomes a JSON error response: `{"error": {code, message, field?, retry_after_s?}}` with
 * `status`. `retryAfterS` (an overloaded route, 503 `busy`) is also sent as the HTTP `Retry-After` header.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export interface RouteContext {
  body: unknown;
  caller: Caller;
  /** Groups of the route's path pattern, URI-decoded. */
  params: string[];
  query: URLSearchParams;
  /** A signal aborted when the client hangs up before the answer (long-polls stop waiting). */
  hangUp(): AbortSignal;
  /**
   * Set for a `call` frame on /v1/stream: an approval this request opens is pushed to that connection (an
   * agent-key connection hears only of the approvals it holds). Called with the id before the approval is
   * opened, so its first frame reaches the connection. Absent over HTTP: that client watches the id instead.
   */
  holdApproval?(approvalId: string): void;
}

export interface Route {
  method: "GET" | "POST";
  /** A literal path, or a pattern whose groups become `params`. */
  path: string | RegExp;
  /** Only the admin key may call it (resolving approvals, changing the mode): 403 for the agent key. */
  admin?: boolean;
  handle(context: RouteContext): unknown;
  /**
   * The answer to a body nested past MAX_NESTING_DEPTH, instead of `handle` (which never sees such a body).
   * Without it the dispatcher answers 400 `too_deep`; the guard's evaluate route answers a decision instead.
   */
  tooDeep?(context: RouteContext, path: NestingPath): unknown;
  /**
   * How deep this route's body may nest, when not MAX_NESTING_DEPTH: a route whose body wraps evaluate bodies
   * (reported decisions: `decisions[i].body`) allows the levels of that envelope on top, so an evaluate body
   * that passes on its own passes inside it too.
   */
  maxDepth?: number;
}

/** What route handlers work with; built once per sidecar. */
export interface SidecarServices {
  engine: GuardEngine;
  journal: Journal;
  approvals: ApprovalBroker;
  keys: Keys;
  workspace: string;
  startedAt: number;
  /** The server's own base URL (known once listening). */
  baseUrl: () => string;
}

/** `at`: where `body` sits in the request body, prefixed to the field a refusal names (e.g. `events.3`). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, at?: string): z.infer<S> {
  return parseWith(schema, body, "invalid_request", at);
}

export function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.infer<S> {
  return parseWith(schema, Object.fromEntries(query), "invalid_query");
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, code: string, at?: string): z.infer<S> {
  if (value === undefined && at === undefined) throw new HttpError(400, code, "the request needs a JSON body");
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = firstIssue(result.error);
  const field = at === undefined ? issue.field : issue.field ? `${at}.${issue.field}` : at;
  const { message } = issue;
  throw new HttpError(400, code, field ? `${field}: ${message}` : message, field || undefined);
}

/** The 400 for a body nested past MAX_NESTING_DEPTH: `too_deep`, naming the field the nesting is under. */
export function tooDeepError(path: NestingPath, limit = MAX_NESTING_DEPTH): HttpError {
  const field = fieldOf(path);
  return new HttpError(400, "too_deep", `${field || "body"}: nests deeper than ${limit} levels, the limit of this request's body`, field || undefined);
}

/** A body refused before it was parsed: it nests past MAX_PARSE_DEPTH (textNestsBeyond). */
export function unparsedTooDeepError(): HttpError {
  return new HttpError(400, "too_deep", `the body nests deeper than ${MAX_PARSE_DEPTH} levels: refused before parsing`);
}

export function notFound(what: string, id: string | undefined): HttpError {
  return new HttpError(404, `unknown_${what}`, `no ${what} with id "${id ?? ""}"`);
}

export const nowIso = (): string => new Date().toISOString();
