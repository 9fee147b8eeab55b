import { strict as assert } from "node:assert";
import { WireEventSchema } from "../../../sidecar/protocol/events";
import type { TimelineRecord } from "../../../sidecar/protocol/records";
import { eventIdKey, MAX_REMEMBERED_EVENT_IDS, Projection } from "../../../sidecar/store/projection";

const eventRecord = (seq: number, eventId: string | undefined, agentKey = "a"): TimelineRecord<"event"> => ({
  seq,
  ts: "2026-01-01T00:00:00.000Z",
  kind: "event",
  data: { event: WireEventSchema.parse({ type: "agent.tool.called", agent_key: agentKey, ...(eventId === undefined ? {} : { event_id: eventId }) }) },
});

describe("projection: event ids of logged events (POST /v1/events retries)", () => {
  it("remembers where each id was logged, per agent key; events without an id are not remembered", () => {
    const p = new Projection();
    p.apply(eventRecord(1, "e1"), 0);
    p.apply(eventRecord(2, undefined), 100);
    p.apply(eventRecord(3, "e1", "b"), 200);
    assert.deepEqual(p.eventIds.get(eventIdKey("a", "e1")), { seq: 1, offset: 0 });
    assert.deepEqual(p.eventIds.get(eventIdKey("b", "e1")), { seq: 3, offset: 200 });
    assert.equal(p.eventIds.size, 2);
  });

  it(`is bounded: the last ${MAX_REMEMBERED_EVENT_IDS} ids, the oldest forgotten first; an id logged again counts as recent`, () => {
    const p = new Projection();
    for (let i = 0; i < MAX_REMEMBERED_EVENT_IDS; i++) p.apply(eventRecord(i + 1, `e${i}`), i * 10);
    p.apply(eventRecord(MAX_REMEMBERED_EVENT_IDS + 1, "e0"), 1); // e0 again: now the newest
    p.apply(eventRecord(MAX_REMEMBERED_EVENT_IDS + 2, "new"), 2);
    assert.equal(p.eventIds.size, MAX_REMEMBERED_EVENT_IDS);
    assert.equal(p.eventIds.has(eventIdKey("a", "e1")), false);
    assert.equal(p.eventIds.get(eventIdKey("a", "e0"))?.seq, MAX_REMEMBERED_EVENT_IDS + 1);
    assert.equal(p.eventIds.has(eventIdKey("a", "new")), true);
  });
});
