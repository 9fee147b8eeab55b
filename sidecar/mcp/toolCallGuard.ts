import { TOO_DEEP_GUARDRAIL } from "../guard/evaluate";
import { nestingBeyond } from "../protocol/nesting";
import { MAX_NESTING_DEPTH } from "../protocol/v1";
import { localDecision, responsibleGuardrails, type ApieDecision } from "../sdk/decision";
import { isApieError } from "../sdk/errors";
import type { ApieLogger, GuardInput, ResourceRef } from "../sdk/types";
import type { McpServerConfig, ToolMetadata } from "./configSchema";
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from "./messages";
import type { ToolCallFacts } from "./outcomes";
import { COMPLETED, type CallOutcome, type WaitingReport } from "./reportOutbox";
import { approvalRefused, blocked, guardErrorResponse, refusalResponse, type Refusal } from "./refusals";
import type { Connection, LinkState } from "./sidecarLink";
import type { ToolCatalog } from "./toolCatalog";
import type { ToolMetadataTable } from "./toolMetadata";

/**
 * One `tools/call`, decided by the sidecar before the upstream sees it (issue 4):
 * - the guard request: tool `serverName.toolName`, provider `mcp`; action, resource and riskLevel from the
 *   first matching `tools` entry of apie.mcp.json, else absent so the sidecar infers them; resource
 *   environment = the config's `environment`; `arguments` = the call's arguments; the proxy's run;
 * - allow → forward; warn, and monitor mode's would-block / would-require-approval → forward and log;
 *   block → -32001; require_approval (enforce) → wait for the approval, sending `notifications/progress`
 *   while waiting when the request asked for progress; approved → the grant is redeemed (evaluated again
 *   with `approval_id`, as the SDK's withTool does) and the call forwarded; rejected, expired, cancelled or
 *   the proxy's own wait ending (`timeout`, the approval then cancelled) → -32002;
 * - the client cancelling the request (`notifications/cancelled`) cancels the approval and the call gets no
 *   answer at all;
 * - no sidecar: `guardFailureMode` (fail_open forwards and warns, fail_closed → -32001 "guard unavailable…",
 *   throw → -32603 naming the cause). `guardFailureMode` applies only when the sidecar did not answer: an
 *   error the sidecar returned for the guard request (any status with its JSON error body, e.g. a 500) is
 *   -32603 "guard request failed: …" in every mode, the call not forwarded (see sdk/http.ts);
 * - arguments nested deeper than MAX_NESTING_DEPTH (counted as in an evaluate body, `arguments` at level 1)
 *   → -32001 blocked by `request-too-deep`, decided by the proxy itself before the replica or the sidecar
 *   sees them, in every mode and with or without a sidecar: the proxy would forward exactly what it could
 *   not have inspected (and re-serializing it can itself overflow the stack), so "monitor lets it through"
 *   does not apply here. The refusal is recorded as a local decision when a sidecar is found.
 * A refused call never reaches the upstream. The proxy's own decisions are plain allows made by a replica of
 * the sidecar's engine (LocalGuard), which the sidecar journals; everything else is the sidecar's to decide.
 */

export interface CallContext {
  /** Aborted when the client cancels the request or the proxy stops; `reason` says which (a string). */
  signal: AbortSignal;
  /** Present when the request carried `_meta.progressToken`: sends one progress notification. */
  progress?: ((message: string) => void) | undefined;
}

/** What happens to the call once decided. */
export type Verdict =
  | { action: "forward"; ticket: OutcomeTicket }
  | { action: "answer"; message: JSONRPCMessage }
  /** Cancelled by the client: no response, per the MCP spec. */
  | { action: "drop" };

/** What the proxy needs to record the forwarded call's outcome. */
export interface OutcomeTicket {
  call: ToolCallFacts;
  decisionId: string | null;
  runId: string | undefined;
  connection: Connection | undefined;
  /** Decided by the proxy's replica: its decision's report, waiting; the outcome can go with it (LocalGuard.settle). */
  replicaReport?: WaitingReport;
}

export interface ToolCallGuardOptions {
  config: McpServerConfig;
  metadata: ToolMetadataTable;
  catalog: ToolCatalog;
  link: { state(): Promise<LinkState>; connectionNow(): Connection | undefined };
  logger: ApieLogger;
  /** Interval of the "waiting for approval" progress notifications (default 1500 ms). */
  progressIntervalMs?: number;
}

export class ToolCallGuard {
  private readonly progressIntervalMs: number;
  /** Requests decideNow already put to the replica, which left them to the sidecar: not evaluated twice. */
  private readonly leftToSidecar = new WeakSet<JSONRPCRequest>();
  /** The facts of each tool name (they depend on the config alone): built once, not per call. */
  private readonly factsByTool = new Map<string, ToolCallFacts>();

  constructor(private readonly options: ToolCallGuardOptions) {
    this.progressIntervalMs = options.progressIntervalMs ?? 1_500;
  }

  /**
   * The verdict when it needs no waiting: the replica's plain allow, with the sidecar connected and the run
   * known. Else undefined, and the call goes through {@link decide}. The common case of a busy agent, so the
   * call is forwarded in the same turn it arrived in: no promise, no abort controller.
   */
  decideNow(request: JSONRPCRequest): Verdict | undefined {
    const connection = this.options.link.connectionNow();
    const runId = connection?.runIdNow();
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
    if (connection === undefined || runId === undefined || typeof params.name !== "string") return undefined;
    if (argumentsTooDeep(params.arguments) !== undefined) return undefined; // decide() refuses it
    const call = this.factsOf(params.name);
    const local = connection.local.decide(guardInput(call, params.arguments, runId));
    if (local === "not_plain") this.leftToSidecar.add(request);
    if (local === undefined || local === "not_plain") return undefined;
    return forwardByReplica(call, local, runId, connection);
  }

  async decide(request: JSONRPCRequest, ctx: CallContext): Promise<Verdict> {
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
    if (typeof params.name !== "string") {
      // No tool named, nothing to run: the upstream answers that with its own error (nothing to record).
      return { action: "forward", ticket: { call: { tool: { name: this.options.config.serverName } }, decisionId: null, runId: undefined, connection: undefined } };
    }
    const toolName = params.name;
    const call = this.factsOf(toolName);
    const tooDeep = argumentsTooDeep(params.arguments);
    if (tooDeep !== undefined) return this.refuseTooDeep(request, toolName, call, tooDeep);
    const state = await this.options.link.state();
    if (!state.ok) return this.withoutSidecar(request, call, state.reason);
    const { connection } = state;
    const runId = await connection.runId();
    const input = guardInput(call, params.arguments, runId);
    // A plain allow is decided in-process when the replica is current; anything else asks the sidecar.
    const local = this.leftToSidecar.has(request) ? undefined : connection.local.decide(input);
    if (local !== undefined && local !== "not_plain") return ctx.signal.aborted ? { action: "drop" } : forwardByReplica(call, local, runId, connection);
    let decision: ApieDecision;
    try {
      decision = await connection.apie.guard(input);
    } catch (error) {
      const data = isApieError(error, "guard_unavailable") ? { guard_failure_mode: this.options.config.guardFailureMode } : {};
      return { action: "answer", message: guardErrorResponse(request.id, describeGuardError(error), data) };
    }
    const forward = (d: ApieDecision): Verdict => {
      if (d.decisionId === null) connection.outcomes.decidedLocally(call, d, runId);
      return { action: "forward", ticket: { call, decisionId: d.decisionId, runId, connection } };
    };
    if (ctx.signal.aborted) {
      if (decision.approvalRequest?.status === "pending") await this.cancelApproval(connection, decision.approvalRequest.id, ctx.signal);
      return { action: "drop" };
    }
    switch (decision.enforcementAction) {
      case "proceed":
        if (decision.annotation === "would_block") this.warn(call, "would block in enforce mode", decision, "block");
        else if (decision.annotation === "would_require_approval") this.warn(call, "would require approval in enforce mode", decision, "require_approval");
        return forward(decision);
      case "warn":
        this.warn(call, "guardrail warning", decision, "warn");
        return forward(decision);
      case "block":
        this.log(`blocked ${call.tool.name}${named(decision, "block")}: ${decision.reason}`);
        return this.refuse(request, toolName, blocked(decision));
      case "wait_for_approval": {
        const outcome = await this.awaitApproval(connection, input, call, decision, ctx);
        if (outcome === "drop") return { action: "drop" };
        if ("refusal" in outcome) return this.refuse(request, toolName, outcome.refusal);
        if ("error" in outcome) return { action: "answer", message: guardErrorResponse(request.id, outcome.error) };
        return forward(outcome.decision);
      }
    }
  }

  /** Records the outcome of a forwarded call: the upstream's answer, or why there was none. */
  settled(ticket: OutcomeTicket, response: JSONRPCResponse | { failure: string }): void {
    const { connection } = ticket;
    if (connection === undefined) return;
    const { outcomes } = connection;
    const failure = "failure" in response ? response.failure : "error" in response ? `MCP error ${response.error.code}: ${response.error.message}` : toolError(response.result);
    if (ticket.replicaReport !== undefined) {
      const outcome: CallOutcome = failure === undefined ? COMPLETED : { status: "failed", error: failure.slice(0, 2_000) };
      if (connection.local.settle(ticket.replicaReport, outcome)) return;
    }
    if (failure === undefined) outcomes.completed(ticket.call, ticket.decisionId, ticket.runId);
    else outcomes.failed(ticket.call, ticket.decisionId, ticket.runId, failure);
  }

  private factsOf(toolName: string): ToolCallFacts {
    let known = this.factsByTool.get(toolName);
    if (known === undefined) {
      known = this.facts(toolName, this.options.metadata.lookup(toolName));
      if (this.factsByTool.size < 10_000) this.factsByTool.set(toolName, known);
    }
    return known;
  }

  private facts(toolName: string, meta: ToolMetadata | undefined): ToolCallFacts {
    const { serverName, environment } = this.options.config;
    const name = `${serverName}.${toolName}`;
    const environmentOfCall = meta?.resource?.environment ?? environment;
    return {
      tool: { name, provider: "mcp", riskLevel: meta?.riskLevel },
      action: meta?.action ? { type: meta.action.type, name: meta.action.name ?? name } : undefined,
      resource:
        meta?.resource || environmentOfCall !== undefined
          ? ({ type: meta?.resource?.type, environment: environmentOfCall, externalId: meta?.resource?.externalId } as ResourceRef)
          : undefined,
      riskLevel: meta?.riskLevel,
    };
  }

  /** Arguments nested past the limit: refused here, never forwarded (see the class comment). */
  private refuseTooDeep(request: JSONRPCRequest, toolName: string, call: ToolCallFacts, reason: string): Verdict {
    const decision = tooDeepLocalDecision(this.options.config.mode, reason);
    this.log(`blocked ${call.tool.name} [${TOO_DEEP_GUARDRAIL}]: ${reason}`);
    this.recordLocalDecision(call, decision).catch((error: unknown) => this.log(`could not record the refusal of ${call.tool.name}: ${(error as Error).message}`));
    return this.refuse(request, toolName, blocked(decision));
  }

  /**
   * Journals a decision the proxy made on its own, under the run, once the link has answered: a call that
   * comes while the sidecar is still being located (the first one, right after startup) is recorded too.
   * The refusal does not wait for it.
   */
  private async recordLocalDecision(call: ToolCallFacts, decision: ApieDecision): Promise<void> {
    const state = await this.options.link.state();
    if (!state.ok) return;
    state.connection.outcomes.decidedLocally(call, decision, await state.connection.runId());
  }

  private withoutSidecar(request: JSONRPCRequest, call: ToolCallFacts, reason: string): Verdict {
    const { guardFailureMode, mode, serverName } = this.options.config;
    const ticket: OutcomeTicket = { call, decisionId: null, runId: undefined, connection: undefined };
    switch (guardFailureMode) {
      case "fail_open":
        this.log(`guard unavailable, forwarding ${call.tool.name} (fail_open): ${reason}`);
        return { action: "forward", ticket };
      case "fail_closed":
        this.log(`guard unavailable, refusing ${call.tool.name} (fail_closed): ${reason}`);
        return this.refuse(request, call.tool.name.slice(serverName.length + 1), blocked(localDecision("fail_closed", mode, reason)));
      case "throw":
        return { action: "answer", message: guardErrorResponse(request.id, `guard unavailable: ${reason}`, { guard_failure_mode: "throw" }) };
    }
  }

  /** Waits for the approval the sidecar opened; the decision to forward under, a refusal, or drop. */
  private async awaitApproval(
    connection: Connection,
    input: GuardInput,
    call: ToolCallFacts,
    decision: ApieDecision,
    ctx: CallContext,
  ): Promise<"drop" | { refusal: Refusal } | { error: string } | { decision: ApieDecision }> {
    const opened = decision.approvalRequest;
    const keys = responsibleGuardrails(decision, "require_approval").join(", ");
    if (opened === null) {
      // Fail safe, as the SDK: an enforced require_approval with nothing to wait for must not run.
      return { refusal: blocked(decision, `approval required${keys ? ` by ${keys}` : ""} but the sidecar opened no approval: ${decision.reason}`) };
    }
    if (opened.status === "approved") return { decision };
    const approvalId = opened.id;
    const { apie } = connection;
    const timeoutMs = this.options.config.approvalTimeoutMs;
    this.log(
      `waiting for approval ${approvalId}${keys ? ` (${keys})` : ""} for ${call.tool.name}: ${decision.reason} — approve or reject it in the editor or with \`apie approvals approve|reject ${approvalId}\``,
    );
    const waiting = `waiting for approval ${approvalId}${keys ? ` (${keys})` : ""}`;
    const started = Date.now();
    const tick = (): void => ctx.progress?.(`${waiting}, ${Math.round((Date.now() - started) / 1000)} s`);
    const timer = ctx.progress === undefined ? undefined : setInterval(tick, this.progressIntervalMs);
    if (ctx.progress !== undefined) ctx.progress(waiting);
    let status: Awaited<ReturnType<typeof apie.approvals.wait>> | "aborted";
    try {
      status = await Promise.race([apie.approvals.wait(approvalId, { timeoutMs }), aborted(ctx.signal)]);
    } catch (error) {
      return { error: describeGuardError(error) };
    } finally {
      clearInterval(timer);
    }
    switch (status) {
      case "aborted":
        await this.cancelApproval(connection, approvalId, ctx.signal);
        return "drop";
      case "approved": {
        let redeemed: ApieDecision;
        try {
          redeemed = await apie.guard({ ...input, approvalId });
        } catch (error) {
          return { error: describeGuardError(error) };
        }
        if (redeemed.enforcementAction === "proceed" || redeemed.enforcementAction === "warn") {
          this.log(`approval ${approvalId} approved: forwarding ${call.tool.name}`);
          return { decision: redeemed };
        }
        if (redeemed.approvalRequest?.status === "pending") await this.cancelApproval(connection, redeemed.approvalRequest.id, "superseded: the grant for this call was refused");
        return { refusal: blocked(redeemed, `the approval ${approvalId} for this call could not be redeemed: ${redeemed.reason}`) };
      }
      case "timeout":
        await this.cancelApproval(connection, approvalId, `the MCP proxy stopped waiting after ${timeoutMs} ms`);
        this.log(`approval ${approvalId}: no answer within ${timeoutMs} ms; cancelled`);
        return { refusal: approvalRefused(approvalId, "timeout", `no answer within ${timeoutMs} ms; the approval was cancelled`) };
      default: {
        const because = (await apie.approvals.getStatus(approvalId).catch(() => undefined))?.resolutionReason;
        this.log(`approval ${approvalId} ${status}${because ? `: ${because}` : ""}`);
        return { refusal: approvalRefused(approvalId, status, because ?? `the approval was ${status}${keys ? ` (${keys})` : ""}: ${decision.reason}`) };
      }
    }
  }

  private async cancelApproval(connection: Connection, approvalId: string, why: AbortSignal | string): Promise<void> {
    const reason = typeof why === "string" ? why : typeof why.reason === "string" ? why.reason : "the MCP client cancelled the tool call";
    await connection.apie.approvals.cancel(approvalId, reason).then(
      () => this.log(`approval ${approvalId} cancelled: ${reason}`),
      (error: unknown) => this.log(`could not cancel approval ${approvalId}: ${(error as Error).message}`),
    );
  }

  private refuse(request: JSONRPCRequest, toolName: string, refusal: Refusal): Verdict {
    const structuredContent = !this.options.catalog.hasOutputSchema(toolName);
    return { action: "answer", message: refusalResponse(request.id, refusal, this.options.config.refusal, { structuredContent }) };
  }

  private warn(call: ToolCallFacts, what: string, decision: ApieDecision, level: ApieDecision["policyDecision"]): void {
    this.log(`${what}: ${call.tool.name}${named(decision, level)}: ${decision.reason}`);
  }

  private log(message: string): void {
    this.options.logger.warn(message);
  }
}

/**
 * The guard input of one call: the tool's facts (what apie.mcp.json's `tools` metadata says, built once per
 * tool), its arguments and run. An action or resource the config does not give is sent without a type, so
 * the sidecar infers it (the SDK would otherwise send `execute` / `unknown`, which inference never
 * overrides). Member by member: it is on every call's path.
 */
function guardInput(call: ToolCallFacts, args: unknown, runId: string | undefined): GuardInput & { runId: string | undefined } {
  return { tool: call.tool, action: call.action, resource: call.resource, riskLevel: call.riskLevel, arguments: args, runId };
}

/** A call the proxy's replica allowed: forwarded, its outcome to go with the decision's report. */
function forwardByReplica(call: ToolCallFacts, local: { decisionId: string; report: WaitingReport }, runId: string | undefined, connection: Connection): Verdict {
  return { action: "forward", ticket: { call, decisionId: local.decisionId, runId, connection, replicaReport: local.report } };
}

/**
 * Why a call's arguments are too deep to guard, or undefined: the sidecar's own check on the evaluate body
 * (RouteDispatcher), `arguments` being a member of that body, so both ends draw the line at the same depth.
 */
function argumentsTooDeep(args: unknown): string | undefined {
  const path = nestingBeyond(args, MAX_NESTING_DEPTH - 1);
  return path === undefined ? undefined : `arguments: nested deeper than ${MAX_NESTING_DEPTH} levels, too deep to inspect`;
}

/** The proxy's own block of arguments nested too deep, shaped as a decision for the refusal and the record. */
function tooDeepLocalDecision(mode: ApieDecision["mode"], reason: string): ApieDecision {
  return {
    ...localDecision("fail_closed", mode, reason),
    reason,
    matchedGuardrails: [{ key: TOO_DEEP_GUARDRAIL, name: "Request too deeply nested to inspect", decision: "block", reason, source: "policy" }],
    guardUnavailable: null,
  };
}

function aborted(signal: AbortSignal): Promise<"aborted"> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve("aborted");
    else signal.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
}

function named(decision: ApieDecision, level: ApieDecision["policyDecision"]): string {
  const keys = responsibleGuardrails(decision, level);
  return keys.length === 0 ? "" : ` [${keys.join(", ")}]`;
}

/** The cause, for the -32603 answer: `guard unavailable: sidecar unreachable (…)`, or the refused request. */
function describeGuardError(error: unknown): string {
  if (isApieError(error, "guard_unavailable")) return error.message;
  return `guard request failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** `isError: true` results are failed calls; their text says why. */
function toolError(result: unknown): string | undefined {
  const r = result as { isError?: unknown; content?: unknown } | undefined;
  if (r?.isError !== true) return undefined;
  const text = Array.isArray(r.content) ? r.content.map((c: { type?: unknown; text?: unknown }) => (c?.type === "text" && typeof c.text === "string" ? c.text : "")).join(" ").trim() : "";
  return text.slice(0, 500) || "the tool reported an error";
}
