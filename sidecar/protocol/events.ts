import { z } from "zod";
import { ident, opt } from "./wire";

/**
 * POST /v1/events and /v1/events/validate (python-sdk `events.py` + `wire.py`): a batch of timeline events,
 * snake_case keys (`agent_key`, `run_id`, `event_id`, `timestamp`, `tool`, `action`, `resource`, `decision`,
 * `approval`, `error`, `metadata`, …). The known fields are checked; anything else an SDK adds is kept as sent.
 */

export const MAX_EVENTS_PER_BATCH = 500;

export const WireEventSchema = z
  .object({
    type: z.string().min(1).max(200),
    agent_key: ident().min(1),
    event_id: opt(z.string().max(200)),
    run_id: opt(ident()),
    session_id: opt(ident()),
    timestamp: opt(ident()),
    sequence_number: opt(z.int()),
    tool: opt(z.object({ name: opt(ident()), provider: opt(ident()), risk_level: opt(ident()) }).loose()),
    action: opt(z.object({ type: opt(ident()), name: opt(ident()), risk_level: opt(ident()) }).loose()),
    resource: opt(z.object({ type: opt(ident()), environment: opt(ident()) }).loose()),
    metadata: opt(z.record(ident(), z.unknown())),
  })
  .loose();
export type WireEvent = z.infer<typeof WireEventSchema>;

export const EventBatchBodySchema = z.object({
  events: z.array(WireEventSchema).min(1).max(MAX_EVENTS_PER_BATCH),
});

/** The batch's envelope alone (its events unchecked), for a server that validates the events a slice at a time. */
export const EventBatchEnvelopeSchema = z.object({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_BATCH),
});

/** Answer to POST /v1/events, sent only after every event of the batch is durably in the log. */
export interface EventBatchResponse {
  accepted: number;
  /**
   * Sequence numbers the events got in the log, in batch order. An event already logged under the same
   * `event_id` with the same content (a retry) is not logged again: its seq is the original one.
   */
  seqs: number[];
  warnings: string[];
}

/** Answer to POST /v1/events/validate: nothing is written. */
export interface ValidateEventsResponse {
  accepted: number;
  previews: { type: string; run_id: string | null; warnings: string[] }[];
}
