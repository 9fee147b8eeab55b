import { rmSync } from "node:fs";
import { startSidecar, type RunningSidecar, type SidecarOptions } from "../server/sidecar";

/**
 * The one sidecar this language server runs, and its end. `close()` is idempotent and waits for a start
 * still under way, so shutdown, exit and a lost client may all call it. `abandon()` is the synchronous
 * last resort for a process that exits before close() finished (exit without shutdown, stdin closed, the
 * client's process gone): the discovery file goes, so no one is pointed at a dead port.
 */
export class SidecarSession {
  private started: Promise<RunningSidecar> | undefined;
  private running: RunningSidecar | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;

  start(options: SidecarOptions): Promise<RunningSidecar> {
    if (this.started !== undefined) return Promise.reject(new Error("the sidecar was already started"));
    const started = startSidecar(options).then((sidecar) => (this.running = sidecar));
    // A start that failed (port taken, state dir unwritable) may be tried again by a new initialize.
    started.catch(() => {
      if (this.started === started) this.started = undefined;
    });
    this.started = started;
    return started;
  }

  get current(): RunningSidecar | undefined {
    return this.running;
  }

  /** Stops the HTTP API, ends waits, flushes the event log, removes the discovery file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const sidecar = await this.started?.catch(() => undefined);
      await sidecar?.close();
      this.closed = true;
    })();
    return this.closing;
  }

  abandon(): void {
    if (this.running !== undefined && !this.closed) rmSync(this.running.discoveryFile, { force: true });
  }
}
