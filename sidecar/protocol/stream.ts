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

/** Client → server. Without a subscribe frame a connection receives `approvals` only. */
export const StreamClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), topics: z.array(z.enum(["approvals", "events", "mode"])).min(1) }),
  z.object({ type: z.literal("ping"), id: z.string().max(100).optional() }),
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
  /** First frame on every connection: the log position it starts after. */
  | { type: "hello"; last_seq: number; mode: Mode }
  /** Topic `approvals`: an approval was created or changed status (the full current view). */
  | { type: "approval"; approval: ApprovalView }
  /** Topic `events`: a record was appended to the log. */
  | { type: "event"; record: StreamRecord }
  /** Topic `mode`: the workspace mode changed. */
  | { type: "mode"; mode: Mode }
  | { type: "pong"; id?: string }
  | { type: "error"; message: string };
