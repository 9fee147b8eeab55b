import { setImmediate as nextTurn } from "node:timers/promises";
import { logRedactor } from "../redaction";
import { EventBatchBodySchema, EventBatchEnvelopeSchema, WireEventSchema, type EventBatchResponse, type ValidateEventsResponse, type WireEvent } from "../../protocol/events";
import { parseBody, type Route, type SidecarServices } from "../routing";

/** Events checked, then logged, per turn of the event loop (see logBatch). */
const EVENTS_PER_TURN = 4;

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

/**
 * Checks, then logs, a batch a slice per event-loop turn, so a 500-event batch never holds up the guard
 * decisions queued behind it for more than one slice. All or nothing: every event is checked before the first
 * is logged, and the first bad one refuses the batch (400 naming `events.N.field`). Every event but the last is
 * appended lazily (written, not synced) and the last one durably: its fdatasync covers the whole batch, so a
 * batch costs one sync however it is sliced. The answer waits for that sync; by then the batch's objects are
 * no longer referenced (the slices' frame is gone), so they do not live on while the disk syncs.
 */
function logBatch(s: SidecarServices, body: unknown, warningsFor: (event: WireEvent) => string[]): Promise<EventBatchResponse> {
  return checkAndLog(s, body, warningsFor).then(({ response, durable }) => durable.then(() => response));
}

async function checkAndLog(s: SidecarServices, body: unknown, warningsFor: (event: WireEvent) => string[]): Promise<{ response: EventBatchResponse; durable: Promise<unknown> }> {
  const raw = parseBody(EventBatchEnvelopeSchema, body).events;
  const events: WireEvent[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    events.push(parseBody(WireEventSchema, raw[i], `events.${i}`));
  }
  const response: EventBatchResponse = { accepted: events.length, seqs: [], warnings: events.flatMap(warningsFor) };
  const durable: Promise<void>[] = [];
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    // Secrets an SDK failed to redact still never reach the log.
    const appended = s.journal.record("event", { event: logRedactor.redactEvent(events[i]!) }, { lazy: i < events.length - 1 });
    response.seqs.push(appended.seq);
    durable.push(appended.durable);
  }
  return { response, durable: Promise.all(durable) };
}
