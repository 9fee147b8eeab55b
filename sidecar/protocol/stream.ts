import { z } from "zod";
import type { ApprovalView } from "./approvals";
import type { Mode } from "../guard/types";

/**
 * WebSocket `/v1/stream`: the push channel, so nobody polls. The upgrade request is authenticated like any
 * HTTP request (Bearer key in the Authorization header, Host checked, any Origin refused). Frames are JSON
 * text, one object per message; every client frame is parsed with the schema below and a bad frame gets an
 * `error` frame back (the connection stays up).
 */

export const STREAM_PATH = "/v1/stream";

/** A client's name for one of its calls; echoed in the reply. */
export const CallIdSchema = z.union([z.int().min(0), z.string().min(1).max(100)]);
export type CallId = z.infer<typeof CallIdSchema>;

/**
 * Client → server. Without a subscribe frame a connection receives `approvals` only.
 *
 * `call` runs one v1 API request over the socket: the same route, validation, answer and admin rule as over
 * HTTP (the connection's key decides the caller), answered by a `reply` frame with the same id. It is our
 * extension of the API, announced by `calls: true` in `hello`; clients without it use HTTP. It exists because
 * a frame costs a fraction of an HTTP exchange (bench/sidecar.bench.ts: the SDK's guard path).
 * `cancel` gives up on a call still running (a long-poll stops waiting); its reply may still come.
 */
export const StreamClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), topics: z.array(z.enum(["approvals", "events", "mode", "guard"])).min(1) }),
  z.object({ type: z.literal("ping"), id: z.string().max(100).optional() }),
  z.object({
    type: z.literal("call"),
    id: CallIdSchema,
    method: z.enum(["GET", "POST"]),
    /** Path and query, as in the HTTP request line: `/v1/…[?…]`. */
    path: z.string().regex(/^\/v1\//, "must start with /v1/").max(4096),
    /** The request body (POST); absent is an empty body. */
    body: z.unknown().optional(),
  }),
  z.object({ type: z.literal("cancel"), id: CallIdSchema }),
]);
export type StreamClientFrame = z.infer<typeof StreamClientFrameSchema>;
export type StreamTopic = Extract<StreamClientFrame, { type: "subscribe" }>["topics"][number];

/** One record of the timeline as pushed live (the same record the log holds, minus the chain fields). */
export interface StreamRecord {
  seq: number;
  ts: string;
  kind: string;
  data: unknown;
}

/** Server → client. */
export type StreamServerFrame =
  /**
   * First frame on every connection: the log position it starts after; `calls` when `call` frames are served;
   * the guard state's version (see GET /v1/guardrails/snapshot).
   */
  | { type: "hello"; last_seq: number; mode: Mode; calls: true; guard_version: number }
  /** Topic `guard`: the guard state changed (policy, mode, declarations, tool definitions); replicas refetch. */
  | { type: "guard"; version: number }
  /** The answer to a `call`: the HTTP status and JSON body the same request gets over HTTP. */
  | { type: "reply"; id: CallId; status: number; body: unknown }
  /** Topic `approvals`: an approval was created or changed status (the full current view). */
  | { type: "approval"; approval: ApprovalView }
  /** Topic `events`: a record was appended to the log. */
  | { type: "event"; record: StreamRecord }
  /** Topic `mode`: the workspace mode changed. */
  | { type: "mode"; mode: Mode }
  | { type: "pong"; id?: string }
  | { type: "error"; message: string };
