import { strict as assert } from "node:assert";
import { ApieError } from "../../../sidecar/sdk/errors";
import { EventQueue, type EventQueueOptions, type QueuedEvent } from "../../../sidecar/sdk/eventQueue";
import { TransportError } from "../../../sidecar/sdk/http";

/** The sender is the queue's injected delivery function: this records batches and fails on demand. */
function harness(overrides: Partial<EventQueueOptions> = {}) {
  const batches: QueuedEvent[][] = [];
  const sleeps: number[] = [];
  const failures: unknown[] = [];
  const errors: unknown[] = [];
  const queue = new EventQueue({
    send: async ({ events, json }) => {
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      assert.deepEqual(JSON.parse(json), events, "the JSON text is the batch");
      batches.push(events);
    },
    flushIntervalMs: 60_000,
    maxBatchSize: 3,
    maxQueueSize: 10,
    dropPolicy: "drop_oldest",
    retry: { attempts: 3, baseDelayMs: 100 },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    onError: (e) => errors.push(e),
    ...overrides,
  });
  const ids = (list: QueuedEvent[]) => list.map((e) => e.event_id);
  return { queue, batches, sleeps, failures, errors, ids };
}

const ev = (n: number, extra: Record<string, unknown> = {}): QueuedEvent => ({ type: "t", agent_key: "a", event_id: `e${n}`, ...extra });
const unreachable = () => new TransportError("unreachable", "ECONNREFUSED");

describe("sdk event queue", () => {
  it("sends in batches of maxBatchSize, in order, and flush() waits for the queue to drain", async () => {
    const h = harness({ maxBatchSize: 2 });
    for (let i = 1; i <= 5; i++) h.queue.enqueue(ev(i));
    await h.queue.flush();
    assert.deepEqual(h.batches.map(h.ids), [["e1", "e2"], ["e3", "e4"], ["e5"]]);
    const d = h.queue.diagnostics();
    assert.equal(d.queueSize, 0);
    assert.equal(d.sentCount, 5);
    assert.equal(d.flushCount, 3);
    assert.ok(d.lastFlushAt);
  });

  it("starts sending on its own as soon as a batch is full", async () => {
    const h = harness({ maxBatchSize: 2 });
    h.queue.enqueue(ev(1));
    await new Promise((r) => setImmediate(r));
    assert.equal(h.batches.length, 0);
    h.queue.enqueue(ev(2));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(h.batches.map(h.ids), [["e1", "e2"]]);
  });

  it("under a steady stream, sends full batches only: it never chases the events arriving while a batch is in flight", async () => {
    // Each send takes a while; meanwhile one more event arrives. The old drain sent that one at once — a
    // batch (and a sidecar fdatasync) per event under load.
    const sent: string[][] = [];
    let release: (() => void) | undefined;
    const h = harness({
      maxBatchSize: 3,
      maxQueueSize: 100,
      send: ({ events }) => (sent.push(events.map((e) => e.event_id as string)), new Promise<void>((resolve) => (release = resolve))),
    });
    for (let i = 1; i <= 3; i++) h.queue.enqueue(ev(i));
    await new Promise((r) => setImmediate(r));
    h.queue.enqueue(ev(4));
    release!();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent, [["e1", "e2", "e3"]]);
    assert.equal(h.queue.diagnostics().queueSize, 1, "e4 waits for a full batch or the next interval");
    const flushed = h.queue.flush();
    await new Promise((r) => setImmediate(r));
    release!();
    await flushed;
    assert.deepEqual(sent, [["e1", "e2", "e3"], ["e4"]]);
  });

  it("drop_oldest keeps the newest maxQueueSize events; drop_newest refuses new ones", async () => {
    const oldest = harness({ maxQueueSize: 3, maxBatchSize: 100 });
    for (let i = 1; i <= 5; i++) oldest.queue.enqueue(ev(i));
    assert.equal(oldest.queue.diagnostics().droppedCount, 2);
    await oldest.queue.flush();
    assert.deepEqual(oldest.batches.map(oldest.ids), [["e3", "e4", "e5"]]);

    const newest = harness({ maxQueueSize: 3, maxBatchSize: 100, dropPolicy: "drop_newest" });
    for (let i = 1; i <= 5; i++) newest.queue.enqueue(ev(i));
    await newest.queue.flush();
    assert.deepEqual(newest.batches.map(newest.ids), [["e1", "e2", "e3"]]);
    assert.equal(newest.queue.diagnostics().droppedCount, 2);
  });

  it("ignores a duplicate event id while the first is queued", async () => {
    const h = harness();
    h.queue.enqueue(ev(1));
    h.queue.enqueue(ev(1));
    await h.queue.flush();
    assert.equal(h.queue.diagnostics().deduplicatedCount, 1);
    h.queue.enqueue(ev(1));
    await h.queue.flush();
    assert.deepEqual(h.batches.map(h.ids), [["e1"], ["e1"]], "once sent, the key is free again");
  });

  it("retries a failed batch with exponential, jittered backoff, then succeeds", async () => {
    const h = harness();
    h.failures.push(unreachable(), new ApieError("http_error", "busy", { status: 503 }));
    h.queue.enqueue(ev(1));
    await h.queue.flush();
    assert.deepEqual(h.sleeps, [100, 200], "base × 2^(attempt-1), jitter ×1.0 at random 0.5");
    assert.deepEqual(h.batches.map(h.ids), [["e1"]]);
    assert.equal(h.queue.diagnostics().retryCount, 2);
  });

  it("keeps a batch that still fails after its attempts, for the next flush", async () => {
    const h = harness();
    h.failures.push(unreachable(), unreachable(), unreachable());
    h.queue.enqueue(ev(1));
    h.queue.enqueue(ev(2));
    await h.queue.flush();
    let d = h.queue.diagnostics();
    assert.equal(d.queueSize, 2);
    assert.match(d.lastErrorMessage!, /ECONNREFUSED/);
    assert.equal(h.errors.length, 1);
    h.queue.enqueue(ev(3));
    await h.queue.flush();
    assert.deepEqual(h.batches.map(h.ids), [["e1", "e2", "e3"]], "order is kept");
    d = h.queue.diagnostics();
    assert.equal(d.queueSize, 0);
  });

  it("drops a batch the sidecar refuses (4xx), instead of blocking the queue forever", async () => {
    const h = harness({ maxBatchSize: 1 });
    h.failures.push(new ApieError("http_error", "events.0.type: required", { status: 400 }));
    h.queue.enqueue(ev(1));
    h.queue.enqueue(ev(2));
    await h.queue.flush();
    assert.deepEqual(h.batches.map(h.ids), [["e2"]]);
    assert.deepEqual(h.sleeps, [], "a refusal is not retried");
    const d = h.queue.diagnostics();
    assert.equal(d.rejectedCount, 1);
    assert.equal(d.sentCount, 1);
  });

  it("retries 408/409/429 like Python, not other 4xx", async () => {
    const h = harness();
    h.failures.push(new ApieError("http_error", "slow down", { status: 429 }));
    h.queue.enqueue(ev(1));
    await h.queue.flush();
    assert.equal(h.batches.length, 1);
    assert.equal(h.queue.diagnostics().retryCount, 1);
  });

  it("cuts batches at maxBatchBytes (the sidecar refuses bodies over 1 MiB)", async () => {
    const h = harness({ maxBatchSize: 100, maxBatchBytes: 2_000 });
    for (let i = 1; i <= 4; i++) h.queue.enqueue(ev(i, { metadata: { blob: "x".repeat(700) } }));
    await h.queue.flush();
    assert.deepEqual(h.batches.map(h.ids), [["e1", "e2"], ["e3", "e4"]]);
  });

  it("drops an event JSON cannot carry, and says so", () => {
    const h = harness();
    h.queue.enqueue(ev(1, { metadata: { n: 1n } }));
    assert.equal(h.queue.diagnostics().droppedCount, 1);
    assert.match(String(h.errors[0]), /not JSON-serializable/);
  });

  it("concurrent flushes run one after the other, and each waits for what was queued before it", async () => {
    const h = harness({ maxBatchSize: 1 });
    h.queue.enqueue(ev(1));
    const first = h.queue.flush();
    h.queue.enqueue(ev(2));
    const second = h.queue.flush();
    await second;
    assert.deepEqual(h.batches.map(h.ids), [["e1"], ["e2"]]);
    await first;
  });

  it("flushes every flushIntervalMs on an unref'd timer that stop() clears", async () => {
    const h = harness({ flushIntervalMs: 10 });
    h.queue.start();
    assert.equal((h.queue as unknown as { timer: NodeJS.Timeout }).timer.hasRef(), false, "never keeps the process alive");
    h.queue.enqueue(ev(1));
    const deadline = Date.now() + 2000;
    while (h.batches.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    h.queue.stop();
    assert.deepEqual(h.batches.map(h.ids), [["e1"]]);
  });
});
