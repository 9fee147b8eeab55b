import { randomUUID } from "node:crypto";
import { z } from "zod";
import { createRedactor } from "../guard/redact";
import { ApprovalWaiter } from "./approvalWaiter";
import { resolveConfig, type ConfigOptions, type ResolvedConfig } from "./config";
import { resolveRunId, resolveSessionId, withRunContext } from "./context";
import { disabledDecision, type ApieDecision } from "./decision";
import { ApieError } from "./errors";
import { EMPTY_DIAGNOSTICS, type QueueDiagnostics } from "./eventQueue";
import { errorEvent } from "./events";
import { GuardClient } from "./guardClient";
import { HttpClient, TransportError, toApieError, type Method } from "./http";
import { SidecarStream } from "./stream";
import { Timeline } from "./timeline";
import { runToolCall, type ToolCallDeps } from "./toolCall";
import {
  defaultLogger,
  type ApieLogger,
  type Approval,
  type ApprovalWaitStatus,
  type CapabilityInput,
  type GuardInput,
  type Registration,
  type Run,
  type RunCompletion,
  type RunInput,
  type Session,
  type SessionInput,
  type ToolCallInput,
  type ToolDefinition,
} from "./types";
import * as wire from "./wire";

/** Options of `new Apie(...)`: the config fields (see `ConfigSchema`) plus a logger. */
export type ApieOptions = ConfigOptions & {
  /** Where warnings go (would-block in monitor mode, guard unavailable, flush failures). Default: console.warn with "[apie]". */
  logger?: ApieLogger;
};

/** The connected half of a client; absent when `enabled: false`. */
interface Live {
  http: HttpClient;
  guard: GuardClient;
  timeline: Timeline;
  stream: SidecarStream;
  waiter: ApprovalWaiter;
}

const EnableTemplateAnswer = z.object({ id: z.string(), key: z.string(), status: z.string() });

/**
 * The Apie client an agent imports: guard every tool call through the local sidecar, wait for approvals,
 * and record runs, sessions and timeline events (the TypeScript twin of the official Python SDK).
 *
 * ```ts
 * const apie = await Apie.create({ agent: { key: "release-gate" }, mode: "enforce" });
 * await apie.withRun({ inputSummary: "deploy" }, () =>
 *   apie.withTool({ tool: { name: "deploy.release" }, resource: { type: "deployment_event", environment: "production" } }, deploy));
 * await apie.shutdown();
 * ```
 */
export class Apie {
  /** The resolved configuration (inline > env > apie.config.json, defaults applied). */
  readonly config: ResolvedConfig;
  private readonly logger: ApieLogger;
  private readonly live: Live | undefined;
  private registering: Promise<Registration> | undefined;
  private registration: Registration | undefined;
  private readonly cancellations = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  private localIds = 0;

  /** Runs: start and complete them yourself (`withRun` does both around a callback). */
  readonly runs = {
    /** POST /v1/runs (or /v1/sessions/{id}/runs inside a session). Throws `http_error` when it fails. */
    start: (input: RunInput = {}): Promise<Run> => this.createRun(input, resolveSessionId(input.sessionId)),
    /** Sends queued events, then POST /v1/runs/{id}/complete. */
    complete: (runId: string, completion: RunCompletion = {}): Promise<void> => this.completeRun(runId, completion),
  };

  /** Approvals opened by the sidecar for enforced require_approval decisions. */
  readonly approvals = {
    /**
     * Waits for a human's answer: the final status, or `timeout` when `timeoutMs` (default
     * `approvalTimeoutMs`) passes first. Uses the WebSocket push channel, long-polling if it cannot connect.
     */
    wait: async (approvalId: string, options: { timeoutMs?: number } = {}): Promise<ApprovalWaitStatus> => {
      const live = this.requireLive();
      const result = await publicCall(`wait for approval ${approvalId}`, () => live.waiter.wait(approvalId, options.timeoutMs ?? this.config.approvalTimeoutMs));
      return result === "aborted" ? "timeout" : result;
    },
    /** GET /v1/approvals/{id}: the approval's current state (`status` is pending until resolved). */
    getStatus: async (approvalId: string): Promise<Approval> => {
      const live = this.requireLive();
      return publicCall(`GET approval ${approvalId}`, () => live.waiter.get(approvalId));
    },
    /** POST /v1/approvals/{id}/cancel: withdraw the request (the agent key may; approving needs the admin key). */
    cancel: async (approvalId: string, reason?: string): Promise<void> => {
      await this.request("POST", `/v1/approvals/${encodeURIComponent(approvalId)}/cancel`, { reason: reason ?? null });
    },
  };

  /** The agent's boundary contract. */
  readonly capabilities = {
    /** POST /v1/agents/{id}/capabilities/declare (identifies first if needed). */
    declare: async (capabilities: readonly CapabilityInput[]): Promise<Record<string, unknown>> => {
      if (this.live === undefined) return {};
      const { agentId } = await this.ready();
      return this.declareFor(agentId, capabilities);
    },
  };

  readonly tools = {
    /** POST /v1/agents/{id}/tools/define: metadata the sidecar uses to infer action, resource and risk. */
    define: async (tool: ToolDefinition): Promise<Record<string, unknown>> => {
      if (this.live === undefined) return {};
      const { agentId } = await this.ready();
      return this.request("POST", `/v1/agents/${encodeURIComponent(agentId)}/tools/define`, wire.toolDefinitionBody(tool), asRecord);
    },
  };

  /** Validates the configuration (throws `invalid_config`); sends nothing until used. */
  constructor(options: ApieOptions = {}) {
    const { logger, ...config } = options;
    this.logger = logger ?? defaultLogger;
    this.config = resolveConfig(config);
    this.live = this.config.enabled ? this.connect(this.config) : undefined;
  }

  /** Constructs the client and waits for `ready()`; a failure there closes the client and is thrown. */
  static async create(options: ApieOptions = {}): Promise<Apie> {
    const apie = new Apie(options);
    try {
      await apie.ready();
    } catch (error) {
      await apie.shutdown();
      throw error;
    }
    return apie;
  }

  /**
   * Identifies the agent (POST /v1/agents/identify) and declares `config.capabilities`. Memoized: later
   * calls share the first success; after a failure the next call tries again.
   */
  ready(): Promise<Registration> {
    if (this.live === undefined) return Promise.resolve(this.disabledRegistration());
    this.registering ??= this.register().catch((error: unknown) => {
      this.registering = undefined;
      throw error;
    });
    return this.registering;
  }

  /** The agent id once `ready()` succeeded. */
  get agentId(): string | undefined {
    return this.registration?.agentId;
  }

  /**
   * Runs `fn` as one tool call under the guard (see `ToolCallInput` for defaults). Throws `blocked`, an
   * approval code, `guard_unavailable` or `http_error` before `fn` runs; otherwise returns what `fn`
   * returns (its errors pass through, recorded as a failed action). `fn` receives the decision (null with
   * `guard: false`).
   */
  withTool<T>(input: ToolCallInput, fn: (decision: ApieDecision | null) => T | Promise<T>): Promise<T> {
    if (this.live === undefined) return Promise.resolve().then(() => fn(input.guard === false ? null : disabledDecision(this.config.mode)));
    return runToolCall(this.toolCallDeps(this.live), input, fn);
  }

  /**
   * Returns `fn` guarded: every call goes through `withTool(input, …)`. Unless `input.arguments` is set,
   * the call's arguments (the first one alone, else the array) are sent as the tool's arguments when they
   * are plain JSON. `input` may also be a function of the arguments.
   */
  wrap<A extends unknown[], R>(input: ToolCallInput | ((...args: A) => ToolCallInput), fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) => {
      const base = typeof input === "function" ? input(...args) : input;
      const call = base.arguments === undefined ? { ...base, arguments: jsonOrUndefined(args.length === 1 ? args[0] : args) } : base;
      return this.withTool(call, () => fn(...args));
    };
  }

  /**
   * Asks the guard without running or enforcing anything and returns the decision (`guardFailureMode`
   * applies). In enforce mode a require_approval opens an approval: its id is `decision.approvalId`; wait
   * for it with `approvals.wait` or withdraw it with `approvals.cancel`.
   */
  async guard(input: GuardInput): Promise<ApieDecision> {
    if (input.tool === undefined && input.action === undefined) throw new TypeError("guard() needs a tool or an action");
    if (this.live === undefined) return disabledDecision(this.config.mode);
    const { decision } = await this.live.guard.evaluate({ ...input, runId: resolveRunId(input.runId) });
    return decision;
  }

  /**
   * Runs `fn` inside a run: created before (POST /v1/runs, or a child run inside `withSession`), completed
   * after (`completed`, or `failed` when `fn` throws), queued events flushed. Every `withTool` awaited in
   * `fn` belongs to it. If the sidecar is unreachable the run continues offline (`run.offline`, a warning
   * logged) — guarding is `withTool`'s business and follows `guardFailureMode` there.
   */
  async withRun<T>(input: RunInput, fn: (run: Run) => T | Promise<T>): Promise<T> {
    const live = this.live;
    if (live === undefined) {
      const run: Run = { id: `disabled_run_${++this.localIds}`, sessionId: input.sessionId ?? null, status: "completed", startedAt: new Date().toISOString() };
      return withRunContext({ runId: run.id }, () => fn(run));
    }
    const sessionId = resolveSessionId(input.sessionId);
    const run = await this.offlineOnTransportFailure(
      () => this.createRun(input, sessionId),
      (): Run => ({ id: `offline_run_${randomUUID()}`, sessionId: sessionId ?? null, status: "running", startedAt: new Date().toISOString(), offline: true }),
      "run",
    );
    return withRunContext({ runId: run.id, sessionId: run.sessionId ?? sessionId }, async () => {
      let result: T;
      try {
        result = await fn(run);
      } catch (error) {
        live.timeline.record((env) => errorEvent(env, error), run.id);
        await this.finishRun(run, "failed");
        throw error;
      }
      await this.finishRun(run, "completed");
      return result;
    });
  }

  /** Runs `fn` inside a session (POST /v1/sessions … /complete); runs started in it become its child runs. */
  async withSession<T>(input: SessionInput, fn: (session: Session) => T | Promise<T>): Promise<T> {
    const live = this.live;
    if (live === undefined) {
      const session: Session = { id: `disabled_session_${++this.localIds}`, status: "completed", startedAt: new Date().toISOString() };
      return withRunContext({ sessionId: session.id }, () => fn(session));
    }
    const session = await this.offlineOnTransportFailure(
      () => this.createSession(input),
      (): Session => ({ id: `offline_session_${randomUUID()}`, status: "running", startedAt: new Date().toISOString(), offline: true }),
      "session",
    );
    return withRunContext({ sessionId: session.id }, async () => {
      let result: T;
      try {
        result = await fn(session);
      } catch (error) {
        live.timeline.record((env) => errorEvent(env, error), undefined);
        await this.finishSession(session, "failed");
        throw error;
      }
      await this.finishSession(session, "completed");
      return result;
    });
  }

  /**
   * POST /v1/guardrails/templates/{key}/enable. Changing the policy needs the admin key (`apiKey` set to
   * APIE_ADMIN_KEY): with the agent key the sidecar answers 403 `admin_required`. A template already enabled
   * keeps its settings (its decision is never loosened by this call).
   */
  async enableGuardrailTemplate(key: string): Promise<{ id: string; key: string; status: string }> {
    if (this.live === undefined) return { id: "disabled", key, status: "disabled" };
    const path = `/v1/guardrails/templates/${encodeURIComponent(key)}/enable`;
    return this.request("POST", path, {}, (raw, what) => wire.parseAnswer(EnableTemplateAnswer, raw, what));
  }

  /** Sends every queued event; resolves when the queue is empty or the sidecar stays unreachable (see `queueDiagnostics`). */
  async flush(): Promise<void> {
    await this.live?.timeline.flush();
  }

  /**
   * Ends the client: approval waits in progress end (their approvals cancelled, `approval_cancelled`
   * thrown), queued events are flushed for at most `timeoutMs` (default: the config's `timeoutMs`), then
   * the WebSocket and pooled connections are closed and timers cleared — the process can exit. Idempotent.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      const live = this.live;
      if (live === undefined) return;
      live.waiter.abortAll();
      // Let the aborted waits unwind: their cancellations start and their last events are queued.
      await new Promise((resolve) => setImmediate(resolve));
      live.timeline.stop();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs ?? this.config.timeoutMs)));
      await Promise.race([Promise.allSettled([...this.cancellations]).then(() => live.timeline.flush()), deadline]);
      clearTimeout(timer);
      live.timeline.close();
      live.stream.close();
      live.http.close();
    })();
    return this.closing;
  }

  /** The event queue's counters: queued, sent, dropped, rejected, retries, last error. */
  queueDiagnostics(): QueueDiagnostics {
    return this.live?.timeline.diagnostics() ?? { ...EMPTY_DIAGNOSTICS };
  }

  private connect(config: ResolvedConfig): Live {
    const http = new HttpClient({ baseUrl: config.baseUrl!, apiKey: config.apiKey!, headers: config.headers, timeoutMs: config.timeoutMs });
    const guard = new GuardClient(http, {
      agentKey: config.agent.key,
      mode: config.mode,
      guardTimeoutMs: config.guardTimeoutMs,
      guardFailureMode: config.guardFailureMode,
      logger: this.logger,
      redactor: config.redactKeys.length > 0 ? createRedactor({ redactKeys: config.redactKeys }) : undefined,
    });
    const timeline = new Timeline(config, http, this.logger, () => this.registration, () => void this.shutdown());
    const stream = new SidecarStream(SidecarStream.urlFor(config.baseUrl!), { ...config.headers, authorization: `Bearer ${config.apiKey!}` });
    http.useStream(stream);
    const waiter = new ApprovalWaiter(http, stream, { connectTimeoutMs: Math.max(config.guardTimeoutMs, 1_000), requestTimeoutMs: config.timeoutMs });
    return { http, guard, timeline, stream, waiter };
  }

  private toolCallDeps(live: Live): ToolCallDeps {
    return {
      evaluate: (input) => live.guard.evaluate(input),
      waitForApproval: (id, timeoutMs) => live.waiter.wait(id, timeoutMs),
      cancelApproval: (id, reason) => {
        const done = this.approvals.cancel(id, reason).catch((error: unknown) => this.logger.warn(`could not cancel approval ${id}: ${String(error)}`));
        this.cancellations.add(done);
        return done.finally(() => this.cancellations.delete(done));
      },
      getApproval: (id) => live.waiter.get(id).catch(() => undefined),
      record: (build, runId) => live.timeline.record(build, runId),
      kickFlush: () => void live.timeline.flush(),
      logger: this.logger,
      approvalTimeoutMs: this.config.approvalTimeoutMs,
    };
  }

  private async register(): Promise<Registration> {
    const registration = await this.request("POST", "/v1/agents/identify", wire.identifyBody(this.config), wire.parseRegistration);
    if (this.config.capabilities.length > 0) await this.declareFor(registration.agentId, this.config.capabilities);
    this.registration = registration;
    return registration;
  }

  private async declareFor(agentId: string, capabilities: readonly CapabilityInput[]): Promise<Record<string, unknown>> {
    return this.request("POST", `/v1/agents/${encodeURIComponent(agentId)}/capabilities/declare`, wire.capabilitiesBody(capabilities), asRecord);
  }

  private async createRun(input: RunInput, sessionId: string | undefined): Promise<Run> {
    const registration = await this.ready();
    const identity = this.identity(registration);
    if (sessionId !== undefined) {
      return this.request("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/runs`, wire.createChildRunBody(identity, input), wire.parseRun);
    }
    return this.request("POST", "/v1/runs", wire.createRunBody(identity, input), wire.parseRun);
  }

  private async createSession(input: SessionInput): Promise<Session> {
    const identity = this.identity(await this.ready());
    return this.request("POST", "/v1/sessions", wire.createSessionBody(identity, input), wire.parseSession);
  }

  private async completeRun(runId: string, completion: RunCompletion): Promise<void> {
    if (this.live === undefined) return;
    await this.flush();
    await this.request("POST", `/v1/runs/${encodeURIComponent(runId)}/complete`, {
      status: completion.status ?? "completed",
      output_summary: completion.outputSummary ?? null,
      metadata: completion.metadata ?? null,
    });
    this.live.timeline.forgetRun(runId);
  }

  /** Completion after `withRun`: never throws (the callback's outcome is what the caller gets). */
  private async finishRun(run: Run, status: "completed" | "failed"): Promise<void> {
    try {
      if (run.offline) await this.flush();
      else await this.completeRun(run.id, { status });
    } catch (error) {
      this.logger.warn(`could not complete run ${run.id}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.live?.timeline.forgetRun(run.id);
    }
  }

  private async finishSession(session: Session, status: "completed" | "failed"): Promise<void> {
    try {
      await this.flush();
      if (!session.offline) await this.request("POST", `/v1/sessions/${encodeURIComponent(session.id)}/complete`, { status });
    } catch (error) {
      this.logger.warn(`could not complete session ${session.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async offlineOnTransportFailure<T>(create: () => Promise<T>, offline: () => T, what: string): Promise<T> {
    try {
      return await create();
    } catch (error) {
      // Unreachable, or the sidecar failing (5xx): the run goes on offline; its guard calls still ask the sidecar.
      const sidecarFailed = error instanceof ApieError && (error.cause instanceof TransportError || (error.status ?? 0) >= 500);
      if (!sidecarFailed) throw error;
      this.logger.warn(`could not start a ${what} (${error.message}); continuing offline`);
      return offline();
    }
  }

  private identity(registration: Registration): wire.Identity {
    return {
      agentKey: this.config.agent.key,
      agentId: registration.agentId,
      agentVersionId: registration.agentVersionId,
      environment: this.config.runtime.environment,
    };
  }

  /** One public request, its answer parsed: any failure becomes an ApieError. */
  private request(method: Method, path: string, body: unknown): Promise<unknown>;
  private request<T>(method: Method, path: string, body: unknown, parse: (raw: unknown, what: string) => T): Promise<T>;
  private request(method: Method, path: string, body: unknown, parse?: (raw: unknown, what: string) => unknown): Promise<unknown> {
    const live = this.requireLive();
    const what = `${method} ${path}`;
    return publicCall(what, async () => {
      const raw = await live.http.request(method, path, body);
      return parse ? parse(raw, what) : raw;
    });
  }

  private requireLive(): Live {
    if (this.live === undefined) throw new ApieError("invalid_config", "this Apie client is disabled (enabled: false)", { field: "enabled" });
    return this.live;
  }

  private disabledRegistration(): Registration {
    return {
      agentId: `disabled_agent_${this.config.agent.key}`,
      agentVersionId: "disabled_version",
      workspaceId: "disabled_workspace",
      configHash: "disabled",
      created: false,
      versionCreated: false,
      ingestUrl: this.config.baseUrl ?? "",
      recommendedNextStep: "Enable Apie to send telemetry.",
      dashboardUrl: "",
    };
  }
}

/** Runs `fn`; any failure is rethrown as an ApieError (transport failures as `http_error` with the cause). */
async function publicCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toApieError(error, what);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function jsonOrUndefined(value: unknown): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
