import type { z } from "zod";
import type { GuardEngine } from "../guard/engine";
import { firstIssue } from "../protocol/issues";
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
}

export interface Route {
  method: "GET" | "POST";
  /** A literal path, or a pattern whose groups become `params`. */
  path: string | RegExp;
  /** Only the admin key may call it (resolving approvals, changing the mode): 403 for the agent key. */
  admin?: boolean;
  handle(context: RouteContext): unknown;
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

export function notFound(what: string, id: string | undefined): HttpError {
  return new HttpError(404, `unknown_${what}`, `no ${what} with id "${id ?? ""}"`);
}

export const nowIso = (): string => new Date().toISOString();
