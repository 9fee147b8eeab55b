import { strict as assert } from "node:assert";
import { RecentMap } from "../../../sidecar/store/recentMap";

/** The reference: a plain Map evicting with a fresh iterator each time (correct, but O(capacity) per set). */
class ReferenceMap<K, V> {
  readonly entries = new Map<K, V>();
  constructor(private readonly capacity: number) {}
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }
}

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("RecentMap", () => {
  it("forgets the oldest key past its capacity, and a key set again counts as new", () => {
    const map = new RecentMap<string, number>(3);
    for (const [i, key] of ["a", "b", "c", "a", "d", "e"].entries()) map.set(key, i);
    assert.deepEqual([...map.keys()], ["a", "d", "e"]);
    assert.equal(map.get("a"), 3);
    assert.equal(map.has("b"), false);
    assert.equal(map.size, 3);
  });

  it("a deleted key is not evicted in place of a live one", () => {
    const map = new RecentMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    assert.equal(map.delete("a"), true);
    map.set("c", 3);
    assert.deepEqual([...map.keys()], ["b", "c"]);
    map.set("d", 4);
    assert.deepEqual([...map.keys()], ["c", "d"]);
  });

  it("holds exactly what a plain Map evicting its first key holds, over 200 000 random sets, sets again and deletes", () => {
    // Enough operations for V8 to rebuild the table many times under the long-lived cursor.
    for (const capacity of [1, 7, 1_000]) {
      const next = random(capacity);
      const map = new RecentMap<number, number>(capacity);
      const reference = new ReferenceMap<number, number>(capacity);
      for (let i = 0; i < 200_000; i++) {
        const key = Math.floor(next() * capacity * 3);
        if (next() < 0.1) {
          assert.equal(map.delete(key), reference.entries.delete(key), `delete ${key} at op ${i}`);
        } else {
          map.set(key, i);
          reference.set(key, i);
        }
        if (i % 997 === 0) assert.deepEqual([...map.keys()], [...reference.entries.keys()], `capacity ${capacity}, op ${i}`);
      }
      assert.deepEqual([...map.keys()], [...reference.entries.keys()]);
      for (const [key, value] of reference.entries) assert.equal(map.get(key), value);
    }
  });

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => new RecentMap(0), /capacity must be a positive integer, got 0/);
    assert.throws(() => new RecentMap(1.5), /got 1.5/);
  });
});
