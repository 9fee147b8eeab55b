/**
 * Durations on the command line (`--approval-timeout`): `500ms`, `30s`, `10m`, `1h`, or a bare number of
 * milliseconds. Returns the milliseconds, or undefined when the text is not a positive duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (match === null) return undefined;
  const value = Number(match[1]) * UNIT_MS[(match[2] ?? "ms") as Unit];
  const ms = Math.round(value);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

type Unit = "ms" | "s" | "m" | "h";
const UNIT_MS: Record<Unit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The other way round, for messages: `30 min`, `90 s`, `1.5 h`, `500 ms`. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}
