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
      handle: async ({ body }): Promise<EventBatchResponse> => {
        const { events } = parseBody(EventBatchBodySchema, body);
        const warnings = events.flatMap(warningsFor);
        // Secrets an SDK failed to redact still never reach the log.
        const appended = events.map((event) => s.journal.record("event", { event: logRedactor.redactEvent(event) }));
        await Promise.all(appended.map((a) => a.durable));
        return { accepted: events.length, seqs: appended.map((a) => a.seq), warnings };
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
