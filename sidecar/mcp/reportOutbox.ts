import { setImmediate as nextTurn } from "node:timers/promises";
import type { ReportedOutcome } from "../protocol/v1";
import { EventQueue } from "../sdk/eventQueue";
import { RawJson, type HttpClient } from "../sdk/http";
import { boundedReportJson } from "./largeArguments";

/**
 * The reports of the replica's decisions (LocalGuard) on their way to POST /v1/guardrails/decisions, kept off
 * the calls' path: a call costs the outbox one Map entry when decided and two field writes when its outcome
 * arrives. Everything else — timestamps, JSON, the size bound (largeArguments.ts), the send — happens on a
 * timer, {@link SLICE_INTERVAL_MS} apart, {@link REPORTS_PER_SLICE} reports per turn of the event loop, so a
 * call arriving meanwhile waits for one slice at most, never for a whole batch.
 *
 * What reaches the log, and when (the guarantee the proxy gives for the calls its replica allowed):
 * - the decision is journaled with the call: decision and outcome in one report, the sidecar journaling the
 *   decision and, right behind it, the outcome event — within about SLICE_INTERVAL_MS + one round trip of
 *   the outcome. A call still running after OUTCOME_WAIT_MS has its decision reported alone, and its outcome
 *   goes later as an event (OutcomeLog), so the log never holds an outcome whose decision is missing;
 * - the call is forwarded before its report is acknowledged (as the sidecar's own allows are journaled
 *   lazily, not synced before the answer): a proxy killed within that window loses those reports, at most
 *   ~SLICE_INTERVAL_MS of calls. Waiting for the acknowledgement would put a sidecar round trip on every call;
 * - a report never fails for its size (arguments digested); one the sidecar refuses (`onRefused`) turns the
 *   fast path off in LocalGuard, so from then on every call waits for the sidecar's own decision, journaled
 *   before it runs; one it cannot reach stays queued (retried, bounded by MAX_QUEUED) while calls go the
 *   sidecar's way or guardFailureMode's.
 */

/** How long a decision's report waits for the call's outcome, so most calls cost the sidecar one message. */
const OUTCOME_WAIT_MS = 200;
/** How often waiting reports are looked at, built and sent. */
const SLICE_INTERVAL_MS = 250;
/** Reports built per turn of the event loop (~0.1–0.3 ms of work on a loaded machine). */
const REPORTS_PER_SLICE = 64;
const MAX_QUEUED = 20_000;

export type CallOutcome = { status: "completed" } | { status: "failed"; error: string };

interface Pending {
  decisionId: string;
  body: unknown;
  /** performance.now() at the decision, and at the outcome. */
  decidedAt: number;
  settledAt?: number;
  outcome?: CallOutcome;
}

interface Report {
  decision_id: string;
  body: unknown;
  decided_at: string;
  outcome?: ReportedOutcome;
}

export class ReportOutbox {
  /** Decided, not yet built into a report; in decision order. */
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private building: Promise<void> | undefined;
  private readonly queue: EventQueue;

  constructor(http: HttpClient, onError: (error: unknown) => void) {
    this.queue = new EventQueue({
      send: async (batch) => {
        await http.request("POST", "/v1/guardrails/decisions", new RawJson(`{"decisions":${batch.json}}`));
      },
      // Sends are driven by the slices; the queue's own timer only retries what a slice could not send.
      flushIntervalMs: 1_000,
      maxBatchSize: 500,
      maxQueueSize: MAX_QUEUED,
      dropPolicy: "drop_oldest",
      retry: { attempts: 3, baseDelayMs: 250 },
      keyOf: (report) => String(report.decision_id),
      onError,
    });
    this.queue.start();
  }

  /** A plain allow the replica made, on the evaluate body it decided on. */
  decided(decisionId: string, body: unknown): void {
    this.pending.set(decisionId, { decisionId, body, decidedAt: performance.now() });
    this.timer ??= setTimeout(this.slice, SLICE_INTERVAL_MS);
  }

  /** The call's outcome; true when it goes with the decision's report, false when that report already left. */
  settle(decisionId: string, outcome: CallOutcome): boolean {
    const pending = this.pending.get(decisionId);
    if (pending === undefined) return false;
    pending.outcome = outcome;
    pending.settledAt = performance.now();
    return true;
  }

  /** Builds and sends everything now; resolves when sent or given up (see EventQueue). */
  async flush(): Promise<void> {
    await this.building;
    for (const pending of this.pending.values()) this.enqueue(pending);
    this.pending.clear();
    await this.queue.flush();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const pending of this.pending.values()) this.enqueue(pending);
    this.pending.clear();
    this.queue.close();
  }

  /** Builds the reports that are due (outcome known, or waited long enough), a slice per turn, then sends them. */
  private readonly slice = (): void => {
    this.timer = undefined;
    this.building = (async () => {
      const waitedEnough = performance.now() - OUTCOME_WAIT_MS;
      let built = 0;
      for (const [id, pending] of this.pending) {
        if (pending.outcome === undefined && pending.decidedAt > waitedEnough) continue;
        this.pending.delete(id);
        this.enqueue(pending);
        if (++built % REPORTS_PER_SLICE === 0) await nextTurn();
      }
      if (built > 0) await this.queue.flush();
    })().finally(() => {
      this.building = undefined;
      if (this.pending.size > 0) this.timer ??= setTimeout(this.slice, SLICE_INTERVAL_MS);
    });
  };

  private enqueue(pending: Pending): void {
    const at = (ms: number) => new Date(performance.timeOrigin + ms).toISOString();
    const report: Report = { decision_id: pending.decisionId, body: pending.body, decided_at: at(pending.decidedAt) };
    if (pending.outcome !== undefined) report.outcome = { ...pending.outcome, at: at(pending.settledAt!) };
    this.queue.enqueue(report as unknown as Record<string, unknown>, boundedReportJson(report));
  }
}
