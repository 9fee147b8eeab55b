import { randomBytes } from "node:crypto";
import type { GuardDecision, GuardRequest } from "../guard/types";
import type { ApprovalScope, ApprovalStatus, ApprovalView, ApprovalWaitStatus, FinalApprovalStatus, GrantPatternView } from "../protocol/approvals";
import { actionHash } from "../store/canonical";
import type { Journal } from "../store/journal";
import { grantPatternOf } from "./grantPattern";
import { approvalArgumentsPreview, logRedactor } from "./redaction";

export const DEFAULT_APPROVAL_TIMEOUT_MS = 300_000;
/**
 * Waits (long-polls, over HTTP and stream calls together) held at once. Each is a promise, a timer and a
 * listener; past the cap a wait is refused at once (503 `too_many_waiters`), so a flood of waits cannot grow the
 * sidecar's memory without end. An agent has one wait per pending approval.
 */
export const MAX_WAITERS = 4096;
/**
 * Approvals pending at once. Past it an enforced require_approval is blocked (tooManyPendingDecision) instead
 * of opening another: a human answers a handful, and each pending approval is a prompt in the editor and
 * memory in the sidecar until it expires.
 */
export const MAX_PENDING_APPROVALS = 256;
/** setTimeout's ceiling; an approval that waits longer is re-armed when this fires. */
const MAX_TIMER_MS = 2 **31 - 1;

export type ResolveOutcome =
  | { ok: true; approval: ApprovalView }
  | { ok: false; reason: "unknown"; approval?: undefined }
  | { ok: false; reason: "already_resolved"; approval: ApprovalView }
  /** `scope: "session"` asked for an approval with no running run to bind it to; nothing was resolved. */
  | { ok: false; reason: "session_unavailable"; approval: ApprovalView; message: string };

/** Thrown by {@link ApprovalBroker.wait} when {@link MAX_WAITERS} waits are already held. */
export class TooManyWaiters extends Error {
  constructor() {
    super(`the sidecar already holds ${MAX_WAITERS} approval waits; retry later`);
  }
}


/**
 * `durable`: resolves once `approval.used` is on disk (fdatasync'ed). The grant is spent in memory the moment
 * `redeem` returns, so a second redeem of it is refused at once; nobody may be told `proceed` before
 * `durable` resolved, or a crash in between would let the grant be spent again after the restart.
 */
export type RedeemOutcome = { ok: true; approval: ApprovalView; durable: Promise<void> } | { ok: false; reason: string };

/**
 * Holds approvals between the agent that asked and the human who answers. Every change is a journal record,
 * so a restart rebuilds the same set (`restore`). An approval resolves exactly once; the first resolution
 * wins and later ones are refused. Expiry is the sidecar's own clock (`expires_at`); a waiter whose own
 * deadline comes first gets `timeout` and the approval stays pending for the human.
 */
export class ApprovalBroker {
  private readonly waiters = new Map<string, Set<(status: FinalApprovalStatus) => void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiting = 0;

  /** `homeDir`: where `~` in a path points, for the paths a session grant binds (server/grantPattern.ts). */
  constructor(
    private readonly journal: Journal,
    private readonly now: () => number = Date.now,
    private readonly homeDir?: string,
  ) {}

  /** After replay: pending approvals past their expiry expire now; the rest get their timers back. */
  restore(): void {
    for (const approval of this.journal.state.approvals.values()) {
      if (approval.status === "pending") this.arm(approval);
    }
  }

  newId(): string {
    return `apr_${randomBytes(12).toString("base64url")}`;
  }

  /**
   * The approval an enforced require_approval decision opens, not yet opened: a fresh id, the action hash,
   * the redacted arguments. Everything that can fail in opening an approval fails here, before anything is
   * journaled, so the caller can journal the decision naming this id and {@link open} it in the same turn.
   */
  draft(request: GuardRequest, decision: GuardDecision): ApprovalView {
    const created = this.now();
    const timeout = decision.approval_timeout_ms ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    return {
      id: this.newId(),
      status: "pending",
      action_hash: actionHash(request),
      agent_key: request.agentKey,
      run_id: request.runId ?? null,
      decision_id: decision.decision_id,
      tool: { name: request.tool?.name ?? null, provider: request.tool?.provider ?? null },
      action: { type: request.action?.type ?? null, name: request.action?.name ?? null },
      resource: {
        type: request.resource?.type ?? null,
        environment: request.resource?.environment ?? null,
        external_id: request.resource?.externalId ?? null,
      },
      risk_level: request.tool?.riskLevel ?? request.riskLevel ?? null,
      arguments: request.arguments === undefined ? null : approvalArgumentsPreview(request.arguments),
      reason: decision.reason,
      matched_guardrails: decision.matched_guardrails,
      created_at: new Date(created).toISOString(),
      expires_at: new Date(created + timeout).toISOString(),
      resolved_at: null,
      resolved_by: null,
      resolution_reason: null,
      scope: null,
      grant_pattern: this.patternView(request),
    };
  }

  /** What a session grant of this request would cover, as an approval shows it (command and paths redacted). */
  private patternView(request: GuardRequest): GrantPatternView {
    const { kind, key, command, argument, cwd, paths } = grantPatternOf(request, this.homeDir);
    return {
      kind,
      key,
      ...(command === undefined ? {} : { command: logRedactor.redactValue(command) as string, argument: argument!, cwd: cwd ?? null }),
      ...(paths === undefined ? {} : { paths: paths.map((p) => logRedactor.redactValue(p) as string) }),
    };
  }

  /**
   * The live session grant covering this request, if any: an approval approved with scope `session` whose
   * pattern (agent, run, tool, normalized command or path…) is this request's, made in a run that is still
   * running. A grant dies with its run (host session end, SDK run end); the caller only asks for a decision
   * that is `require_approval` — a grant never touches a block.
   */
  sessionGrant(request: GuardRequest): ApprovalView | undefined {
    const state = this.journal.state;
    if (request.runId === undefined || state.sessionGrants.size === 0) return undefined;
    const id = state.sessionGrants.get(grantPatternOf(request, this.homeDir).key);
    const approval = id === undefined ? undefined : this.get(id);
    if (approval === undefined || approval.status !== "approved" || approval.scope !== "session" || approval.run_id !== request.runId) return undefined;
    return state.runs.get(request.runId)?.view.status === "running" ? approval : undefined;
  }

  /**
   * Opens a {@link draft}ed approval: its `approval.requested` record is appended before this returns (in
   * the caller's turn, right after the decision that names it); resolves once that record is durable.
   */
  async open(approval: ApprovalView): Promise<ApprovalView> {
    const appended = this.journal.record("approval.requested", { approval });
    await appended.durable;
    this.arm(approval);
    return this.get(approval.id)!;
  }

  /** Approvals waiting for a human now. */
  get pendingCount(): number {
    return this.journal.state.pendingApprovals;
  }

  get(id: string): ApprovalView | undefined {
    return this.journal.state.approvals.get(id);
  }

  list(status?: ApprovalStatus): ApprovalView[] {
    const all = [...this.journal.state.approvals.values()];
    return status === undefined ? all : all.filter((a) => a.status === status);
  }

  /**
   * The one way an approval ends. Durable before anyone is told. `scope` (approved only; callers let only a
   * human choose it): `session` also grants the approval's pattern for the rest of its run — refused, with
   * nothing resolved, when the approval has no run that is still running (nothing to bind the grant to).
   */
  async resolve(id: string, status: FinalApprovalStatus, resolvedBy: string, reason: string | null, scope?: ApprovalScope): Promise<ResolveOutcome> {
    const approval = this.get(id);
    if (approval === undefined) return { ok: false, reason: "unknown" };
    if (approval.status !== "pending") return { ok: false, reason: "already_resolved", approval };
    if (scope === "session" && status === "approved") {
      const run = approval.run_id === null ? undefined : this.journal.state.runs.get(approval.run_id);
      const why =
        approval.grant_pattern === undefined ? "it predates session grants" : run === undefined ? "it belongs to no run (an SDK call outside a run, or an unknown run id)" : run.view.status !== "running" ? `its run ${run.view.id} has ended` : undefined;
      if (why !== undefined) return { ok: false, reason: "session_unavailable", approval, message: `approval ${id} cannot be approved for the session: ${why}; approve it once instead` };
    }
    const appended = this.journal.record("approval.resolved", {
      id,
      status,
      resolved_at: new Date(this.now()).toISOString(),
      resolved_by: resolvedBy,
      resolution_reason: reason,
      ...(status === "approved" ? { scope: scope ?? "once" } : {}),
    });
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    await appended.durable;
    const waiters = this.waiters.get(id);
    this.waiters.delete(id);
    for (const wake of waiters ?? []) wake(status);
    return { ok: true, approval };
  }

  /**
   * Waits until the approval is resolved or `timeoutMs` passes (→ "timeout"; the approval stays pending).
   * `signal` ends the wait early, e.g. when the long-polling client hangs up.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalWaitStatus> {
    const approval = this.get(id);
    if (approval === undefined) return Promise.reject(new Error(`no approval ${id}`));
    if (approval.status !== "pending") return Promise.resolve(approval.status);
    if (this.waiting >= MAX_WAITERS) return Promise.reject(new TooManyWaiters());
    this.waiting++;
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) this.waiters.set(id, (set = new Set()));
      let settled = false;
      const done = (status: ApprovalWaitStatus): void => {
        if (settled) return;
        settled = true;
        this.waiting--;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set.delete(wake);
        resolve(status);
      };
      const wake = (status: FinalApprovalStatus): void => done(status);
      const onAbort = (): void => done("timeout");
      const timer = setTimeout(() => done("timeout"), timeoutMs);
      set.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Spends an approved grant on a call. Valid only for the exact action it was granted for (same hash),
   * only once, and only while approved. This method records `approval.used`; the projection marks the grant
   * used synchronously (Journal.record applies the record before returning), so a concurrent redeem of the
   * same grant in this process is refused even while the first one waits for the disk. The caller must await
   * `durable` before answering `proceed`.
   */
  redeem(id: string, request: GuardRequest, decisionId: string): RedeemOutcome {
    const approval = this.get(id);
    if (approval === undefined) return { ok: false, reason: `approval ${id} does not exist` };
    if (approval.status !== "approved") return { ok: false, reason: `approval ${id} is ${approval.status}, not approved` };
    if (this.journal.state.usedGrants.has(id)) return { ok: false, reason: `approval ${id} was already used` };
    if (approval.action_hash !== actionHash(request)) {
      return { ok: false, reason: `approval ${id} was granted for a different action or different arguments (the grant binds agent, run, tool, action, resource, risk level, arguments and metadata)` };
    }
    const used = this.journal.record("approval.used", { id, decision_id: decisionId });
    return { ok: true, approval, durable: used.durable };
  }

  /** Stops timers; waiting requests end as "timeout" (the approvals stay pending in the log). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(approval: ApprovalView): void {
    const left = Date.parse(approval.expires_at) - this.now();
    if (left <= 0) {
      void this.resolve(approval.id, "expired", "expiry", "no answer before the approval timeout");
      return;
    }
    const timer = setTimeout(() => this.arm(approval), Math.min(left, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(approval.id, timer);
  }
}
