import { setImmediate as nextTurn } from "node:timers/promises";
import { logRedactor } from "../redaction";
import { EventBatchBodySchema, EventBatchEnvelopeSchema, WireEventSchema, type EventBatchResponse, type ValidateEventsResponse, type WireEvent } from "../../protocol/events";
import type { RecordDataByKind } from "../../protocol/records";
import { eventIdKey, type LoggedEventId } from "../../store/projection";
import { MAX_RECORD_BYTES, sha256Hex as sha256 } from "../../store/recordCodec";
import { HttpError, parseBody, type Route, type SidecarServices } from "../routing";

/** Events checked and prepared per turn of the event loop (see logBatch). */
const EVENTS_PER_TURN = 4;

/** Bytes a record adds around its `data` (seq, ts, kind, prev, hash and the JSON punctuation): < 256. */
const RECORD_ENVELOPE_BYTES = 256;

/** Timeline events from SDKs. A batch is acknowledged only once every event in it is on disk. */
export function eventRoutes(s: SidecarServices): Route[] {
  const warningsFor = (event: WireEvent): string[] =>
    event.run_id && !s.journal.state.runs.has(event.run_id) ? [`run ${event.run_id} was not started with POST /v1/runs; it is opened implicitly`] : [];
  return [
    {
      method: "POST",
      path: "/v1/events",
      handle: ({ body }): Promise<EventBatchResponse> => logBatch(s, body, warningsFor),
    },
    {
      method: "POST",
      path: "/v1/events/validate",
      handle: ({ body }): ValidateEventsResponse => {
        const { events } = parseBody(EventBatchBodySchema, body);
        return { accepted: events.length, previews: events.map((e) => ({ type: e.type, run_id: e.run_id ?? null, warnings: warningsFor(e) })) };
      },
    },
  ];
}

/** One event of a batch, ready to append: everything that can fail has been done. */
interface Prepared {
  data: RecordDataByKind["event"];
  /** eventIdKey of an event with an `event_id`. */
  key: string | undefined;
  /** SHA-256 of `data`'s JSON: a retry is the same event, byte for byte after redaction. */
  digest: string;
}

/**
 * POST /v1/events, all or nothing, and idempotent per `event_id`.
 *
 * 1. Prepare, a slice per event-loop turn (a 500-event batch never holds up the guard decisions queued behind
 *    it for more than one slice): every event is validated (the first bad one refuses the batch, 400 naming
 *    `events.N.field`), redacted (secrets an SDK failed to redact never reach the log) and serialised once to check
 *    its size (its nesting was bounded by the dispatcher, MAX_NESTING_DEPTH, before the route ran) — the fallible work of appending, done for every
 *    event before the first is appended. An event that cannot be prepared refuses the batch: 400 naming
 *    `events.N`, nothing logged.
 * 2. Append, in one synchronous run: no await between the first append and the last, so nothing (a close, a
 *    poisoned log, another request) can come between them, and appending can no longer fail part-way.
 *    Every event but the last is appended lazily (written, not synced) and the last one durably: its
 *    fdatasync covers the whole batch.
 *
 * **Retries.** An event whose `event_id` (scoped to its `agent_key`) was already logged with the same content
 * — the SDK resending a batch whose answer it never got, before or after a sidecar restart — is not
 * appended again: its seq in the answer is the original one, so a retry gets the same answer as the first
 * attempt (once the original is durable). The projection remembers the last MAX_REMEMBERED_EVENT_IDS ids.
 * The same id with other content is not a retry: it is logged (the record is never silently dropped on
 * the word of whoever sent that id first) with a warning.
 */
function logBatch(s: SidecarServices, body: unknown, warningsFor: (event: WireEvent) => string[]): Promise<EventBatchResponse> {
  // The answer waits for the sync outside prepareAndAppend's frame, so the batch's objects are no longer
  // referenced (and do not live on into the old generation) while the disk syncs.
  return prepareAndAppend(s, body, warningsFor).then(({ response, durable }) => durable.then(() => response));
}

async function prepareAndAppend(s: SidecarServices, body: unknown, warningsFor: (event: WireEvent) => string[]): Promise<{ response: EventBatchResponse; durable: Promise<unknown> }> {
  const raw = parseBody(EventBatchEnvelopeSchema, body).events;
  const events: WireEvent[] = [];
  const prepared: Prepared[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    const event = parseBody(WireEventSchema, raw[i], `events.${i}`);
    events.push(event);
    prepared.push(prepare(event, i));
  }
  const warnings = events.flatMap(warningsFor);
  // Ids replayed from the log at startup carry no digest: read those records back to compare.
  for (const p of prepared) {
    const logged = p.key === undefined ? undefined : s.journal.state.eventIds.get(p.key);
    if (logged !== undefined && logged.digest === undefined) logged.digest = await digestOnDisk(s, logged);
  }

  // Append: synchronous from here to the return of `append` (see the function comment).
  const { seqs, durable } = append(s, prepared, warnings);
  return { response: { accepted: events.length, seqs, warnings }, durable };
}

function prepare(event: WireEvent, i: number): Prepared {
  try {
    const redacted = logRedactor.redactEvent(event);
    const data: RecordDataByKind["event"] = { event: redacted };
    const json = JSON.stringify(data);
    const bytes = Buffer.byteLength(json);
    if (bytes + RECORD_ENVELOPE_BYTES > MAX_RECORD_BYTES) throw new Error(`${bytes} bytes once redacted, over the log's ${MAX_RECORD_BYTES}-byte record limit`);
    const key = typeof event.event_id === "string" && event.event_id !== "" ? eventIdKey(event.agent_key, event.event_id) : undefined;
    return { data, key, digest: sha256(json) };
  } catch (error) {
    throw new HttpError(400, "invalid_event", `events.${i}: this event cannot be logged (${(error as Error).message}); nothing of the batch was logged`, `events.${i}`);
  }
}

function append(s: SidecarServices, prepared: readonly Prepared[], warnings: string[]): { seqs: number[]; durable: Promise<unknown> } {
  const ids = s.journal.state.eventIds;
  const seqs = new Array<number>(prepared.length);
  const waits: Promise<unknown>[] = [];
  // Which events are retries: logged before with the same content, or the same event twice in this batch.
  const toAppend: number[] = [];
  const twinOf = new Map<number, number>();
  const firstInBatch = new Map<string, number>();
  prepared.forEach((p, i) => {
    if (p.key !== undefined) {
      const logged = ids.get(p.key);
      if (logged !== undefined && logged.digest === p.digest) {
        seqs[i] = logged.seq;
        if (logged.durable !== undefined) waits.push(logged.durable);
        return;
      }
      const twin = firstInBatch.get(`${p.key}\u0000${p.digest}`);
      if (twin !== undefined) return void twinOf.set(i, twin);
      firstInBatch.set(`${p.key}\u0000${p.digest}`, i);
      if (logged !== undefined) warnings.push(`events.${i}: event_id ${JSON.stringify(p.data.event.event_id)} was already logged (seq ${logged.seq}) with other content; logged again as a new event`);
    }
    toAppend.push(i);
  });
  let durable: Promise<void> | undefined;
  const remembered: LoggedEventId[] = [];
  toAppend.forEach((i, n) => {
    const p = prepared[i]!;
    const appended = s.journal.record("event", p.data, { lazy: n < toAppend.length - 1 });
    seqs[i] = appended.seq;
    durable = appended.durable;
    const entry = p.key === undefined ? undefined : ids.get(p.key);
    if (entry?.seq === appended.seq) {
      entry.digest = p.digest;
      remembered.push(entry);
    }
  });
  for (const [i, twin] of twinOf) seqs[i] = seqs[twin]!;
  // The last record's sync covers every record of this batch: they are all durable when it is.
  if (durable !== undefined) {
    for (const entry of remembered) entry.durable = durable;
    waits.push(durable);
  }
  return { seqs, durable: Promise.all(waits) };
}

/** The digest of the `data` of an event record already in the log ("" when it cannot be read back: never equal). */
async function digestOnDisk(s: SidecarServices, logged: LoggedEventId): Promise<string> {
  try {
    const [record] = await s.journal.read([logged.offset]);
    return record === undefined ? "" : sha256(JSON.stringify(record.data));
  } catch {
    return "";
  }
}
