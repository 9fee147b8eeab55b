import { performance } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Gives memory back once the sidecar goes quiet after work. A burst of requests (100 000 events, say) leaves
 * V8's young generation at its full 32 MB and dead request bodies in large-object space. V8 frees the
 * bodies only in a full collection, and shrinks the young generation only in a full collection that sees a
 * low allocation rate over its last 5 s — and while the process idles, no collection runs at all.
 *
 * So, once no request has come for `idleMs` and the heap grew by `growthBytes` since the last trim (an agent
 * calling a tool every few seconds never triggers one): a full collection (the dead bodies), then, if the
 * sidecar is still quiet `settleMs` later, a second one — V8 now sees seconds of near-zero allocation and
 * gives the young generation back. Each takes ~10 ms with nobody waiting. Measured with
 * bench/footprint.bench.ts: RSS after 100 000 events 105–133 MB right after the burst, ~75 MB once trimmed.
 * A request in between just postpones it.
 *
 * `activity()` is on every request's path: a clock read and, at most once per quiet spell, a timer.
 */

export interface IdleTrimOptions {
  /** Quiet time before the first collection (default 6 000 ms). */
  idleMs?: number;
  /** Quiet time between the two collections: longer than V8's 5 s allocation-rate window (default 5 500 ms). */
  settleMs?: number;
  /** Heap growth since the last trim that makes one worth it (default 16 MB). */
  growthBytes?: number;
  /** The collection to run (tests); default: V8's full GC, exposed on first use. */
  collect?: () => void;
  /** The heap's size (tests); default: V8's `total_heap_size`. */
  heapBytes?: () => number;
  /** Told what a trim gave back and how long its collections took. */
  onTrim?: (trim: { freedBytes: number; ms: number }) => void;
}

export class IdleTrim {
  private readonly idleMs: number;
  private readonly settleMs: number;
  private readonly growthBytes: number;
  private readonly heapBytes: () => number;
  private collect: (() => void) | undefined;
  /** The heap's size after the last trim (or at the start). */
  private baseline: number;
  private lastActivity = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set between the two collections of a trim: the heap size before it, and the first one's time. */
  private settling: { before: number; ms: number; at: number } | undefined;
  private closed = false;

  constructor(private readonly options: IdleTrimOptions = {}) {
    this.idleMs = options.idleMs ?? 6_000;
    this.settleMs = options.settleMs ?? 5_500;
    this.growthBytes = options.growthBytes ?? 16 * 1024 * 1024;
    this.heapBytes = options.heapBytes ?? (() => getHeapStatistics().total_heap_size);
    this.collect = options.collect;
    this.baseline = this.heapBytes();
  }

  activity(): void {
    this.lastActivity = performance.now();
    if (this.timer === undefined && !this.closed) this.arm(this.idleMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const settling = this.settling;
    this.settling = undefined;
    const quietFor = performance.now() - this.lastActivity;
    if (settling !== undefined && this.lastActivity < settling.at) {
      this.finish(settling.before, settling.ms + this.timed());
      return;
    }
    if (quietFor < this.idleMs) {
      this.arm(this.idleMs - quietFor);
      return;
    }
    const before = this.heapBytes();
    if (before < this.baseline + this.growthBytes) return;
    this.collect ??= exposeFullGc();
    if (this.collect === undefined) return;
    const ms = this.timed();
    this.settling = { before, ms, at: performance.now() };
    this.arm(this.settleMs);
  };

  /** One collection; how long it took. */
  private timed(): number {
    const started = performance.now();
    this.collect!();
    return performance.now() - started;
  }

  private finish(before: number, ms: number): void {
    this.baseline = this.heapBytes();
    this.options.onTrim?.({ freedBytes: before - this.baseline, ms });
  }
}

/** `gc()` without starting Node with --expose-gc: the flag, then a context created after it has the function. */
function exposeFullGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") return existing as () => void;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
