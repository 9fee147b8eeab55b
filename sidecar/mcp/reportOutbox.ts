import { setImmediate as nextTurn } from "node:timers/promises";
import { EventQueue } from "../sdk/eventQueue";
import { RawJson, type HttpClient } from "../sdk/http";
import { isoTime } from "../store/isoTime";
import { boundedReport } from "./largeArguments";

/**
 * The reports of the replica's decisions (LocalGuard) on their way to POST /v1/guardrails/decisions, kept off
 * the calls' path and out of their way: a call costs the outbox an array push when decided and two field
 * writes when its outcome arrives (the caller keeps its WaitingReport). Everything else — timestamps, JSON,
 * the size bound (largeArguments.ts), the send, and the sidecar's journaling of them — waits for a pause in
 * the calls ({@link QUIET_MS} without one decided or answered), and goes then, {@link REPORTS_PER_SLICE}
 * reports per turn of the event loop. An agent
 * calls tools in bursts between model turns, so its reports are built and journaled while nothing waits for
 * them; a stream of calls that never pauses still reports at least every {@link MAX_DEFER_MS}. Why: built and
 * journaled while calls were flowing (every 250 ms, before), the reports' work on a two-core machine — the
 * proxy's and even more the sidecar's — put ~1 % more of the calls over 1 ms (bench/mcp.bench.ts: p99 +1.5 ms
 * over the pass-through; with no reports at all +0.2 ms).
 *
 * What reaches the log, and when (the guarantee the proxy gives for the calls its replica allowed):
 * - the decision is journaled with the call: decision and outcome in one report, the sidecar journaling the
 *   decision and, right behind it, the outcome event — once the calls pause (QUIET_MS + one round trip after
 *   the last one), at the latest about MAX_DEFER_MS after the decision. A call still running after
 *   OUTCOME_WAIT_MS has its decision reported alone, and its outcome goes later as an event (OutcomeLog), so
 *   the log never holds an outcome whose decision is missing;
 * - the call is forwarded before its report is acknowledged (as the sidecar's own allows are journaled
 *   lazily, not synced before the answer): a proxy killed before the calls pause loses the reports of the
 *   calls since the last pause, at most ~MAX_DEFER_MS of calls. Waiting for the acknowledgement would put a
 *   sidecar round trip on every call;
 * - a report never fails for its size (arguments digested); one the sidecar refuses (`onRefused`) turns the
 *   fast path off in LocalGuard, so from then on every call waits for the sidecar's own decision, journaled
 *   before it runs; one it cannot reach stays queued (retried, bounded by MAX_QUEUED) while calls go the
 *   sidecar's way or guardFailureMode's.
 */

/** How long a decision's report waits for the call's outcome, so most calls cost the sidecar one message. */
const OUTCOME_WAIT_MS = 200;
/** A pause in the calls this long lets the waiting reports go. */
const QUIET_MS = 20;
/** The longest a decision waits for a pause before its report goes anyway. */
const MAX_DEFER_MS = 1_000;
/** Reports built per turn of the event loop (~0.1–0.3 ms of work on a loaded machine). */
const REPORTS_PER_SLICE = 64;
const MAX_QUEUED = 20_000;

export type CallOutcome = { status: "completed" } | { status: "failed"; error: string };

/** The outcome of every call that completed: one object, not one per call kept by its waiting report. */
export const COMPLETED: CallOutcome = Object.freeze({ status: "completed" });

/**
 * Whole milliseconds since the process started (what a report's ISO times resolve to anyway). A whole number
 * is kept inside the report; a fractional one would be an object of its own for every report — and every
 * object a waiting report holds is copied by each scavenge while calls flow (see {@link WaitingReport}).
 */
function nowMs(): number {
  return Math.floor(performance.now());
}

/**
 * A decision waiting to be reported. The caller keeps it and hands it back with the call's outcome, so a call
 * costs the outbox an array push and two field writes — no map keyed by decision id on the call's path. Every
 * field is there from the start, so those writes never change the object's shape.
 * What waits is small: the body's JSON without its arguments (one string, shared by every call of a tool in a
 * run: requestTemplates.ts) and the arguments as the call carried them. A stream of calls keeps up to a
 * second of these alive, and every object they hold is copied by each scavenge meanwhile.
 */
export interface WaitingReport {
  readonly decisionId: string;
  /** The evaluate body's JSON up to, not including, its `arguments` and closing brace. */
  readonly bodyOpening: string;
  /** The body's `arguments` (undefined: none). */
  readonly args: unknown;
  /** {@link nowMs} at the decision, and at the outcome. */
  readonly decidedAt: number;
  /** Meaningful once `outcome` is set. */
  settledAt: number;
  outcome: CallOutcome | undefined;
  /** Built into a report (queued to be sent): an outcome arriving later goes on its own. */
  built: boolean;
}

export class ReportOutbox {
  /** Decided, in decision order; the built ones are dropped after each slice. */
  private waiting: WaitingReport[] = [];
  private timer: NodeJS.Timeout | undefined;
  private building: Promise<void> | undefined;
  /** {@link nowMs} of the last decision or outcome: the calls pause when it is QUIET_MS old. */
  private lastCall = 0;
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

  /**
   * A plain allow the replica made, on the evaluate body whose JSON is `opening` (RequestTemplate.opening) with
   * `args`; pass the result to {@link settle}.
   */
  decided(decisionId: string, opening: string, args: unknown): WaitingReport {
    const report: WaitingReport = { decisionId, bodyOpening: opening, args, decidedAt: (this.lastCall = nowMs()), settledAt: 0, outcome: undefined, built: false };
    this.waiting.push(report);
    this.timer ??= setTimeout(this.whenQuiet, QUIET_MS);
    return report;
  }

  /** The call's outcome; true when it goes with the decision's report, false when that report already left. */
  settle(report: WaitingReport, outcome: CallOutcome): boolean {
    if (report.built) return false;
    report.outcome = outcome;
    report.settledAt = this.lastCall = nowMs();
    return true;
  }

  /** Builds and sends everything now; resolves when sent or given up (see EventQueue). */
  async flush(): Promise<void> {
    await this.building;
    this.buildAll();
    await this.queue.flush();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.buildAll();
    this.queue.close();
  }

  private buildAll(): void {
    for (const report of this.waiting) if (!report.built) this.enqueue(report);
    this.waiting = [];
  }

  /** Runs a slice once the calls paused for QUIET_MS or the oldest waiting decision is MAX_DEFER_MS old; else waits on. */
  private readonly whenQuiet = (): void => {
    this.timer = undefined;
    const now = nowMs();
    const oldest = this.waiting[0]?.decidedAt ?? now;
    const wait = Math.min(this.lastCall + QUIET_MS, oldest + MAX_DEFER_MS) - now;
    if (wait > 0) this.timer = setTimeout(this.whenQuiet, wait);
    else this.slice();
  };

  /** Builds the reports that are due (outcome known, or waited long enough), a slice per turn, then sends them. */
  private slice(): void {
    this.building = (async () => {
      const waitedEnough = nowMs() - OUTCOME_WAIT_MS;
      let built = 0;
      // Decisions made meanwhile (during the turns given away) are appended, and looked at as they come.
      for (let i = 0; i < this.waiting.length; i++) {
        const report = this.waiting[i]!;
        if (report.built || (report.outcome === undefined && report.decidedAt > waitedEnough)) continue;
        this.enqueue(report);
        if (++built % REPORTS_PER_SLICE === 0) await nextTurn();
      }
      this.waiting = this.waiting.filter((report) => !report.built);
      if (built > 0) await this.queue.flush();
    })().finally(() => {
      this.building = undefined;
      // Reports still waiting for their outcome (calls running): looked at again after the next pause.
      if (this.waiting.length > 0) this.timer ??= setTimeout(this.whenQuiet, QUIET_MS);
    });
  }

  private enqueue(waiting: WaitingReport): void {
    waiting.built = true;
    // The queue keeps its entry until the batch is sent: the id is all it needs besides the text.
    this.queue.enqueue({ decision_id: waiting.decisionId }, reportJson(waiting));
  }
}

/** The report's JSON, as POST /v1/guardrails/decisions takes it; size-bounded (largeArguments.ts). */
function reportJson(waiting: WaitingReport): string {
  const at = (ms: number) => isoTime(performance.timeOrigin + ms);
  const { outcome, args } = waiting;
  const tail = `,"decided_at":"${at(waiting.decidedAt)}"${outcome === undefined ? "" : `,"outcome":${JSON.stringify({ ...outcome, at: at(waiting.settledAt) })}`}}`;
  const head = `{"decision_id":${JSON.stringify(waiting.decisionId)},"body":${waiting.bodyOpening}`;
  const separator = waiting.bodyOpening.length > 1 ? "," : "";
  return boundedReport(args, (argsJson) => `${head}${argsJson === undefined ? "" : `${separator}"arguments":${argsJson}`}}${tail}`);
}
