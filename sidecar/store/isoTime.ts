let second = Number.NaN;
let secondText = "";

/**
 * `new Date(epochMs).toISOString()` (within years 0–9999), with the date and time up to the second formatted
 * once per second: ~25 ns instead of ~500 ns, which matters to what stamps every record or report it writes.
 */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const s = Math.floor(ms / 1000);
  if (s !== second) {
    second = s;
    secondText = new Date(s * 1000).toISOString().slice(0, 20); // "2026-12-07T22:12:30."
  }
  const fraction = ms - s * 1000;
  return `${secondText}${fraction < 10 ? "00" : fraction < 100 ? "0" : ""}${fraction}Z`;
}
