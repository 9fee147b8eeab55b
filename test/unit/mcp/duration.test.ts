import { strict as assert } from "node:assert";
import { formatDuration, parseDuration } from "../../../sidecar/mcp/duration";

describe("mcp: --approval-timeout durations", () => {
  it("reads ms, s, m, h and bare milliseconds", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("1.5s"), 1_500);
    assert.equal(parseDuration("250"), 250);
    assert.equal(parseDuration(" 2m "), 120_000);
  });

  it("refuses what is not a positive duration", () => {
    for (const text of ["", "soon", "10 minutes", "-5s", "0", "0ms", "5d", "1e3", "s", "0.0001ms"]) assert.equal(parseDuration(text), undefined, text);
  });

  it("says a duration in the largest whole unit (for messages)", () => {
    assert.deepEqual([1_800_000, 7_200_000, 90_000, 1_000, 1_500].map(formatDuration), ["30 min", "2 h", "90 s", "1 s", "1500 ms"]);
  });
});
