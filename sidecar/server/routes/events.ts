import { logRedactor } from "../redaction";
import { EventBatchBodySchema, type EventBatchResponse, type ValidateEventsResponse, type WireEvent } from "../../protocol/events";
import { parseBody, type Route, type SidecarServices } from "../routing";

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
        const response: EventBatchResponse = { accepted: events.length, seqs: [], warnings: events.flatMap(warningsFor) };
        const durable: Promise<void>[] = [];
        for (const event of events) {
          // Secrets an SDK failed to redact still never reach the log.
          const appended = s.journal.record("event", { event: logRedactor.redactEvent(event) });
          response.seqs.push(appended.seq);
          durable.push(appended.durable);
        }
        // Not an async function on purpose: nothing here keeps the batch's objects alive while the disk syncs.
        return Promise.all(durable).then(() => response);
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
