import { setImmediate as nextTurn } from "node:timers/promises";

/** Work done between two yields of a sliced job: small next to a guard decision's deadline (seconds). */
export const SLICE_MS = 2;

/**
 * Cooperative slicing for long jobs that share the event loop with the guard (boundary reports over a long
 * log): the job asks `due()` often and, when it is, awaits `yield()`, which resumes on a later turn of the
 * event loop (setImmediate), after the I/O that arrived meanwhile — guard requests — has been served.
 * A job sliced this way delays any request by at most one slice (~SLICE_MS), however long the job runs.
 */
export class TimeSlicer {
  private since = performance.now();

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** Whether this slice has used its budget. Cheap (one clock read): call it per item. */
  due(): boolean {
    return performance.now() - this.since >= this.budgetMs;
  }

  async yield(): Promise<void> {
    await nextTurn();
    this.since = performance.now();
  }
}
