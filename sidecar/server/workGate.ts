import { HttpError } from "./routing";

export interface WorkGateOptions {
  /** What the gate guards, for the refusal's message (e.g. "boundary reports"). */
  what: string;
  /** Jobs running at once. */
  running: number;
  /** Jobs waiting for a turn; one more is refused. */
  queued: number;
}

interface Waiter {
  start(): void;
  signal: AbortSignal | undefined;
  onAbort(): void;
}

/**
 * Bounded concurrency for expensive routes: at most `running` jobs at once and `queued` more waiting (first
 * come, first served); past that the request is refused at once with 503 `busy` and a `retry_after_s` (also
 * sent as the HTTP Retry-After header) estimated from how long the last job took. A waiting request whose
 * client hangs up leaves the queue without running. The guard never goes through a gate: only the jobs that
 * could crowd it out do.
 */
export class WorkGate {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private lastJobMs = 1_000;

  constructor(private readonly options: WorkGateOptions) {}

  /** Runs `job` when its turn comes; throws the 503 HttpError when the queue is full. */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // A finishing job hands its slot straight to the next waiter (`active` unchanged), so a request arriving
    // in between cannot take it too.
    if (this.active < this.options.running) this.active++;
    else await this.wait(signal);
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.lastJobMs = performance.now() - started;
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next.start();
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.length >= this.options.queued) {
      const seconds = Math.max(1, Math.ceil(((this.waiting.length + this.active) * this.lastJobMs) / 1000));
      const { what, running, queued } = this.options;
      throw new HttpError(503, "busy", `too many ${what} at once (${running} running, ${queued} waiting); retry in ${seconds} s`, undefined, seconds);
    }
    if (signal?.aborted) throw new HttpError(499, "client_closed", "the client hung up");
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        start: () => {
          signal?.removeEventListener("abort", waiter.onAbort);
          resolve();
        },
        onAbort: () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(new HttpError(499, "client_closed", "the client hung up"));
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }
}
