import { logRedactor } from "../redaction";
import { EventBatchBodySchema, type EventBatchResponse, type ValidateEventsResponse, type WireEvent } from "../../protocol/events";
import { parseBody, type Route, type SidecarServices } from "../routing";

/** Events logged per turn of the event loop: a 500-event batch must not hold up the guard decisions behind it. */
const EVENTS_PER_TURN = 16;

/** Timeline events from SDKs. A batch is acknowledged only once every event in it is on disk. */
export function eventRoutes(s: SidecarServices): Route[] {
  const warningsFor = (event: WireEvent): string[] =>
    event.run_id && !s.journal.state.runs.has(event.run_id) ? [`run ${event.run_id} was not started with POST /v1/runs; it is opened implicitly`] : [];
  return [
    {
      method: "POST",
      path: "/v1/events",
      handle: ({ body }): Promise<EventBatchResponse> => {
        const { events } = parseBody(EventBatchBodySchema, body);
        return recordBatch(s, events, { accepted: events.length, seqs: [], warnings: events.flatMap(warningsFor) });
      },
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
 * Logs a validated batch a slice per event-loop turn, then answers once all of it is on disk. Every event but
 * the last is appended lazily (written, not synced) and the last one durably: its fdatasync covers the whole
 * batch, so a batch costs one sync however it is sliced. Not an async function on purpose: once logged, the
 * batch's objects are not kept alive while the disk syncs.
 */
function recordBatch(s: SidecarServices, events: WireEvent[], response: EventBatchResponse): Promise<EventBatchResponse> {
  const durable: Promise<void>[] = [];
  return new Promise<void>((logged) => {
    let next = 0;
    const slice = (): void => {
      const end = Math.min(events.length, next + EVENTS_PER_TURN);
      for (; next < end; next++) {
        // Secrets an SDK failed to redact still never reach the log.
        const appended = s.journal.record("event", { event: logRedactor.redactEvent(events[next]!) }, { lazy: next < events.length - 1 });
        response.seqs.push(appended.seq);
        durable.push(appended.durable);
      }
      if (next < events.length) setImmediate(slice);
      else logged();
    };
    slice();
  })
    .then(() => Promise.all(durable))
    .then(() => response);
}
