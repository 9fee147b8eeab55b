import { isRetryable } from "./http";

/**
 * The client's outbox for timeline events (python-sdk `queue.py`): events are enqueued without waiting,
 * sent in batches of `maxBatchSize` every `flushIntervalMs` (and as soon as a batch is full), retried with
 * exponential backoff and jitter while the sidecar is away, and bounded by `maxQueueSize` (`drop_oldest` by
 * default). Differences from Python: a batch the sidecar refuses outright (4xx other than 408/409/429) is
 * dropped and counted as `rejectedCount` instead of blocking the queue forever, and batches are also cut at
 * `maxBatchBytes` (the sidecar refuses bodies over 1 MiB).
 */

export type QueuedEvent = Record<string, unknown>;

/** One batch to deliver: the events, and the same as a JSON array text (each event serialized once, at enqueue). */
export interface Batch {
  events: QueuedEvent[];
  json: string;
}

export interface EventQueueOptions {
  /** Delivers one batch; resolves once the sidecar acknowledged it (durably written). */
  send: (batch: Batch) => Promise<void>;
  flushIntervalMs: number;
  maxBatchSize: number;
  maxQueueSize: number;
  dropPolicy: "drop_oldest" | "drop_newest";
  retry: { attempts: number; baseDelayMs: number };
  /** Upper bound of one batch's JSON (default 900 000 bytes). */
  maxBatchBytes?: number;
  /** Dedup key of an event (default: its `event_id`). */
  keyOf?: (event: QueuedEvent) => string | undefined;
  /** Whether a failed send is worth another try (default: transport failures, 408/409/429, 5xx). */
  isRetryable?: (error: unknown) => boolean;
  onError?: (error: unknown) => void;
  /** Test seams. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
}

export interface QueueDiagnostics {
  /** Events waiting, including a batch in flight. */
  queueSize: number;
  droppedCount: number;
  deduplicatedCount: number;
  /** Events in batches the sidecar refused (not retried). */
  rejectedCount: number;
  sentCount: number;
  flushCount: number;
  retryCount: number;
  lastFlushAt: string | null;
  lastErrorAt: string | null;
  lastErrorMessage: string | null;
}

/** The counters of a queue that has done nothing yet. */
const NO_STATS: Readonly<Omit<QueueDiagnostics, "queueSize">> = {
  droppedCount: 0,
  deduplicatedCount: 0,
  rejectedCount: 0,
  sentCount: 0,
  flushCount: 0,
  retryCount: 0,
  lastFlushAt: null,
  lastErrorAt: null,
  lastErrorMessage: null,
};

export const EMPTY_DIAGNOSTICS: Readonly<QueueDiagnostics> = { queueSize: 0, ...NO_STATS };

interface Entry {
  event: QueuedEvent;
  key: string | undefined;
  json: string;
  bytes: number;
}

const BATCH_ENVELOPE_BYTES = 16;

type DrainScope = "queued" | "full";

export class EventQueue {
  private queue: Entry[] = [];
  private inFlight: Entry[] = [];
  private readonly keys = new Set<string>();
  private tail: Promise<void> = Promise.resolve();
  private autoFlushPending = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private wakeSleep: (() => void) | undefined;
  private readonly stats: Omit<QueueDiagnostics, "queueSize"> = { ...NO_STATS };
  private readonly keyOf: (event: QueuedEvent) => string | undefined;
  private readonly retryable: (error: unknown) => boolean;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => Date;
  private readonly maxBatchBytes: number;

  constructor(private readonly options: EventQueueOptions) {
    this.keyOf = options.keyOf ?? ((e) => (typeof e.event_id === "string" ? e.event_id : undefined));
    this.retryable = options.isRetryable ?? isRetryable;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    this.maxBatchBytes = options.maxBatchBytes ?? 900_000;
  }

  /** Starts the periodic flush. Its timer is unref'd: it never keeps the process alive on its own. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.autoFlush("queued"), this.options.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops for good: no timer, no further sends or retries; what is still queued stays unsent. */
  close(): void {
    this.stop();
    this.closed = true;
    this.wakeSleep?.();
  }

  /**
   * Adds an event without waiting. Duplicates (same key) are ignored; a full queue drops per the policy.
   * `json` is the event's JSON text when the caller already has it.
   */
  enqueue(event: QueuedEvent, json?: string): void {
    const key = this.keyOf(event);
    if (key !== undefined && this.keys.has(key)) {
      this.stats.deduplicatedCount++;
      return;
    }
    let text: string;
    try {
      text = json ?? JSON.stringify(event);
    } catch (error) {
      this.stats.droppedCount++;
      this.recordError(new Error(`event ${String(event.type)} is not JSON-serializable: ${(error as Error).message}`));
      return;
    }
    if (this.queue.length + this.inFlight.length >= this.options.maxQueueSize) {
      if (this.options.dropPolicy === "drop_newest" || this.queue.length === 0) {
        this.stats.droppedCount++;
        return;
      }
      this.forget(this.queue.shift()!);
      this.stats.droppedCount++;
    }
    this.queue.push({ event, key, json: text, bytes: Buffer.byteLength(text, "utf8") });
    if (key !== undefined) this.keys.add(key);
    if (this.queue.length >= this.options.maxBatchSize) this.autoFlush("full");
  }

  /**
   * Sends everything queued, batch after batch; resolves when what was queued at the call is sent or a batch
   * still fails after its retries (it stays queued for the next flush). Never rejects; failures are in the
   * diagnostics.
   */
  flush(): Promise<void> {
    return this.drainInTurn("queued");
  }

  diagnostics(): QueueDiagnostics {
    return { queueSize: this.queue.length + this.inFlight.length, ...this.stats };
  }

  private autoFlush(scope: DrainScope): void {
    if (this.autoFlushPending) return;
    this.autoFlushPending = true;
    void this.drainInTurn(scope).finally(() => (this.autoFlushPending = false));
  }

  /** Drains run one after another, so batches leave in order. */
  private drainInTurn(scope: DrainScope): Promise<void> {
    const run = this.tail.then(() => this.drain(scope));
    this.tail = run;
    return run;
  }

  /**
   * `queued`: what is queued when the drain starts, then any full batches. `full`: full batches only. A drain
   * never chases the events that keep arriving while it sends: under a steady stream it would send a tiny
   * batch per round trip — each one an fdatasync on the sidecar — instead of one full batch per interval.
   */
  private async drain(scope: DrainScope): Promise<void> {
    let owed = scope === "queued" ? this.queue.length : 0;
    while (this.queue.length > 0 && !this.closed && (owed > 0 || this.queue.length >= this.options.maxBatchSize)) {
      const batch = this.takeBatch();
      owed -= batch.length;
      this.inFlight = batch;
      const outcome = await this.sendWithRetry({ events: batch.map((e) => e.event), json: `[${batch.map((e) => e.json).join(",")}]` });
      this.inFlight = [];
      if (outcome.ok) {
        for (const entry of batch) this.forget(entry);
        this.stats.sentCount += batch.length;
        this.stats.flushCount++;
        this.stats.lastFlushAt = this.now().toISOString();
        continue;
      }
      this.recordError(outcome.error);
      if (!outcome.retryable) {
        for (const entry of batch) this.forget(entry);
        this.stats.rejectedCount += batch.length;
        continue;
      }
      this.requeue(batch);
      return;
    }
  }

  private takeBatch(): Entry[] {
    let bytes = BATCH_ENVELOPE_BYTES;
    let count = 0;
    while (count < this.queue.length && count < this.options.maxBatchSize) {
      const next = this.queue[count]!.bytes + 1;
      if (count > 0 && bytes + next > this.maxBatchBytes) break;
      bytes += next;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /** A failed batch goes back to the front; if the queue filled meanwhile, the policy decides what goes. */
  private requeue(batch: Entry[]): void {
    this.queue = [...batch, ...this.queue];
    while (this.queue.length > this.options.maxQueueSize) {
      const dropped = this.options.dropPolicy === "drop_oldest" ? this.queue.shift()! : this.queue.pop()!;
      this.forget(dropped);
      this.stats.droppedCount++;
    }
  }

  private async sendWithRetry(batch: Batch): Promise<{ ok: true } | { ok: false; retryable: boolean; error: unknown }> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.send(batch);
        return { ok: true };
      } catch (error) {
        const retryable = this.retryable(error);
        if (!retryable || attempt >= this.options.retry.attempts || this.closed) return { ok: false, retryable, error };
        this.stats.retryCount++;
        await this.pause(this.backoff(attempt));
      }
    }
  }

  /** A backoff sleep that `close()` cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeSleep = () => resolve();
      void this.sleep(ms).then(() => resolve());
    }).finally(() => (this.wakeSleep = undefined));
  }

  /** base × 2^(attempt-1), jittered ×0.75–1.25, at least 50 ms (as python-sdk). */
  private backoff(attempt: number): number {
    const delay = this.options.retry.baseDelayMs * 2 ** (attempt - 1);
    return Math.max(50, Math.round(delay * (0.75 + this.random() * 0.5)));
  }

  private forget(entry: Entry): void {
    if (entry.key !== undefined) this.keys.delete(entry.key);
  }

  private recordError(error: unknown): void {
    this.stats.lastErrorAt = this.now().toISOString();
    this.stats.lastErrorMessage = error instanceof Error ? error.message : String(error);
    this.options.onError?.(error);
  }
}
