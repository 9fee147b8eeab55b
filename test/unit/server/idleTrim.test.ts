import { strict as assert } from "node:assert";
import { IdleTrim } from "../../../sidecar/server/idleTrim";

/** A heap that the test grows, and that a collection shrinks. */
function fakeHeap() {
  const MB = 1024 * 1024;
  const state = { bytes: 20 * MB, collections: [] as number[], trims: [] as { freedBytes: number }[] };
  return {
    MB,
    state,
    options: (idleMs: number, settleMs: number) => ({
      idleMs,
      settleMs,
      heapBytes: () => state.bytes,
      collect: () => {
        state.collections.push(performance.now());
        state.bytes = Math.max(20 * MB, state.bytes - 30 * MB);
      },
      onTrim: (trim: { freedBytes: number }) => void state.trims.push(trim),
    }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(5);
  }
}

describe("server: giving memory back once idle (IdleTrim)", () => {
  it("after a burst grew the heap and the sidecar went quiet: two collections, the second a settle time after the first", async () => {
    const heap = fakeHeap();
    const trim = new IdleTrim(heap.options(40, 60));
    heap.state.bytes = 120 * heap.MB;
    trim.activity();
    await until(() => heap.state.trims.length === 1);
    assert.equal(heap.state.collections.length, 2);
    assert.ok(heap.state.collections[1]! - heap.state.collections[0]! >= 55, "the second collection waits for V8's rate window");
    assert.equal(heap.state.trims[0]!.freedBytes, 120 * heap.MB - 60 * heap.MB);
    trim.close();
  });

  it("runs nothing while requests keep coming, nor when the heap did not grow", async () => {
    const heap = fakeHeap();
    const trim = new IdleTrim(heap.options(100, 40));
    heap.state.bytes = 120 * heap.MB;
    for (let i = 0; i < 40; i++) {
      trim.activity();
      await sleep(5);
    }
    assert.equal(heap.state.collections.length, 0);
    await until(() => heap.state.trims.length === 1);
    // Quiet again after a little traffic that grew nothing: no second trim.
    trim.activity();
    await sleep(300);
    assert.equal(heap.state.collections.length, 2);
    trim.close();
  });

  it("a request between the two collections postpones the trim; it completes once quiet again", async () => {
    const heap = fakeHeap();
    const trim = new IdleTrim(heap.options(40, 80));
    heap.state.bytes = 150 * heap.MB;
    trim.activity();
    await until(() => heap.state.collections.length === 1);
    trim.activity();
    await sleep(120);
    assert.equal(heap.state.trims.length, 0, "the settle collection was skipped: a request came in between");
    await until(() => heap.state.trims.length === 1);
    assert.equal(heap.state.collections.length, 3);
    trim.close();
  });
});
