import { strict as assert } from "node:assert";
import { isoTime } from "../../../sidecar/store/isoTime";

describe("isoTime", () => {
  it("reads exactly as Date#toISOString, fractional milliseconds and second boundaries included", () => {
    let t = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    for (let i = 0; i < 200_000; i++) {
      t += (i * 7919) % 13 === 0 ? 1000.5 : 0.37 * ((i % 11) + 1);
      assert.equal(isoTime(t), new Date(t).toISOString(), `at ${t}`);
    }
    for (const t of [0, 999.999, 1000, 1e12, Date.UTC(2000, 1, 29, 0, 0, 0, 5), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) assert.equal(isoTime(t), new Date(t).toISOString());
    // Going back in time is formatted right too (the cached second is replaced, not assumed to grow).
    assert.equal(isoTime(5_000), new Date(5_000).toISOString());
    assert.equal(isoTime(1_000), new Date(1_000).toISOString());
  });
});
