import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { logRedactor } from "../redaction";
import { reportedOutcomeEvent } from "../reportedOutcome";
import { isTemplateKey, TEMPLATE_KEYS } from "../../guard/templateCatalog";
import type { GuardRequest } from "../../guard/types";
import { enableTemplate } from "../../policy/policyFile";
import type { DecisionHookRef, DecisionLateness, DecisionRequestSummary, SessionGrantRef } from "../../protocol/records";
import { POLICY_FILE } from "../../protocol/workspaceFiles";
import { isPlainAllow } from "../../guard/engine";
import { tooDeepDecision, tooManyPendingDecision } from "../../guard/evaluate";
import { MAX_PENDING_APPROVALS } from "../approvalBroker";
import type { ApprovalView } from "../../protocol/approvals";
import { nestingBeyond, type NestingPath } from "../../protocol/nesting";
import { canonicalHash } from "../../store/canonical";
import { RecentMap } from "../../store/recentMap";
import {
  EvaluateBodySchema,
  MAX_NESTING_DEPTH,
  ReportDecisionsBodySchema,
  SetModeBodySchema,
  SnapshotQuerySchema,
  toGuardRequest,
  type EvaluateResponse,
  type HealthResponse,
  type ReportDecisionsResponse,
  type TooDeepPlaceholder,
} from "../../protocol/v1";
import { HttpError, parseBody, parseQuery, tooDeepError, type Route, type RouteContext, type SidecarServices } from "../routing";
import { switchWorkspaceMode } from "../workspaceMode";


/** Health, the guard decision itself, templates and the workspace mode. */
export function guardrailRoutes(s: SidecarServices): Route[] {
  const reportedIds = new RecentMap<string, true>(REMEMBERED_REPORTS);
  return [
    {
      method: "GET",
      path: "/v1/health",
      handle: (): HealthResponse => ({
        status: "ok",
        policy: s.engine.policyStatus.state,
        mode: s.engine.workspaceMode,
        uptime_ms: Date.now() - s.startedAt,
        last_seq: s.journal.state.lastSeq,
        pending_approvals: s.approvals.pendingCount,
        workspace: s.workspace,
        event_log: s.journal.file,
      }),
    },
    {
      method: "POST",
      path: "/v1/guardrails/evaluate",
      handle: ({ body, holdApproval }) => evaluate(s, parseBody(EvaluateBodySchema, body), holdApproval),
      tooDeep: ({ body }, path) => evaluateTooDeep(s, body, path),
    },
    {
      method: "GET",
      path: "/v1/guardrails/snapshot",
      handle: ({ query }) => s.engine.snapshot(parseQuery(SnapshotQuerySchema, query).agent_key),
    },
    {
      method: "POST",
      path: "/v1/guardrails/decisions",
      // `decisions[i].body` is an evaluate body three levels down; it may nest as deep as one sent alone.
      maxDepth: MAX_NESTING_DEPTH + 3,
      handle: ({ body }) => reportedDecisions(s, parseBody(ReportDecisionsBodySchema, body), reportedIds),
    },
    {
      method: "POST",
      path: /^\/v1\/guardrails\/templates\/([^/]+)\/enable$/,
      // Changing the policy is a human's act: the admin key (the CLI, scripts a human runs) only; the agent
      // key gets 403 `admin_required`, so an agent cannot edit the rules that judge it. The editor enables
      // templates by editing apie.policy.json itself (command `apie.enableTemplate`), not through this route.
      // Enabling never loosens the file (see enableTemplate): a template already on keeps its settings.
      admin: true,
      handle: async ({ params: [key] }) => {
        if (key === undefined || !isTemplateKey(key)) {
          throw new HttpError(404, "unknown_template", `unknown template "${key}" (known: ${TEMPLATE_KEYS.join(", ")})`);
        }
        // The policy file is the source of truth; the watcher picks the edit up like any other change.
        await enableTemplate(path.join(s.workspace, POLICY_FILE), key, undefined);
        return { id: key, key, status: "enabled" };
      },
    },
    {
      method: "GET",
      path: "/v1/mode",
      handle: () => ({ mode: s.engine.workspaceMode }),
    },
    {
      method: "POST",
      path: "/v1/mode",
      admin: true,
      handle: async ({ body }) => {
        const { mode } = parseBody(SetModeBodySchema, body);
        return { mode: await switchWorkspaceMode(s, mode, "admin-key") };
      },
    },
  ];
}

/**
 * One decision. In enforce, require_approval opens an approval (durable before the answer goes out) unless
 * the caller presents a grant made for exactly this action. Every decision is logged; a plain allow does not
 * wait for the disk, so the hot path stays at memory speed.
 *
 * `tooDeep`: the reason this request's body was nested past MAX_NESTING_DEPTH (its deep parts are
 * placeholders by now): the decision becomes the guard's own block (tooDeepDecision), with no grant
 * redeemed and no approval opened.
 *
 * The journal never names an approval that was not opened: the approval is drafted (hash, redaction: all
 * that can throw) before the decision is journaled, and its `approval.requested` is appended right after the
 * decision, in the same turn. An append fails only on a closed or failed log, which fails the decision's
 * append first. Any failure answers an error (JSON 5xx), which no SDK or proxy takes for an allow. Past
 * MAX_PENDING_APPROVALS pending, none is opened: the guard's own block (tooManyPendingDecision).
 *
 * A live session grant (an earlier approval of the same agent, run, tool and normalized command or path,
 * approved with scope `session`: ApprovalBroker.sessionGrant) answers a require_approval with allow instead
 * of a new approval; the decision record names it (`session_grant`: which approval, who, when). It is logged
 * lazily like any allow: the grant itself is on disk since its `approval.resolved`. A block never reaches it.
 *
 * A grant spent on this call is on disk (`approval.used`, fdatasync'ed) before the caller hears `proceed`:
 * otherwise a crash right after the answer would forget the use and the restarted sidecar would accept the
 * same one-time grant again. A write failure there answers block, never proceed.
 *
 * A request decided after its caller's `deadline_at` (see EvaluateBodySchema) is still decided and journaled
 * — the audit trail shows the attempt — but the record says the caller had stopped waiting (`late`), so it
 * never reads as a call that was allowed and ran. A late require_approval opens no approval: nobody waits for
 * it, and a human would be asked about a call that will never run (the answer says wait_for_approval with no
 * approval, which every SDK treats as blocked). A late grant is still spent: the sidecar cannot know the
 * caller will not act on the answer, and a wasted grant is safe where a grant usable twice is not.
 *
 * `hooked`, for a coding agent's hook (routes/hooks.ts): `askedElsewhere` — why a require_approval opens no
 * approval here because the host's own prompt asks the human (`hooks.approvals: "host"`); the answer is
 * wait_for_approval with no approval, as for a late one. `hook` — the host's ids of the call, kept in the
 * decision record so a post-tool-use outcome can find its decision in the log after a restart.
 */
export async function evaluate(
  s: SidecarServices,
  body: ReturnType<typeof EvaluateBodySchema.parse>,
  holdApproval: RouteContext["holdApproval"],
  tooDeep?: string,
  hooked?: { askedElsewhere?: string | undefined; hook: DecisionHookRef },
): Promise<EvaluateResponse> {
  const askedElsewhere = hooked?.askedElsewhere;
  const request = toGuardRequest(body);
  let decision = s.engine.evaluate(request);
  const late = lateness(body.deadline_at);
  let approval: ApprovalView | undefined;
  let grantUsed: Promise<void> | undefined;
  let sessionGrant: SessionGrantRef | undefined;
  let spentApproval: string | undefined;
  if (tooDeep !== undefined) {
    decision = tooDeepDecision(decision, tooDeep);
  } else if (decision.effective_decision === "require_approval") {
    const grant = body.approval_id === undefined ? undefined : s.approvals.redeem(body.approval_id, request, decision.decision_id);
    const session = grant?.ok ? undefined : s.approvals.sessionGrant(request);
    if (grant?.ok) {
      decision = { ...decision, effective_decision: "allow", enforcement_action: "proceed", reason: `approved (${grant.approval.id}): ${decision.reason}` };
      grantUsed = grant.durable;
      spentApproval = grant.approval.id;
    } else if (session !== undefined) {
      sessionGrant = { approval_id: session.id, resolved_by: session.resolved_by, resolved_at: session.resolved_at };
      const by = `${session.resolved_by ?? "?"} at ${session.resolved_at ?? "?"}`;
      decision = { ...decision, effective_decision: "allow", enforcement_action: "proceed", reason: `approved for this session (${session.id}, by ${by}): ${decision.reason}` };
    } else {
      if (grant !== undefined) decision = { ...decision, reason: `${grant.reason}; ${decision.reason}` };
      if (late !== undefined) {
        decision = { ...decision, reason: `${decision.reason}; no approval opened: the caller had stopped waiting at ${late.caller_gave_up_at}` };
      } else if (askedElsewhere !== undefined) {
        decision = { ...decision, reason: `${decision.reason}; ${askedElsewhere}` };
      } else if (s.approvals.pendingCount >= MAX_PENDING_APPROVALS) {
        decision = tooManyPendingDecision(decision, s.approvals.pendingCount);
      } else {
        approval = s.approvals.draft(request, decision);
        holdApproval?.(approval.id);
      }
    }
  }
  // A call that proceeds (allow, warn, monitor's would-block) is logged lazily (see AppendOptions.lazy), so
  // the hot path never waits for the disk — unless too many such records are unwritten already (`backlog`:
  // then it waits for its write, not a sync, so a crash loses a bounded number). A block is on disk before
  // the agent hears of it (the audit trail of a refusal must survive a crash); one that opens an approval is
  // synced with that approval.
  const proceeds = decision.enforcement_action === "proceed" || decision.enforcement_action === "warn";
  const data = { request: summarize(request), decision, approval_id: approval?.id ?? null, ...(late === undefined ? {} : { late }), ...(hooked === undefined ? {} : { hook: hooked.hook }), ...(sessionGrant === undefined ? {} : { session_grant: sessionGrant }), ...(spentApproval === undefined ? {} : { spent_approval: spentApproval }) };
  const logged = s.journal.record("decision", data, { lazy: proceeds && grantUsed === undefined });
  if (grantUsed !== undefined) {
    try {
      await Promise.all([grantUsed, logged.durable]);
    } catch (error) {
      return { ...decision, effective_decision: "block", enforcement_action: "block", reason: `the use of the grant could not be recorded, so the call may not run: ${(error as Error).message}`, approval_request: null };
    }
    return { ...decision, approval_request: null };
  }
  if (approval === undefined) {
    if (!proceeds) await logged.durable;
    else if (logged.backlog !== undefined) await logged.backlog;
    return { ...decision, approval_request: null, ...(sessionGrant === undefined ? {} : { session_grant: sessionGrant }) };
  }
  const opened = await s.approvals.open(approval);
  return { ...decision, approval_request: { id: opened.id, status: "pending", expires_at: opened.expires_at } };
}

/**
 * An evaluate body nested past MAX_NESTING_DEPTH (`path` is where): a decision, never an error — the agent
 * asked whether it may act, and the answer is no (block; monitor: would block). Each top-level member nested
 * too deep (arguments, metadata, a section) is replaced by a TooDeepPlaceholder before the body is parsed,
 * so the engine, the journal and the Runs view only ever see a small object; the rest of the body is
 * decided on as usual (its guardrails are reported too). A body whose shallow fields are invalid (no
 * agent_key, say) is still a 400 like any invalid body.
 */
function evaluateTooDeep(s: SidecarServices, body: unknown, path: NestingPath): Promise<EvaluateResponse> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw tooDeepError(path);
  const defused: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    defused[key] = nestingBeyond(value, MAX_NESTING_DEPTH - 1) === undefined ? value : tooDeepPlaceholder(value);
  }
  const reason = `${String(path[0])}: nested deeper than ${MAX_NESTING_DEPTH} levels, too deep to inspect`;
  return evaluate(s, parseBody(EvaluateBodySchema, defused), undefined, reason);
}

function tooDeepPlaceholder(value: unknown): TooDeepPlaceholder {
  return { apie_too_deep: { max_depth: MAX_NESTING_DEPTH, sha256: canonicalHash(value) } };
}

/** `late` for a decision made after the caller's deadline (same machine, same clock), else undefined. */
function lateness(deadlineAt: number | undefined): DecisionLateness | undefined {
  return deadlineAt !== undefined && Date.now() > deadlineAt ? { caller_gave_up_at: new Date(deadlineAt).toISOString() } : undefined;
}

const JOURNALED_BEFORE_ACK = { lazy: true, awaited: true } as const;

/** Ids of reported decisions already journaled: a batch resent after a dropped answer is not logged twice. */
const REMEMBERED_REPORTS = 10_000;

/**
 * Reported decisions decided again and journaled per turn of the event loop: a batch of 500 is 20–30 ms of
 * work, which must not hold up the guard decisions of other agents queued behind it (as POST /v1/events).
 * Measured: a request sent 2 ms into such a batch waited 21–38 ms unsliced, 1.6–2.8 ms sliced.
 */
const REPORTS_PER_TURN = 16;

/**
 * Decisions a replica made (see ReportDecisionsBodySchema): each is decided again here under its id and
 * journaled, not synced, as any decision that let a call proceed; the journal holds the sidecar's own
 * answer. An outcome reported with it is journaled right after it, as the call's timeline event. The batch
 * is acknowledged once all its records are written, in one write (AppendOptions.awaited).
 */
async function reportedDecisions(s: SidecarServices, body: ReturnType<typeof ReportDecisionsBodySchema.parse>, seen: RecentMap<string, true>): Promise<ReportDecisionsResponse> {
  const diverged: string[] = [];
  let accepted = 0;
  for (const [i, { decision_id: id, body: call, decided_at, outcome }] of body.decisions.entries()) {
    if (i > 0 && i % REPORTS_PER_TURN === 0) await nextTurn();
    if (seen.has(id)) continue;
    seen.set(id, true);
    const request = toGuardRequest(call);
    const decision = s.engine.evaluate(request, id);
    const plain = isPlainAllow(decision);
    if (!plain) diverged.push(id);
    const reported = { by: "replica" as const, diverged: !plain, ...(decided_at === undefined ? {} : { decided_at }) };
    s.journal.record("decision", { request: summarize(request), decision, approval_id: null, reported }, JOURNALED_BEFORE_ACK);
    if (outcome !== undefined) s.journal.record("event", { event: logRedactor.redactEvent(reportedOutcomeEvent(request, id, outcome)) }, JOURNALED_BEFORE_ACK);
    accepted++;
  }
  // Acknowledged once everything appended so far is written, so a replica never drops a report the log
  // does not hold — a report seen before included, which may belong to an attempt still being journaled (a
  // resend after a dropped answer). Written together, not synced (as any allow).
  await s.journal.allWritten();
  return { accepted, diverged };
}

function summarize(request: GuardRequest): DecisionRequestSummary {
  return {
    agent_key: request.agentKey,
    run_id: request.runId ?? null,
    tool: { name: request.tool?.name ?? null, provider: request.tool?.provider ?? null, risk_level: request.tool?.riskLevel ?? request.riskLevel ?? null },
    action: { type: request.action?.type ?? null, name: request.action?.name ?? null },
    resource: {
      type: request.resource?.type ?? null,
      environment: request.resource?.environment ?? null,
      external_id: request.resource?.externalId ?? null,
    },
    arguments: request.arguments === undefined ? null : logRedactor.redactValue(request.arguments),
  };
}


