import { strict as assert } from "node:assert";
import { MAX_HOLD_MS, Outbox } from "../../../sidecar/lsp/outbox";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An outbox of numbers whose sends are recorded in order: `[1, 2]` for a batch, `"status"` for a message. */
function recorder(maxBatch: number, now?: () => number) {
  const sent: (number[] | string)[] = [];
  const outbox = new Outbox<number>((items) => void sent.push(items), maxBatch, now);
  return { sent, outbox };
}

/** Adds `count` items (numbered from `from`) `perTurn` per event-loop turn, as the sidecar logs an event batch. */
async function sliced(outbox: Outbox<number>, from: number, count: number, perTurn: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % perTurn === 0) await turn();
    outbox.add(from + i);
  }
}

async function settled(sent: unknown[]): Promise<void> {
  let before = -1;
  while (before !== sent.length) {
    before = sent.length;
    for (let i = 0; i < 5; i++) await turn();
  }
}

describe("lsp outbox (the editor's live feed)", () => {
  it("sends nothing in the turn that queued it, then everything of the turn as one batch", async () => {
    const { sent, outbox } = recorder(500);
    for (let i = 1; i <= 3; i++) outbox.add(i);
    assert.deepEqual(sent, []);
    await settled(sent);
    assert.deepEqual(sent, [[1, 2, 3]]);
  });

  it("a burst logged a slice per turn goes out as one batch; more than maxBatch is split, in order, nothing lost", async () => {
    const { sent, outbox } = recorder(500);
    await sliced(outbox, 1, 500, 16);
    await settled(sent);
    assert.deepEqual(sent, [Array.from({ length: 500 }, (_, i) => i + 1)]);

    const small = recorder(100);
    await sliced(small.outbox, 1, 250, 16);
    await settled(small.sent);
    assert.ok(small.sent.every((b) => Array.isArray(b) && b.length <= 100), JSON.stringify(small.sent.map((b) => b.length)));
    assert.deepEqual(small.sent.flat(), Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it("a standalone message ends the open batch: it goes out after what was queued before it, before what came after", async () => {
    const { sent, outbox } = recorder(500);
    outbox.add(1);
    outbox.add(2);
    outbox.push(() => void sent.push("status"));
    outbox.add(3);
    await settled(sent);
    assert.deepEqual(sent, [[1, 2], "status", [3]]);
  });

  it("holds a steady stream at most MAX_HOLD_MS", async () => {
    let clock = 0;
    const { sent, outbox } = recorder(500, () => clock);
    for (let i = 1; sent.length === 0 && i < 1000; i++) {
      outbox.add(i);
      clock += 1;
      await turn();
    }
    assert.equal(sent.length, 1);
    assert.ok((sent[0] as number[]).length <= MAX_HOLD_MS + 1, `held ${(sent[0] as number[]).length} turns`);
  });

  it("close drops what is queued and refuses more", async () => {
    const { sent, outbox } = recorder(500);
    outbox.add(1);
    outbox.close();
    outbox.add(2);
    outbox.push(() => void sent.push("status"));
    await settled(sent);
    assert.deepEqual(sent, []);
  });
});
