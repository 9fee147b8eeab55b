import type { ApieDecision } from "./decision";

/**
 * Why an SDK call failed. Every error the SDK throws at an agent is an `ApieError` with one of these codes:
 * - `blocked`: a guardrail blocked the tool call (or the guard was unavailable under `fail_closed`); the
 *   callback did not run.
 * - `approval_rejected` / `approval_expired` / `approval_cancelled`: the approval the call waited for ended
 *   that way; the callback did not run.
 * - `approval_timeout`: the SDK's own wait (`approvalTimeoutMs`) ended first; the approval was cancelled.
 * - `guard_unavailable`: the sidecar could not be asked (unreachable, past the deadline, garbage answer)
 *   and `guardFailureMode` is `throw`.
 * - `invalid_config`: the configuration does not parse; `field` names the culprit.
 * - `http_error`: any other request failed: the sidecar answered with an error (4xx or 5xx, `status` and the
 *   server's code and message) or could not be reached (`cause` says why). A guard request the sidecar
 *   answered with an error throws this in every `guardFailureMode`: the callback does not run.
 */
export type ApieErrorCode =
  | "blocked"
  | "approval_rejected"
  | "approval_expired"
  | "approval_cancelled"
  | "approval_timeout"
  | "guard_unavailable"
  | "invalid_config"
  | "http_error";

export interface ApieErrorOptions {
  decision?: ApieDecision | undefined;
  approvalId?: string | undefined;
  status?: number | undefined;
  /** The server's own error code (`invalid_request`, `unauthorized`, …) for `http_error`. */
  serverCode?: string | undefined;
  field?: string | undefined;
  cause?: unknown;
}

/** The one error type the SDK throws. Check `code`; the other fields are set when they apply. */
export class ApieError extends Error {
  override readonly name = "ApieError";
  readonly code: ApieErrorCode;
  /** The guard decision behind a `blocked` or approval error. */
  readonly decision: ApieDecision | undefined;
  readonly approvalId: string | undefined;
  /** HTTP status of the failed request (`http_error`). */
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  /** The config field (`invalid_config`) or request field the server named. */
  readonly field: string | undefined;

  constructor(code: ApieErrorCode, message: string, options: ApieErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.decision = options.decision;
    this.approvalId = options.approvalId;
    this.status = options.status;
    this.serverCode = options.serverCode;
    this.field = options.field;
  }
}

export function isApieError(value: unknown, code?: ApieErrorCode): value is ApieError {
  return value instanceof ApieError && (code === undefined || value.code === code);
}
