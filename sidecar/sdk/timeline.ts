import { createRedactor, type Redactor } from "../guard/redact";
import type { ResolvedConfig } from "./config";
import { resolveSessionId } from "./context";
import { EventQueue, type QueueDiagnostics } from "./eventQueue";
import { toWireEvent, type EventEnvelope, type SdkEvent } from "./events";
import { RawJson, type HttpClient } from "./http";
import type { ApieLogger, Registration } from "./types";

/**
 * A client's side of the timeline: fills each event's envelope (agent, run, session, per-run sequence
 * number), redacts it, serializes it once and queues it for POST /v1/events. Flush failures are logged once
 * per distinct error (`onError: "warn"`), not once per retry.
 */
export class Timeline {
  private readonly queue: EventQueue;
  private readonly redactor: Redactor;
  /** Like `redactor`, and replaces payloads over `maxEventPayloadBytes`; used only for events that big. */
  private readonly truncator: Redactor;
  private readonly sequences = new Map<string, number>();
  private unbuilt: { build: (envelope: EventEnvelope) => SdkEvent; envelope: EventEnvelope }[] = [];
  private lastError: string | undefined;
  private closed = false;

  constructor(
    private readonly config: ResolvedConfig,
    http: HttpClient,
    private readonly logger: ApieLogger,
    /** The agent's registration, once `ready()` succeeded. */
    private readonly registration: () => Registration | undefined,
    /** Called once if the process is about to exit with events still queued. */
    private readonly onExitWithQueued: () => void,
  ) {
    const redaction = { redactKeys: config.redactKeys, redactAllowPaths: config.redactAllowPaths, redactDenyPatterns: config.redactDenyPatterns };
    this.redactor = createRedactor(redaction);
    this.truncator = createRedactor({ ...redaction, maxPayloadBytes: config.maxEventPayloadBytes });
    this.queue = new EventQueue({
      send: async (batch) => {
        await http.request("POST", "/v1/events", new RawJson(`{"events":${batch.json}}`));
      },
      flushIntervalMs: config.flushIntervalMs,
      maxBatchSize: config.maxBatchSize,
      maxQueueSize: config.maxQueueSize,
      dropPolicy: config.queueDropPolicy,
      retry: config.retry,
      onError: (error) => this.onError(error),
    });
  }

  /**
   * Queues one event (never waits, never throws). The envelope (sequence number, time) is fixed now; building,
   * redacting and serializing the event happen on the next turn of the event loop — while the agent's next
   * call waits for the network — so they stay off its critical path.
   */
  record(build: (envelope: EventEnvelope) => SdkEvent, runId: string | undefined): void {
    if (this.closed) return;
    this.unbuilt.push({ build, envelope: this.envelope(runId) });
    if (this.unbuilt.length === 1) setImmediate(this.materialize);
    watchExit(this);
  }

  /** Builds, redacts, serializes and enqueues what `record` deferred, in order. */
  private readonly materialize = (): void => {
    const pending = this.unbuilt;
    if (pending.length === 0) return;
    this.unbuilt = [];
    for (const { build, envelope } of pending) {
      const event = build(envelope);
      let wireEvent = toWireEvent(this.redactor.redactEvent(event));
      let json: string | undefined;
      try {
        json = JSON.stringify(wireEvent);
        const max = this.config.maxEventPayloadBytes;
        if (json.length * 3 > max && Buffer.byteLength(json) > max) {
          wireEvent = toWireEvent(this.truncator.redactEvent(event));
          json = undefined;
        }
      } catch {
        json = undefined; // the queue reports what it cannot serialize
      }
      this.queue.enqueue(wireEvent, json);
    }
    this.queue.start();
  };

  /** A finished run's sequence counter is dropped. */
  forgetRun(runId: string): void {
    this.sequences.delete(runId);
  }

  flush(): Promise<void> {
    this.materialize();
    return this.queue.flush();
  }

  diagnostics(): QueueDiagnostics {
    this.materialize();
    return this.queue.diagnostics();
  }

  /** No more events are taken; the periodic flush stops (a last `flush()` may still run). */
  stop(): void {
    this.materialize();
    this.closed = true;
    exitWatch.delete(this);
    this.queue.stop();
  }

  /** Stops for good: in-progress retries end, what is still queued stays unsent. */
  close(): void {
    this.stop();
    this.queue.close();
  }

  private envelope(runId: string | undefined): EventEnvelope {
    let sequenceNumber: number | undefined;
    if (runId !== undefined) {
      sequenceNumber = (this.sequences.get(runId) ?? 0) + 1;
      this.sequences.set(runId, sequenceNumber);
    }
    const registration = this.registration();
    return {
      agentKey: this.config.agent.key,
      agentId: registration?.agentId,
      agentVersionId: registration?.agentVersionId,
      runId,
      sessionId: resolveSessionId(),
      sequenceNumber,
      environment: this.config.runtime.environment,
      timestamp: new Date().toISOString(),
    };
  }

  private onError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.config.onError === "silent" || message === this.lastError) return;
    this.lastError = message;
    this.logger.warn(`could not send events: ${message}`);
  }

  /** @internal for the exit hook */
  exitingWithQueued(): void {
    if (this.diagnostics().queueSize > 0) this.onExitWithQueued();
  }
}

/**
 * Timelines with events queued when the process runs out of work: on `beforeExit` each client is shut down
 * (flushed within its deadline) once, so a script that forgets `shutdown()` does not lose its events.
 * One process listener for all clients.
 */
const exitWatch = new Set<Timeline>();
let exitHookInstalled = false;

function watchExit(timeline: Timeline): void {
  exitWatch.add(timeline);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("beforeExit", () => {
    for (const t of [...exitWatch]) {
      exitWatch.delete(t);
      t.exitingWithQueued();
    }
  });
}
