import path from "node:path";
import * as z from "zod/mini";
import { nestingBeyond } from "../protocol/nesting";
import { clip, once, type Dialect, type HookAnswer, type HookCall, type HookEvent } from "./dialect";
import { DIALECTS, renderUnknownHost, sniffDialect, sniffSessionEnd } from "./dialects";
import type { HookSettings } from "./hookSettings";
import { LinkDown, type GuardLink, type LinkReply } from "./hookHttp";
import { HOOK_HOST_INFO, type HookHost } from "./hosts";
import { guardBody, type HookGuardBody } from "./request";

/**
 * The one adapter core behind `apie hook` (every host): one payload in, exactly one answer out, never a
 * throw. Everything outside the process comes in through {@link HookEnvironment} (the sidecar link, the
 * policy file, the clock, the host's cancellation), so unit tests run it in-process against a scripted
 * sidecar; main.ts wires it to stdin/stdout, the real sidecar and the signals.
 *
 * How a guard decision becomes an answer (HOOKS.md §8.3; the host's format is the dialect's render):
 * - proceed, nothing matched → no opinion (the host's own safeguards stay in charge);
 * - proceed because an `allow` guardrail matched → an explicit allow (the policy said so; the host's prompt
 *   is skipped where it has one; Codex: empty);
 * - monitor's would-block / would-require-approval → no opinion with a visible warning;
 * - warn → no opinion with a visible warning (systemMessage; stderr where the host has no such field);
 * - block → deny with the guardrail's reason;
 * - require_approval → with `hooks.approvals: "host"` on a host with its own prompt: `ask` (the sidecar
 *   opened no approval). Else the hook waits for the editor's approval until its own deadline (the host's
 *   timeout minus a margin): approved → the grant is redeemed (evaluate again with approval_id) → allow;
 *   a call a session grant let through (`session_grant`: "Approve for Session" in the editor) → allow;
 *   rejected / expired / cancelled → deny with the reason; deadline → the approval is cancelled, deny
 *   ("approval timed out"); the host cancelling the hook (SIGTERM/SIGINT) → cancelled, deny.
 * - the sidecar answered an error (any status, JSON error body or not) → deny with its message: an error is
 *   an answer, never "guard unavailable", never an allow;
 * - no sidecar alive within FIRST_BUDGET_MS (none found, down, stopped), or none answering within
 *   ANSWER_BUDGET_MS after it was → the policy's hooks.failureMode:
 *   fail_open → no opinion + warning; fail_closed → deny ("apie guard unavailable"), or `ask` where the host
 *   has a prompt and hooks.approvals is "host".
 *
 * Payloads that cannot be guarded (choice documented in docs/coding-agents.md):
 * - larger than MAX_PAYLOAD_BYTES → deny, whatever the failure mode (the sidecar refuses bodies over 1 MiB
 *   with an error, which is a deny as well: a large payload is never waved through);
 * - not JSON, truncated, or of no known shape → like a guard that cannot answer: fail_closed → deny,
 *   fail_open → no opinion + warning, using the policy found from the hook's own working directory. Under
 *   `--host auto` with no shape recognised, a deny carries every host's deny fields (dialects.ts);
 * - arguments nested past MAX_NESTING_DEPTH → deny (the guard's own rule for too-deep requests); a guard
 *   request over the sidecar's 1 MiB body limit → deny (what its 413 would say).
 * The post-tool-use event always answers no opinion: it records, it never decides. So does the session-end
 * event (`--event end`): it completes the host session's Apie session and runs, and nothing else.
 */

export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/** The sidecar's MAX_NESTING_DEPTH (protocol/v1.ts; held equal by test/unit/hooks/request.test.ts). */
export const HOOK_MAX_NESTING_DEPTH = 64;
/** The sidecar's MAX_BODY_BYTES (protocol/v1.ts; held equal by the same test). */
export const HOOK_MAX_BODY_BYTES = 1024 * 1024;
/**
 * How long the sidecar may take to show it is alive before it counts as unavailable (issue 12: decided
 * within 300 ms): connection refused at once when it is down; a stopped one (SIGSTOP: the kernel still
 * accepts the connection) never sends its `100 Continue` (hookHttp.ts). A machine too slow for that can
 * raise it with APIE_HOOK_BUDGET_MS (hookProcess.ts).
 */
export const FIRST_BUDGET_MS = 300;
/**
 * How long a sidecar that has shown it is alive may take to answer (a block is answered once its record is
 * synced; a loaded machine schedules the sidecar late) — bounded by the hook's own deadline.
 */
export const ANSWER_BUDGET_MS = 10_000;
/** Budget of requests after the first (redeeming a grant, cancelling): the sidecar has proven alive. */
const LATER_BUDGET_MS = 2_000;
/** What the hook keeps back from the host's timeout: VS Code SIGKILLs 5 s after its SIGTERM (HOOKS.md §8.1). */
export const DEADLINE_MARGIN_MS = 5_000;
/** How long the first request may still run after the host cancelled the hook (see decide). */
const ABORT_GRACE_MS = 2_000;
const MIN_WAIT_MS = 1_000;

export interface HookOptions {
  host: HookHost | "auto";
  event: HookEvent;
  /** The timeout the host's config gives the hook, in seconds; the host's default when absent. */
  timeoutS: number | undefined;
}

export interface HookEnvironment {
  /** The first request's budget; FIRST_BUDGET_MS unless configured. */
  budgetMs?: number;
  /**
   * When the host started the hook (epoch ms): the hook's deadline counts from there, as the host's timeout
   * does, stdin time included. Default: when runHook is called.
   */
  startedAt?: number;
  /** The hook's own working directory (what a payload without `cwd` is relative to). */
  processCwd: string;
  /** The sidecar serving `cwd`, or why there is none. */
  connect(cwd: string): { ok: true; link: GuardLink } | { ok: false; why: string };
  /** The policy's `hooks` settings for `cwd` (read only when no sidecar answers). */
  settings(cwd: string): HookSettings;
  now(): number;
  /** Aborted when the host cancels the hook (SIGTERM / SIGINT). */
  signal: AbortSignal;
  /** Diagnostics (stderr). */
  log(line: string): void;
}

export type HookInput = { text: string } | { tooLarge: number };

/** Runs one hook; always resolves to the exact stdout text. */
export async function runHook(options: HookOptions, input: HookInput, env: HookEnvironment): Promise<string> {
  const started = env.startedAt ?? env.now();
  let render: (answer: HookAnswer) => string = (answer) => (options.host === "auto" ? renderUnknownHost(answer) : DIALECTS[options.host].render(answer, options.event));
  try {
    if (options.event === "end") return render(await endSession(options, input, env));
    if ("tooLarge" in input && options.event === "pre") {
      // Not "guard unavailable": the guard would refuse a body this size too (its limit is 1 MiB), so the
      // answer is the refusal it would give, whatever the failure mode.
      return render({ kind: "deny", reason: `apie: the hook payload is larger than ${MAX_PAYLOAD_BYTES} bytes, too large to inspect` });
    }
    const read = readPayload(options, input, env);
    if ("unreadable" in read) {
      const { dialect } = read;
      if (dialect !== undefined) render = (answer) => dialect.render(answer, read.event);
      return render(read.event === "post" ? { kind: "none" } : unguardable(read.unreadable, env.settings(env.processCwd), dialect, env));
    }
    const { dialect, call } = read;
    const event: HookEvent = options.event === "post" || call.event === "post" ? "post" : "pre";
    render = (answer) => dialect.render(answer, event);
    const answer = event === "post" ? await recordOutcome(dialect, call, env) : await decide(dialect, call, options, env, started);
    if (answer.kind === "none" && answer.warning !== undefined && !warnsVisibly(dialect)) env.log(answer.warning);
    return render(answer);
  } catch (error) {
    // Unreachable by design; if it happens, the answer is still exactly one, and never an allow.
    env.log(`apie hook: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    try {
      return render(unguardable(`internal error: ${String(error)}`, env.settings(env.processCwd), undefined, env));
    } catch {
      return options.host === "codex" ? "" : "{}";
    }
  }
}

type ReadResult = { dialect: Dialect; call: HookCall } | { unreadable: string; dialect: Dialect | undefined; event: HookEvent };

function readPayload(options: HookOptions, input: HookInput, env: HookEnvironment): ReadResult {
  const expected = options.host === "auto" ? undefined : DIALECTS[options.host];
  const unreadable = (why: string, dialect = expected): ReadResult => ({ unreadable: why, dialect, event: options.event });
  if ("tooLarge" in input) return unreadable(`the hook payload is larger than ${MAX_PAYLOAD_BYTES} bytes (${input.tooLarge} read)`);
  let payload: unknown;
  try {
    payload = JSON.parse(input.text);
  } catch {
    return unreadable(input.text.trim() === "" ? "the hook payload is empty" : "the hook payload is not JSON (garbled or truncated)");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return unreadable("the hook payload is not a JSON object");
  const sniffed = sniffDialect(payload as Record<string, unknown>);
  let dialect = expected ?? sniffed;
  if (dialect === undefined) return unreadable("the hook payload has no known host's shape (run with --host)");
  if (sniffed !== undefined && sniffed !== dialect) {
    // One file is read by several hosts (~/.copilot/hooks), and VS Code runs Claude, Codex and Copilot
    // harnesses: the payload's shape says who is asking, and that host gets its own answer.
    env.log(`apie hook: --host ${options.host} but the payload is ${sniffed.host}'s; answering as ${sniffed.host}`);
    dialect = sniffed;
  }
  const parsed = dialect.schema().safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // zod/mini carries no message locale (bundle size): a type error is worded from its issue's fields.
    const what = issue === undefined ? "invalid" : issue.code === "invalid_type" ? `expected ${issue.expected}` : issue.message;
    return unreadable(`the ${dialect.host} payload is invalid (${issue?.path.join(".") || "payload"}: ${what})`, dialect);
  }
  return { dialect, call: dialect.read(parsed.data) };
}

/** Whether the host shows a no-opinion answer's warning itself (else it goes to stderr). */
function warnsVisibly(dialect: Dialect): boolean {
  return dialect.host !== "copilot-cli" && dialect.host !== "cursor";
}

/** A call the guard cannot judge (no sidecar answered, or the payload cannot be read): the failure mode. */
function unguardable(why: string, settings: HookSettings, dialect: Dialect | undefined, env: HookEnvironment): HookAnswer {
  env.log(`apie hook: guard unavailable: ${why} (hooks.failureMode ${settings.failureMode}: ${settings.source})`);
  if (settings.failureMode === "fail_open") {
    return { kind: "none", warning: `apie: guard unavailable (${why}); this call is not guarded (hooks.failureMode: fail_open)` };
  }
  const reason = `apie guard unavailable (${why}); hooks.failureMode is fail_closed`;
  if (dialect !== undefined && HOOK_HOST_INFO[dialect.host].nativeAsk && settings.approvals === "host") return { kind: "ask", reason: `${reason}: confirm to proceed without the guard` };
  return { kind: "deny", reason };
}

// ---------------------------------------------------------------------------------------------- decide

/**
 * The part of the sidecar's decision the hook reads. Built from the same few zod/mini types as the payload
 * schemas (enums, booleans and the like each cost a hook process their first use: ~1.4 ms of CPU for this
 * schema on the test machine); `enforcement_action` is checked where it is used, an unknown one refused.
 */
const DecisionReply = once(() => {
  const text = z.optional(z.nullable(z.string()));
  return z.looseObject({
    enforcement_action: z.string(),
    effective_decision: text,
    reason: z.string(),
    annotation: text,
    matched_guardrails: z.optional(z.nullable(z.array(z.looseObject({ key: text, decision: text })))),
    approval_request: z.optional(z.nullable(z.looseObject({ id: z.string(), status: text }))),
    hook: z.optional(z.nullable(z.looseObject({ ask: z.optional(z.unknown()) }))),
    session_grant: z.optional(z.nullable(z.looseObject({ approval_id: z.string() }))),
  });
});
type Decision = z.infer<ReturnType<typeof DecisionReply>>;

const ErrorReply = once(() => z.looseObject({ error: z.looseObject({ code: z.optional(z.string()), message: z.string() }) }));

async function decide(dialect: Dialect, call: HookCall, options: HookOptions, env: HookEnvironment, started: number): Promise<HookAnswer> {
  const body = guardBody(dialect, call, env.processCwd);
  const cwd = body.metadata.cwd;
  if (nestingBeyond(body.arguments, HOOK_MAX_NESTING_DEPTH - 1) !== undefined) {
    return { kind: "deny", reason: `apie: the ${call.toolName} input is nested deeper than ${HOOK_MAX_NESTING_DEPTH} levels, too deep to inspect` };
  }
  if (Buffer.byteLength(JSON.stringify(body)) > HOOK_MAX_BODY_BYTES) {
    // The sidecar refuses such a body (413), which is a deny: said here, without sending a megabyte first.
    return { kind: "deny", reason: `apie: the ${call.toolName} input is larger than the guard's ${HOOK_MAX_BODY_BYTES}-byte limit, too large to inspect` };
  }
  const connected = env.connect(cwd);
  if (!connected.ok) return unguardable(connected.why, env.settings(cwd), dialect, env);
  const { link } = connected;
  let reply: LinkReply;
  // The host cancelling the hook does not cut this request off at once: its answer may name an approval the
  // sidecar has just opened, which must then be cancelled (awaitApproval does, seeing the signal). It gets
  // ABORT_GRACE_MS more, well inside the 5 s a host gives between SIGTERM and SIGKILL.
  const request = new AbortController();
  const onAbort = (): void => void setTimeout(() => request.abort(), ABORT_GRACE_MS).unref();
  if (env.signal.aborted) onAbort();
  else env.signal.addEventListener("abort", onAbort, { once: true });
  try {
    // deadline_at: a decision the sidecar makes after the hook gave up (and applied its failure mode) is
    // journaled as late, and a late require_approval opens no approval that nobody would wait for.
    const budget = Math.max(1, Math.min(ANSWER_BUDGET_MS, started + timeoutMs(dialect, options) - env.now()));
    reply = await link.post("/v1/hooks/evaluate", { ...body, deadline_at: env.now() + budget }, budget, request.signal, env.budgetMs ?? FIRST_BUDGET_MS);
  } catch (error) {
    if (error instanceof LinkDown && error.aborted) return { kind: "deny", reason: "apie: the host cancelled the hook before the guard answered" };
    return unguardable(error instanceof Error ? error.message : String(error), env.settings(cwd), dialect, env);
  } finally {
    env.signal.removeEventListener("abort", onAbort);
  }
  const answered = decisionOf(reply);
  if (!answered.ok) return { kind: "deny", reason: answered.refused };
  const decision = answered.decision;
  const name = HOOK_HOST_INFO[dialect.host].displayName;
  switch (decision.enforcement_action) {
    case "proceed":
      return proceeded(decision);
    case "warn":
      return { kind: "none", warning: `apie: warning${keysOf(decision, "warn")} — ${decision.reason}` };
    case "block":
      return { kind: "deny", reason: `apie: blocked${keysOf(decision, "block")} — ${decision.reason}` };
    case "wait_for_approval": {
      const why = `approval required${keysOf(decision, "require_approval")} — ${decision.reason}`;
      if (decision.hook?.ask === true && HOOK_HOST_INFO[dialect.host].nativeAsk) return { kind: "ask", reason: `apie: ${why}` };
      const opened = decision.approval_request;
      if (opened == null) return { kind: "deny", reason: `apie: ${why}; no approval could be opened` };
      return awaitApproval(link, body, opened.id, why, name, timeoutMs(dialect, options), started, env);
    }
    default:
      return { kind: "deny", reason: `apie: the sidecar answered an unknown enforcement action "${clip(decision.enforcement_action)}"; refusing the call` };
  }
}

function proceeded(decision: Decision): HookAnswer {
  if (decision.annotation === "would_block") return { kind: "none", warning: `apie (monitor mode): would block${keysOf(decision, "block")} — ${decision.reason}` };
  if (decision.annotation === "would_require_approval") {
    return { kind: "none", warning: `apie (monitor mode): would require approval${keysOf(decision, "require_approval")} — ${decision.reason}` };
  }
  // A human approved this command or path for the session in the editor: as explicit as a redeemed grant.
  if (decision.session_grant != null && decision.effective_decision === "allow") return { kind: "allow", reason: `apie: approved for this session (${decision.session_grant.approval_id})` };
  const allowedBy = (decision.matched_guardrails ?? []).filter((g) => g.decision === "allow").map((g) => g.key ?? "?");
  if (allowedBy.length > 0 && decision.effective_decision === "allow") return { kind: "allow", reason: `apie: allowed by ${allowedBy.join(", ")}` };
  return { kind: "none" };
}

function keysOf(decision: Decision, level: string): string {
  const keys = (decision.matched_guardrails ?? []).filter((g) => g.decision === level && typeof g.key === "string").map((g) => g.key);
  return keys.length === 0 ? "" : ` [${keys.join(", ")}]`;
}

/** The decision in a sidecar reply, or why it refused — an error answered is a refusal, never an allow. */
function decisionOf(reply: LinkReply): { ok: true; decision: Decision } | { ok: false; refused: string } {
  if (reply.status === 200) {
    const parsed = DecisionReply().safeParse(reply.json);
    if (parsed.success) return { ok: true, decision: parsed.data };
    return { ok: false, refused: "apie: the sidecar's answer is not a guard decision; refusing the call" };
  }
  return { ok: false, refused: refusalOf(reply) };
}

function refusalOf(reply: LinkReply): string {
  const error = ErrorReply().safeParse(reply.json);
  const message = error.success ? `${error.data.error.message}${error.data.error.code ? ` (${error.data.error.code})` : ""}` : `HTTP ${reply.status}`;
  // A sidecar from before the hook routes (an older extension still running) refuses every hook call.
  const older = reply.status === 404 && error.success && error.data.error.code === "not_found" ? "; the running sidecar is older than this hook: restart it (or the editor)" : "";
  return `apie: the guard refused the request: ${clip(message)}${older}`;
}

/**
 * The hook's own deadline, from its start: the host's timeout minus DEADLINE_MARGIN_MS, at least
 * MIN_WAIT_MS (a timeout under 6 s leaves no room for the full margin; installers write 900 s).
 */
function timeoutMs(dialect: Dialect, options: HookOptions): number {
  const totalMs = (options.timeoutS ?? dialect.defaultTimeoutS) * 1000;
  return Math.max(MIN_WAIT_MS, totalMs - DEADLINE_MARGIN_MS);
}

const ApprovalWaitReply = once(() =>
  z.looseObject({
    status: z.string(),
    approval: z.optional(z.looseObject({ resolution_reason: z.optional(z.nullable(z.string())), resolved_by: z.optional(z.nullable(z.string())) })),
  }),
);

async function awaitApproval(
  link: GuardLink,
  body: HookGuardBody,
  approvalId: string,
  why: string,
  hostName: string,
  budgetMs: number,
  started: number,
  env: HookEnvironment,
): Promise<HookAnswer> {
  const deadline = started + budgetMs;
  env.log(`apie hook: ${why}; waiting for approval ${approvalId} in the editor (or \`apie approvals approve ${approvalId}\`) until ${new Date(deadline).toISOString()}`);
  const cancel = async (reason: string): Promise<void> => {
    await link.post(`/v1/approvals/${encodeURIComponent(approvalId)}/cancel`, { reason }, LATER_BUDGET_MS).then(
      () => env.log(`apie hook: approval ${approvalId} cancelled: ${reason}`),
      (error: unknown) => env.log(`apie hook: could not cancel approval ${approvalId}: ${(error as Error).message}`),
    );
  };
  for (;;) {
    const remaining = deadline - env.now();
    if (env.signal.aborted) {
      await cancel(`${hostName} cancelled the hook`);
      return { kind: "deny", reason: `apie: ${hostName} cancelled the hook while it waited for approval ${approvalId}; the approval was cancelled` };
    }
    if (remaining <= 0) {
      await cancel(`approval timed out: the ${hostName} hook stopped waiting at its deadline`);
      return { kind: "deny", reason: `apie: approval timed out (${approvalId}, no answer within ${Math.round(budgetMs / 1000)} s); the approval was cancelled — retry to ask again` };
    }
    const waitMs = Math.min(remaining, 600_000);
    let reply: LinkReply;
    try {
      reply = await link.get(`/v1/approvals/${encodeURIComponent(approvalId)}/wait?timeout=${Math.ceil(waitMs)}`, waitMs + LATER_BUDGET_MS, env.signal);
    } catch (error) {
      if (error instanceof LinkDown && error.aborted) continue; // the loop cancels and denies
      return { kind: "deny", reason: `apie: lost the sidecar while waiting for approval ${approvalId} (${(error as Error).message}); refusing the call` };
    }
    if (reply.status !== 200) return { kind: "deny", reason: refusalOf(reply) };
    const waited = ApprovalWaitReply().safeParse(reply.json);
    if (!waited.success) return { kind: "deny", reason: "apie: the sidecar's approval answer is unreadable; refusing the call" };
    const { status, approval } = waited.data;
    if (status === "timeout" || status === "pending") continue;
    if (status === "approved") return redeem(link, body, approvalId, env);
    const because = approval?.resolution_reason ? `: ${approval.resolution_reason}` : "";
    return { kind: "deny", reason: `apie: approval ${approvalId} ${status}${approval?.resolved_by ? ` by ${approval.resolved_by}` : ""}${because} (${why})` };
  }
}

/** Spends the grant on exactly this call (the same body, plus approval_id), as the SDK and the MCP proxy do. */
async function redeem(link: GuardLink, body: HookGuardBody, approvalId: string, env: HookEnvironment): Promise<HookAnswer> {
  let reply: LinkReply;
  try {
    reply = await link.post("/v1/hooks/evaluate", { ...body, approval_id: approvalId, deadline_at: env.now() + LATER_BUDGET_MS }, LATER_BUDGET_MS, env.signal);
  } catch (error) {
    return { kind: "deny", reason: `apie: approval ${approvalId} was approved but could not be redeemed (${(error as Error).message}); retry` };
  }
  const answered = decisionOf(reply);
  if (!answered.ok) return { kind: "deny", reason: answered.refused };
  const decision = answered.decision;
  if (decision.enforcement_action === "proceed" || decision.enforcement_action === "warn") return { kind: "allow", reason: `apie: approved (${approvalId})` };
  if (decision.approval_request?.status === "pending") {
    await link.post(`/v1/approvals/${encodeURIComponent(decision.approval_request.id)}/cancel`, { reason: "superseded: the grant for this call was refused" }, LATER_BUDGET_MS).catch(() => undefined);
  }
  return { kind: "deny", reason: `apie: the approval ${approvalId} for this call could not be redeemed — ${decision.reason}` };
}

// --------------------------------------------------------------------------------------------- outcome

/** The post-tool-use hook: what became of the call, linked by the sidecar to its decision. Never decides. */
async function recordOutcome(dialect: Dialect, call: HookCall, env: HookEnvironment): Promise<HookAnswer> {
  const body = guardBody(dialect, call, env.processCwd);
  if (nestingBeyond(body.arguments, HOOK_MAX_NESTING_DEPTH - 1) !== undefined) return { kind: "none" };
  const connected = env.connect(body.metadata.cwd);
  if (!connected.ok) {
    env.log(`apie hook: outcome not recorded: ${connected.why}`);
    return { kind: "none" };
  }
  const outcome = {
    agent_key: body.agent_key,
    tool: body.tool,
    metadata: body.metadata,
    status: call.failure === undefined ? "completed" : "failed",
    ...(call.failure === undefined ? {} : { error: clip(call.failure).slice(0, 2_000) }),
  };
  try {
    const reply = await connected.link.post("/v1/hooks/outcome", outcome, LATER_BUDGET_MS, env.signal, env.budgetMs ?? FIRST_BUDGET_MS);
    if (reply.status !== 200) env.log(`apie hook: outcome not recorded: HTTP ${reply.status} ${JSON.stringify(reply.json)?.slice(0, 500)}`);
  } catch (error) {
    env.log(`apie hook: outcome not recorded: ${(error as Error).message}`);
  }
  return { kind: "none" };
}

// ------------------------------------------------------------------------------------------ session end

/**
 * The session-end hook (`--event end`): the host's session is over, so its Apie session and runs are
 * completed (POST /v1/hooks/session-end). Never decides: whatever happens — no end event for this host, a
 * payload of another event (a per-turn `Stop` wired to `--event end` by hand), no sidecar — the answer is
 * the host's no opinion, and a session nobody ended simply stays running.
 */
async function endSession(options: HookOptions, input: HookInput, env: HookEnvironment): Promise<HookAnswer> {
  const none: HookAnswer = { kind: "none" };
  if ("tooLarge" in input) return env.log("apie hook: session end not recorded: the payload is too large"), none;
  let payload: unknown;
  try {
    payload = JSON.parse(input.text);
  } catch {
    return env.log("apie hook: session end not recorded: the payload is not JSON"), none;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return env.log("apie hook: session end not recorded: the payload is not a JSON object"), none;
  const dialect = options.host === "auto" ? sniffSessionEnd(payload as Record<string, unknown>) : DIALECTS[options.host];
  if (dialect === undefined) return env.log("apie hook: session end not recorded: no known host's shape (run with --host)"), none;
  const end = dialect.end;
  if (end === undefined) return env.log(`apie hook: ${dialect.host} has no session-end event; its sessions stay running`), none;
  const parsed = end.schema().safeParse(payload);
  if (!parsed.success) return env.log(`apie hook: session end not recorded: the ${dialect.host} payload is invalid (${parsed.error.issues[0]?.path.join(".") || "payload"})`), none;
  const p = payload as Record<string, unknown>;
  const eventName = p.hook_event_name ?? p.hookEventName;
  if (eventName !== undefined && eventName !== null && !end.events.includes(String(eventName))) {
    return env.log(`apie hook: "${clip(String(eventName)).slice(0, 100)}" is not ${dialect.host}'s session end (${end.events.join(", ")}); nothing recorded`), none;
  }
  const ended = end.read(parsed.data);
  const cwd = path.resolve(env.processCwd, ended.cwd ?? ".");
  const connected = env.connect(cwd);
  if (!connected.ok) return env.log(`apie hook: session end not recorded: ${connected.why}`), none;
  const body = { host: dialect.host, session_id: ended.sessionId ?? null, cwd, ...(ended.reason === undefined ? {} : { reason: ended.reason.slice(0, 200) }) };
  try {
    const reply = await connected.link.post("/v1/hooks/session-end", body, LATER_BUDGET_MS, env.signal, env.budgetMs ?? FIRST_BUDGET_MS);
    if (reply.status !== 200) env.log(`apie hook: session end not recorded: HTTP ${reply.status} ${JSON.stringify(reply.json)?.slice(0, 500)}`);
  } catch (error) {
    env.log(`apie hook: session end not recorded: ${(error as Error).message}`);
  }
  return none;
}
