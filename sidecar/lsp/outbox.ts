/** The longest a queued message waits for a burst to end (a steady stream still goes out this often). */
export const MAX_HOLD_MS = 20;

/**
 * Notifications to the editor, in order, sent after the current turn of the event loop. A journal listener
 * runs inside the request that appended the record (e.g. a guard decision); queuing keeps IPC serialization
 * off that request's path, so an agent's answer never waits for the editor's feed.
 *
 * Items (`add`) are coalesced into batches of at most `maxBatch`, each handed to `sendBatch` once; a standalone
 * message (`push`) ends the open batch, so everything goes out in the order it was queued. The queue is sent
 * on the first turn of the event loop that added nothing to it: the sidecar logs an agent's batch of events a
 * slice per turn (server/routes/events.ts), and this makes the whole batch one message instead of one per
 * slice. It is sent at once when a batch is full, and after MAX_HOLD_MS at the latest, so a steady stream of
 * records is never held back longer than that. A lone record goes out on the next turn, as before.
 */
export class Outbox<T> {
  private queue: ({ batch: T[] } | { send: () => void })[] = [];
  /** The batch `add` appends to (the queue's last entry), while it has room. */
  private open: T[] | undefined;
  private scheduled = false;
  private closed = false;
  /** Items and messages queued so far, and how many of them the last look at the queue saw. */
  private queued = 0;
  private seen = 0;
  private since = 0;

  constructor(
    private readonly sendBatch: (items: T[]) => void,
    private readonly maxBatch: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Queues one item into the open batch (or a new one). */
  add(item: T): void {
    if (this.closed) return;
    if (this.open === undefined || this.open.length >= this.maxBatch) {
      this.open = [];
      this.enqueue({ batch: this.open });
    } else this.queued++;
    this.open.push(item);
  }

  /** Queues a standalone message, after everything queued so far. */
  push(send: () => void): void {
    if (this.closed) return;
    this.open = undefined;
    this.enqueue({ send });
  }

  /** Drops what is queued and refuses more (the client is gone or shutting down). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.open = undefined;
  }

  private enqueue(entry: { batch: T[] } | { send: () => void }): void {
    if (this.queue.length === 0) this.since = this.now();
    this.queue.push(entry);
    this.queued++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.seen = this.queued;
      setImmediate(this.look);
    }
  }

  /** Once per turn while something is queued: send, or wait one more turn if the burst is still going. */
  private readonly look = (): void => {
    if (this.closed) return;
    const open = this.open;
    const growing = this.queued !== this.seen && this.queue.length === 1 && open !== undefined && open.length < this.maxBatch && this.now() - this.since < MAX_HOLD_MS;
    if (growing) {
      this.seen = this.queued;
      setImmediate(this.look);
      return;
    }
    this.scheduled = false;
    const entries = this.queue;
    this.queue = [];
    this.open = undefined;
    for (const entry of entries) {
      if ("batch" in entry) this.sendBatch(entry.batch);
      else entry.send();
    }
  };
}
