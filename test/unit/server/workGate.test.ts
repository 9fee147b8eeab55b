import { strict as assert } from "node:assert";
import { HttpError } from "../../../sidecar/server/routing";
import { WorkGate } from "../../../sidecar/server/workGate";

/** A job that runs until released, recording that it started. */
function job(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { run: () => (started.push(name), done.then(() => name)), release: () => release() };
}

describe("server: WorkGate (bounded concurrency for expensive routes)", () => {
  it("runs `running` jobs at once, queues `queued` more in order, refuses the next with 503 busy and retry_after_s", async () => {
    const gate = new WorkGate({ what: "reports", running: 1, queued: 2 });
    const started: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((n) => job(started, n));
    const results = [gate.run(a!.run), gate.run(b!.run), gate.run(c!.run)];
    await assert.rejects(gate.run(async () => "d"), (e: HttpError) => e.status === 503 && e.code === "busy" && e.retryAfterS! >= 1 && /too many reports at once/.test(e.message));
    await Promise.resolve();
    assert.deepEqual(started, ["a"]);
    a!.release();
    assert.equal(await results[0], "a");
    // a's slot went straight to b: a request arriving now does not take it, it queues behind c.
    const late = job(started, "late");
    const lateResult = gate.run(late.run);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ["a", "b"]);
    b!.release();
    await results[1];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ["a", "b", "c"]);
    c!.release();
    late.release();
    assert.deepEqual(await Promise.all([...results, lateResult]), ["a", "b", "c", "late"]);
    assert.deepEqual(started, ["a", "b", "c", "late"]);
    assert.equal(await gate.run(async () => "free again"), "free again");
  });

  it("a waiting request whose client hangs up leaves the queue without running", async () => {
    const gate = new WorkGate({ what: "reports", running: 1, queued: 1 });
    const started: string[] = [];
    const a = job(started, "a");
    const first = gate.run(a.run);
    const hangUp = new AbortController();
    const waiting = gate.run(async () => (started.push("never"), "never"), hangUp.signal);
    hangUp.abort();
    await assert.rejects(waiting, (e: HttpError) => e.code === "client_closed");
    // Its place in the queue is free again.
    const b = job(started, "b");
    const second = gate.run(b.run);
    a.release();
    await first;
    await new Promise((r) => setImmediate(r));
    b.release();
    assert.equal(await second, "b");
    assert.deepEqual(started, ["a", "b"]);
  });
});
