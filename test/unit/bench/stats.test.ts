import assert from "node:assert/strict";
import { balancedOrders } from "../../../bench/stats";

describe("bench: balanced orders of interleaved paths", () => {
  for (const n of [2, 3, 4, 5]) {
    it(`${n} paths: each runs in every position and right after every other path equally often`, () => {
      const rows = balancedOrders(n);
      const positions = new Map<string, number>();
      const successions = new Map<string, number>();
      const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
      for (const row of rows) {
        assert.deepEqual([...row].sort(), Array.from({ length: n }, (_, i) => i), `${JSON.stringify(row)} is no order of the ${n} paths`);
        row.forEach((path, at) => count(positions, `${path}@${at}`));
        for (let i = 1; i < n; i++) count(successions, `${row[i - 1]}>${row[i]}`);
      }
      assert.equal(positions.size, n * n);
      assert.equal(new Set(positions.values()).size, 1, "some path runs first more often than another");
      assert.equal(successions.size, n * (n - 1), "some path never runs right after another");
      assert.equal(new Set(successions.values()).size, 1, "some path follows one neighbour more often than another");
    });
  }
});
