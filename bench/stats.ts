/**
 * Measurement helpers shared by every benchmark: warm-up, per-call latency samples, batch throughput,
 * percentiles and formatting. All times are nanoseconds until they are formatted.
 *
 * Latency and throughput are measured separately on purpose: reading the clock around every call costs
 * tens of nanoseconds and breaks up the loop the JIT sees, which is fine for percentiles but would understate
 * decisions per second. Throughput therefore comes from one clock read around a tight batch.
 */

export interface LatencySummary {
  p50: number;
  p99: number;
  mean: number;
  samples: number;
}

/** Ask V8 for a full collection between phases, so one phase's garbage is not collected on another's clock. */
export function collectGarbage(): void {
  // Only present under `node --expose-gc` (npm run bench passes it); without it the phases just share GC debt.
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Run `fn` enough for the JIT to optimise it (and any caches to fill) before anything is timed: at least
 * `calls` calls and at least `minMs` milliseconds, so a 1 µs function gets far more warm-up calls than a 1 ms one.
 */
export function warmUp(fn: (i: number) => unknown, calls: number, minMs = 0): void {
  let sink = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(minMs * 1e6));
  let i = 0;
  do {
    for (const end = i + calls; i < end; i++) if (fn(i) !== undefined) sink++;
  } while (process.hrtime.bigint() < deadline);
  consume(sink);
}

/** Time each of `calls` calls on its own; returns one nanosecond sample per call. */
export function timeEach(fn: (i: number) => unknown, calls: number): Float64Array {
  const samples = new Float64Array(calls);
  let sink = 0;
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    const result = fn(i);
    samples[i] = Number(process.hrtime.bigint() - start);
    if (result !== undefined) sink++;
  }
  consume(sink);
  return samples;
}

/** Calls per second over one tight batch of `calls` calls (one clock read at each end). */
export function throughput(fn: (i: number) => unknown, calls: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (fn(i) !== undefined) sink++;
  const elapsedNs = Number(process.hrtime.bigint() - start);
  consume(sink);
  return (calls * 1e9) / elapsedNs;
}

/**
 * What one `timeEach` sample costs with nothing inside it: the two clock reads and the BigInt subtraction.
 * Reported next to sub-microsecond results so readers know how much of a p50 is the stopwatch.
 */
export function timerOverheadNs(calls = 20_000): number {
  return summarize(timeEach(() => 0, calls)).p50;
}

/** Sorts `samplesNs` in place and summarises it. */
export function summarize(samplesNs: Float64Array): LatencySummary {
  samplesNs.sort();
  let total = 0;
  for (const s of samplesNs) total += s;
  return {
    p50: percentile(samplesNs, 50),
    p99: percentile(samplesNs, 99),
    mean: samplesNs.length === 0 ? Number.NaN : total / samplesNs.length,
    samples: samplesNs.length,
  };
}

/** Nearest-rank percentile of already sorted samples (no interpolation: every result is a real sample). */
export function percentile(sortedNs: Float64Array, p: number): number {
  if (sortedNs.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedNs.length);
  return sortedNs[Math.min(sortedNs.length, Math.max(1, rank)) - 1]!;
}

/** Nanoseconds as microseconds, with enough digits to tell 0.8 µs from 1.2 µs. */
export function formatMicros(ns: number): string {
  const us = ns / 1000;
  if (!Number.isFinite(us)) return "n/a";
  return `${us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0)} µs`;
}

/** A rate with thousands separators, e.g. `1,234,567/s`. */
export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString("en-US")}/s`;
}

export function formatRatio(ratio: number): string {
  return `${ratio < 10 ? ratio.toFixed(1) : ratio.toFixed(0)}x`;
}

/** A plain-text table: first column left-aligned (labels), the rest right-aligned (numbers). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, col) => Math.max(h.length, ...rows.map((r) => (r[col] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join(" | ");
  const rule = widths.map((w) => "-".repeat(w)).join("-|-");
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

/**
 * Keep a value observably alive so the optimiser cannot drop the calls that produced it. A write to a
 * module-level variable is enough: V8 does not eliminate stores it cannot prove unread.
 */
let blackHole = 0;
function consume(value: number): void {
  blackHole ^= value;
}

/** Sequential latency of an async call: `calls` samples after `warmup` untimed calls. */
export async function timeSequential(call: () => Promise<unknown>, warmup: number, calls: number): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await call();
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return summarize(samples);
}

/**
 * Several paths timed in alternation: after each path's warm-up, `rounds` rounds of `perRound` sequential
 * calls on each path in turn, in {@link balancedOrders}, so drift over the run (CPU frequency, other
 * processes, caches) and whatever one path leaves behind for the next falls on every path alike instead of on
 * whichever ran last or always after the same neighbour.
 */
export async function timeInterleaved(
  paths: readonly (() => Promise<unknown>)[],
  warmup: number,
  rounds: number,
  perRound: number,
): Promise<LatencySummary[]> {
  return (await sampleInterleaved(paths, warmup, rounds, perRound)).map(summarize);
}

/**
 * Orders in which `n` paths take their turns, round after round (a Williams design): every path runs in every
 * position, and directly after every other path, equally often over the rows (`n` rows for even `n`, `2n` for
 * odd). Why it matters: a plain rotation (0 1 2 3, 1 2 3 0, …) always runs a path right after the same
 * neighbour, so work one path leaves behind — a sidecar journaling the reports a proxy sent at the end of its
 * turn — always lands in the same other path's turn (the enforce proxy read ~0.06× slower than the monitor
 * proxy that always ran before it, with equal CPU per call).
 */
export function balancedOrders(n: number): number[][] {
  const first: number[] = [];
  for (let i = 0, low = 0, high = n - 1; i < n; i++) first.push(i % 2 === 0 ? low++ : high--);
  const rows = Array.from({ length: n }, (_, shift) => first.map((path) => (path + shift) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

export interface InterleaveOptions {
  /**
   * Idle time after each turn, before the next path starts (default 0): what a path's turn set off in the
   * background (reports sent on a timer, a collection) finishes there instead of in the next path's turn.
   */
  pauseMs?: number;
}

/** {@link timeInterleaved}'s samples, unsorted: path by path, round after round (`perRound` each). */
export async function sampleInterleaved(
  paths: readonly (() => Promise<unknown>)[],
  warmup: number,
  rounds: number,
  perRound: number,
  options: InterleaveOptions = {},
): Promise<Float64Array[]> {
  for (const call of paths) for (let i = 0; i < warmup; i++) await call();
  const samples = paths.map(() => new Float64Array(rounds * perRound));
  const orders = balancedOrders(paths.length);
  for (let round = 0; round < rounds; round++) {
    for (const which of orders[round % orders.length]!) {
      const call = paths[which]!;
      const into = samples[which]!;
      for (let i = round * perRound, end = i + perRound; i < end; i++) {
        const t0 = process.hrtime.bigint();
        await call();
        into[i] = Number(process.hrtime.bigint() - t0);
      }
      if (options.pauseMs !== undefined && options.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  }
  return samples;
}

/**
 * The p50 of `path` over the p50 of `baseline`, round by round (both sampled by {@link sampleInterleaved}):
 * their median and range. Steadier than one ratio of whole-run p50s on a shared machine, and the range says
 * how far one reading can be trusted.
 */
export function roundRatios(path: Float64Array, baseline: Float64Array, perRound: number): { median: number; min: number; max: number } {
  const ratios: number[] = [];
  for (let start = 0; start + perRound <= path.length; start += perRound) {
    const p50 = (samples: Float64Array) => percentile(samples.slice(start, start + perRound).sort(), 50);
    ratios.push(p50(path) / p50(baseline));
  }
  ratios.sort((a, b) => a - b);
  return { median: ratios[Math.floor(ratios.length / 2)]!, min: ratios[0]!, max: ratios[ratios.length - 1]! };
}

/**
 * `total` calls kept `concurrency` in flight (a closed loop): per-call latency and overall calls/s.
 */
export async function timeConcurrent(call: () => Promise<unknown>, total: number, concurrency: number): Promise<{ lat: LatencySummary; rate: number }> {
  const samples = new Float64Array(total);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        await call();
        samples[i] = Number(process.hrtime.bigint() - t0);
      }
    }),
  );
  const rate = total / (Number(process.hrtime.bigint() - started) / 1e9);
  return { lat: summarize(samples), rate };
}
