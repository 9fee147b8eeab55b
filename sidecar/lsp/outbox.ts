/**
 * Notifications to the editor, in order, sent after the current turn of the event loop. A journal listener
 * runs inside the request that appended the record (e.g. a guard decision); queuing keeps IPC serialization
 * off that request's path, so an agent's answer never waits for the editor's feed.
 */
export class Outbox {
  private queue: (() => void)[] = [];
  private scheduled = false;
  private closed = false;

  push(send: () => void): void {
    if (this.closed) return;
    this.queue.push(send);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Drops what is queued and refuses more (the client is gone or shutting down). */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const send of batch) send();
  };
}
