import { z } from "zod";
import { GuardEngine, isPlainAllow, type GuardSnapshot } from "../guard/engine";
import { CapabilitySchema, ModeSchema, RiskLevelSchema } from "../guard/policySchema";
import { createRedactor } from "../guard/redact";
import type { Mode } from "../guard/types";
import { MAX_IDENT_CHARS } from "../protocol/wire";
import { isRetryable, type HttpClient } from "../sdk/http";
import type { SidecarStream } from "../sdk/stream";
import type { ApieLogger, GuardInput } from "../sdk/types";
import { ReportOutbox, type CallOutcome, type WaitingReport } from "./reportOutbox";
import { requestWith, RequestTemplates } from "./requestTemplates";

/**
 * The MCP proxy's fast path: a replica of the sidecar's guard engine, in the proxy's own process, that decides
 * the calls nothing stands in the way of — a plain allow, no guardrail matched, no drift — without the round
 * trip to the sidecar (a fourth process on two cores cost ~300 µs per call, bench/mcp.bench.ts). Anything
 * else (warn, block, approval, would-block, a broken policy) is still asked of the sidecar.
 *
 * Same answers as the sidecar: the replica is built from the sidecar's own snapshot of its guard state (GET
 * /v1/guardrails/snapshot: the policy text it loaded, the workspace mode, this agent's declarations, the tool
 * definitions) and decides on the same evaluate body (mapped by `trustedGuardRequest`, equal to the schema's
 * parse). It is used only while it is current: the stream is up and the version it was built from is the
 * latest the sidecar announced (`hello`, then a `guard` frame on every change, which makes it fetch a new
 * snapshot). Every decision it makes is reported (POST /v1/guardrails/decisions, through the ReportOutbox:
 * batched, off the call's path, with the call's outcome; what the log then holds, and when, is said there);
 * the sidecar decides it again under the same id and journals its own answer, flagged `diverged` if the
 * replica was behind — possible only in the instant between a change and its frame arriving.
 *
 * A report always fits what the sidecar takes: arguments too large for it go as size + SHA-256 + preview
 * (largeArguments.ts), so no call runs whose decision the sidecar would refuse for its size. A report the
 * sidecar refuses anyway (an error answer, not unreachability) turns the fast path off for the rest of the
 * process: every later call waits for the sidecar's own decision, which is journaled before it runs.
 */

const SnapshotSchema = z.object({
  version: z.int(),
  policy_state: z.enum(["ok", "none", "stale", "invalid"]),
  policy_text: z.string().nullable(),
  paths: z
    .object({ workspace_root: z.string().nullable(), home_dir: z.string().nullable(), temp_dirs: z.array(z.string()) })
    .optional(),
  workspace_mode: ModeSchema.nullable(),
  agent_key: z.string(),
  capabilities: z.array(CapabilitySchema),
  tools: z.array(
    z.object({
      name: z.string(),
      provider: z.string().optional(),
      description: z.string().optional(),
      actionTypes: z.array(z.string()).readonly().optional(),
      resourceTypes: z.array(z.string()).readonly().optional(),
      riskLevel: RiskLevelSchema.optional(),
    }),
  ),
});
// Contract check: what the sidecar sends parses here.
const _snapshotParses = (snapshot: GuardSnapshot): z.input<typeof SnapshotSchema> => snapshot;
void _snapshotParses;

export interface LocalGuardOptions {
  agentKey: string;
  mode: Mode;
  redactKeys: readonly string[];
  logger: ApieLogger;
}

export class LocalGuard {
  private replica: GuardEngine | undefined;
  private replicaVersion = -1;
  private announcedVersion = -2;
  private fetching: Promise<void> | undefined;
  private readonly reports: ReportOutbox;
  private readonly templates: RequestTemplates;
  private readonly stopListening: () => void;
  private lastError: string | undefined;
  /** Why the fast path is off for good: the sidecar refused a report (its decisions are not in the log). */
  private refused: string | undefined;

  /** `http` sends over `stream` (HttpClient.useStream), which also connects it. */
  constructor(
    private readonly http: HttpClient,
    private readonly stream: SidecarStream,
    private readonly options: LocalGuardOptions,
  ) {
    const redactor = options.redactKeys.length > 0 ? createRedactor({ redactKeys: [...options.redactKeys] }) : undefined;
    this.templates = new RequestTemplates({ agentKey: options.agentKey, mode: options.mode, redactor });
    this.reports = new ReportOutbox(http, (error) => this.reportFailed(error));
    stream.subscribe(["guard"]);
    this.stopListening = stream.onFrame((frame) => {
      const version = frame.type === "hello" ? frame.guard_version : frame.type === "guard" ? frame.version : undefined;
      if (typeof version !== "number") return;
      this.announcedVersion = version;
      if (version !== this.replicaVersion) void this.refresh();
    });
  }

  /**
   * The replica's decision when it may make it (a plain allow while current); `"not_plain"` when it decided
   * and the answer is the sidecar's to give (a guardrail matched, drift…); undefined when it could not decide
   * (not current, a grant to redeem). Synchronous, so a call decided here waits for nothing.
   */
  decide(input: GuardInput & { runId?: string | undefined }): { decisionId: string; report: WaitingReport } | "not_plain" | undefined {
    const replica = this.replica;
    if (input.approvalId !== undefined) return undefined; // redeeming a grant is the sidecar's business
    if (this.refused !== undefined) return undefined;
    // The one part of the body a call chooses that the sidecar's schema bounds (the rest is the config's, or
    // arguments, which have no bound but depth and size, both handled): a report the sidecar would refuse as
    // invalid would take its whole batch with it. Such a call is the sidecar's to refuse.
    if ((input.tool?.name.length ?? 0) > MAX_IDENT_CHARS) return undefined;
    if (replica === undefined || this.replicaVersion !== this.announcedVersion || !this.stream.callsAvailable) {
      this.stream.warm();
      return undefined;
    }
    // The evaluate body the sidecar would get, as the request it would parse from it (requestTemplates.ts).
    const template = this.templates.of(input);
    const decision = replica.evaluate(requestWith(template, input.arguments));
    if (!isPlainAllow(decision)) return "not_plain";
    // A plain allow: nothing else about it matters to the caller (the sidecar journals the full decision).
    return { decisionId: decision.decision_id, report: this.reports.decided(decision.decision_id, template.opening, input.arguments) };
  }

  /**
   * The outcome of a call this replica decided. True when it goes with the decision's report (the sidecar
   * journals the call's event); false when the report already went, and the caller records the outcome itself.
   */
  settle(report: WaitingReport, outcome: CallOutcome): boolean {
    return this.reports.settle(report, outcome);
  }

  /** Sends what is still to be reported; resolves when sent or given up (see EventQueue). */
  flush(): Promise<void> {
    return this.reports.flush();
  }

  close(): void {
    this.stopListening();
    this.reports.close();
  }

  /** Fetches the snapshot of the latest announced version (one fetch at a time; again if it moved meanwhile). */
  private refresh(): Promise<void> {
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
      if (this.announcedVersion !== this.replicaVersion && this.stream.callsAvailable) void this.refresh();
    });
    return this.fetching;
  }

  private async fetch(): Promise<void> {
    try {
      const raw = await this.http.request("GET", `/v1/guardrails/snapshot?agent_key=${encodeURIComponent(this.options.agentKey)}`);
      const snapshot = SnapshotSchema.parse(raw) as GuardSnapshot;
      this.replica = GuardEngine.replica(snapshot);
      this.replicaVersion = snapshot.version;
    } catch (error) {
      this.replica = undefined;
      this.replicaVersion = -1;
      this.warnOnce(`the local fast path is off, every call asks the sidecar: ${(error as Error).message}`);
    }
  }

  /**
   * A batch of reports that did not reach the log. Unreachable (its retries spent): it stays queued for the next
   * flush, and while the stream is down no call is decided here anyway. Refused (the sidecar answered an
   * error, e.g. a 400): those decisions will never be journaled, so the replica decides nothing more — every
   * later call waits for the sidecar's own decision, journaled before it runs.
   */
  private reportFailed(error: unknown): void {
    if (isRetryable(error)) {
      this.warnOnce(`could not report local decisions: ${(error as Error).message}`);
      return;
    }
    this.refused ??= (error as Error).message;
    this.warnOnce(`the sidecar refused a report of local decisions (${this.refused}); the local fast path is off, every call asks the sidecar`);
  }

  private warnOnce(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.logger.warn(message);
  }
}
