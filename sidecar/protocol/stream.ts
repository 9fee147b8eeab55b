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

/** The most approval ids one `watch` frame may name. */
export const MAX_WATCH_IDS = 100;

/**
 * Client → server. Without a subscribe frame a connection receives `approvals` only.
 *
 * Which approvals a connection hears of (topic `approvals`) depends on its key. The admin key (a human's
 * tool: `apie approvals`, dashboards) hears of every approval. The agent key is shared by every agent the
 * editor started (APIE_API_KEY in its terminals), so an agent-key connection hears only of the approvals it
 * holds: those opened by its own `call` frames (an evaluate that answered `wait_for_approval`), and those it
 * named in a `watch` frame. An approval id is 96 random bits that only the caller of the evaluate that opened
 * it learns, so presenting the id is the capability — as for GET /v1/approvals/{id}. Another agent holding the
 * same key learns neither the approval, nor its arguments, nor its id, so it cannot rebuild the request and
 * spend the grant first. The `events` topic (every record of the log, approvals and their ids included) is
 * the admin key's only; an agent-key `subscribe` naming it is refused with an `error` frame and changes
 * nothing.
 *
 * `watch` is sent by an agent that waits on an approval whose evaluate did not go over this connection (over
 * HTTP, or before a reconnect), e.g. our SDK's approval waiter. For each id that names an existing approval
 * the server answers at once (once per id, however often the frame names it) with an `approval` frame
 * carrying its current view (so a resolution that came before the watch is not missed), then pushes its
 * changes until it resolves. Ids that name no approval are ignored (nothing is said about them). Frames
 * arrive only while the connection subscribes to `approvals`.
 * A watch ends when its approval resolves or the connection closes. On an admin-key connection it only asks
 * for the current view (it already hears of everything).
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
  z.object({ type: z.literal("watch"), ids: z.array(z.string().min(1).max(100)).min(1).max(MAX_WATCH_IDS) }),
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
  /**
   * Topic `approvals`: an approval was created or changed status (the full current view); also the answer to
   * `watch`. Agent-key connections get only the approvals they hold (see StreamClientFrameSchema).
   */
  | { type: "approval"; approval: ApprovalView }
  /** Topic `events` (admin key only): a record was appended to the log. */
  | { type: "event"; record: StreamRecord }
  /** Topic `mode`: the workspace mode changed. */
  | { type: "mode"; mode: Mode }
  | { type: "pong"; id?: string }
  | { type: "error"; message: string };
