import type { ApprovalStatus } from "../protocol/approvals";
import { ApieError } from "./errors";
import { isRetryable, type HttpClient } from "./http";
import type { SidecarStream } from "./stream";
import type { Approval, ApprovalWaitStatus } from "./types";
import { parseApproval, parseWaitStatus } from "./wire";

/**
 * Waiting for a human's answer to an approval, without polling:
 * 1. connect the client's shared WebSocket (`approvals` topic), register for this id (a `watch` frame: an
 *    agent-key connection is pushed only the approvals it names or opened itself), and only then read
 *    GET /v1/approvals/{id} once — a resolution that happened before the subscription is not missed;
 * 2. if the socket cannot connect, long-poll GET /v1/approvals/{id}/wait (≤ 10 minutes per request);
 * 3. if the connection drops, go back to 1 (a new connection and a fresh read), after a short backoff that
 *    grows (100 ms … 2 s) while the sidecar stays away.
 * The wait ends with the approval's final status, or `timeout` when the deadline comes first.
 */

const FINAL: ReadonlySet<string> = new Set(["approved", "rejected", "expired", "cancelled"]);
const MAX_LONG_POLL_MS = 600_000;
/** Slack for the long-poll request's own deadline beyond the server-side wait. */
const LONG_POLL_SLACK_MS = 5_000;

export type WaitResult = ApprovalWaitStatus | "aborted";
type StreamRound = Exclude<ApprovalStatus, "pending"> | "timeout" | "dropped" | "unavailable" | "aborted";

export interface ApprovalWaiterOptions {
  /** How long to try opening the WebSocket before falling back to long-polling. */
  connectTimeoutMs: number;
  /** Deadline of the single status read. */
  requestTimeoutMs: number;
}

export class ApprovalWaiter {
  private readonly aborters = new Set<() => void>();

  constructor(
    private readonly http: HttpClient,
    private readonly stream: SidecarStream,
    private readonly options: ApprovalWaiterOptions,
  ) {}

  /** GET /v1/approvals/{id}. */
  async get(approvalId: string): Promise<Approval> {
    const path = `/v1/approvals/${encodeURIComponent(approvalId)}`;
    return parseApproval(await this.http.request("GET", path, undefined, { deadlineMs: this.options.requestTimeoutMs }), `GET ${path}`);
  }

  /** Waits up to `timeoutMs` for the approval to be resolved. Throws `http_error` for an unknown id. */
  async wait(approvalId: string, timeoutMs: number): Promise<WaitResult> {
    const deadline = Date.now() + timeoutMs;
    const abort = new AbortController();
    const { signal } = abort;
    const stop = (): void => abort.abort();
    this.aborters.add(stop);
    try {
      let backoffMs = 100;
      while (!signal.aborted) {
        if (Date.now() >= deadline) return "timeout";
        const round = await this.streamRound(approvalId, deadline, signal);
        if (round !== "dropped" && round !== "unavailable") return round;
        if (round === "unavailable") {
          const polled = await this.longPoll(approvalId, deadline, signal);
          if (polled !== "failed" && (polled !== "timeout" || Date.now() >= deadline)) return polled;
        }
        // Dropped, or the sidecar was unreachable: try again, a little later each time.
        await sleep(Math.min(backoffMs, Math.max(0, deadline - Date.now())), signal);
        backoffMs = Math.min(backoffMs * 2, 2_000);
      }
      return "aborted";
    } finally {
      this.aborters.delete(stop);
    }
  }

  /** Ends every wait in progress with `aborted` (client shutdown). */
  abortAll(): void {
    for (const stop of [...this.aborters]) stop();
  }

  private async streamRound(approvalId: string, deadline: number, signal: AbortSignal): Promise<StreamRound> {
    const connected = await this.stream.connect(Math.min(this.options.connectTimeoutMs, Math.max(1, deadline - Date.now())));
    if (signal.aborted) return "aborted";
    if (!connected) return "unavailable";
    return new Promise<StreamRound>((resolve, reject) => {
      let done = false;
      const finish = (result: StreamRound | Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unwatch();
        signal.removeEventListener("abort", onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onAbort = (): void => finish("aborted");
      const unwatch = this.stream.watch(
        approvalId,
        (status) => {
          if (FINAL.has(status)) finish(status as StreamRound);
        },
        () => finish("dropped"),
      );
      const timer = setTimeout(() => finish("timeout"), Math.max(0, deadline - Date.now()));
      signal.addEventListener("abort", onAbort, { once: true });
      // Subscribed first, read second: a resolution from before the subscription is seen here.
      this.get(approvalId).then(
        (approval) => {
          if (FINAL.has(approval.status)) finish(approval.status as StreamRound);
        },
        (error: unknown) => {
          // A transport failure, or the sidecar failing for now (5xx, 429), leaves the stream to answer (or drop).
          if (error instanceof ApieError && !isRetryable(error)) finish(error);
        },
      );
    });
  }

  /** One long-poll (≤ 10 minutes); `failed` when the sidecar could not be asked or the wait was aborted. */
  private async longPoll(approvalId: string, deadline: number, signal: AbortSignal): Promise<ApprovalWaitStatus | "failed"> {
    const waitMs = Math.max(0, Math.min(deadline - Date.now(), MAX_LONG_POLL_MS));
    const path = `/v1/approvals/${encodeURIComponent(approvalId)}/wait?timeout=${Math.floor(waitMs)}`;
    try {
      const answer = await this.http.request("GET", path, undefined, { deadlineMs: waitMs + LONG_POLL_SLACK_MS, signal });
      return parseWaitStatus(answer, `GET ${path}`);
    } catch (error) {
      // Waiting longer never runs a call: no answer, or a failure the sidecar may get over (5xx, 429), is retried.
      if (isRetryable(error)) return "failed";
      throw error;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
