import path from "node:path";
import { isAlive, locateSidecar, readDiscovery, SidecarError, type SidecarLocation } from "../cli/sidecarConnection";
import { DEFAULT_STATE_DIR, DISCOVERY_FILE } from "../protocol/discovery";
import { Apie } from "../sdk/apie";
import { HttpClient } from "../sdk/http";
import { SidecarStream } from "../sdk/stream";
import type { ApieLogger, Registration } from "../sdk/types";
import type { McpServerConfig } from "./configSchema";
import { LocalGuard } from "./localGuard";
import { OutcomeLog } from "./outcomes";

/**
 * The proxy's one connection to the sidecar: one `Apie` client (the config's agentKey/agentName, mode,
 * guardFailureMode, approvalTimeoutMs, redactKeys), its run, and the outcome log.
 *
 * Where the sidecar is: `APIE_BASE_URL` + `APIE_API_KEY`, else the discovery file `.apie/sidecar.json`
 * next to apie.mcp.json, else in the working directory. An MCP host may start the proxy before the editor
 * starts the sidecar, so a proxy that found none keeps looking (at most once a second, when a call needs
 * it); until then every call is decided by `guardFailureMode`.
 *
 * The run: `--run-id`/`APIE_RUN_ID` is used as given (neither started nor completed here); otherwise the
 * proxy starts one run (`runs.start`) when it connects and completes it when it stops.
 */

export interface Connection {
  apie: Apie;
  outcomes: OutcomeLog;
  /** Decides plain allows in-process while its replica is current (see LocalGuard). */
  local: LocalGuard;
  /** The run tool calls belong to; waits at most the guard deadline for the run being started. */
  runId(): Promise<string | undefined>;
  /** The run's id when it is known without waiting (given, or started), else undefined. */
  runIdNow(): string | undefined;
}

export type LinkState = { ok: true; connection: Connection } | { ok: false; reason: string };

export interface SidecarLinkOptions {
  config: McpServerConfig;
  /** Explicit run id (`--run-id`, `APIE_RUN_ID`). */
  runId: string | undefined;
  /** Folders that may hold `sidecar.json`, in order. */
  stateDirs: readonly string[];
  env: NodeJS.ProcessEnv;
  logger: ApieLogger;
  /** Shown in the run's input summary. */
  upstreamLabel: string;
}

const RELOCATE_INTERVAL_MS = 1_000;
const RUN_RETRY_INTERVAL_MS = 5_000;

export class SidecarLink {
  private live: LiveConnection | undefined;
  private lastAttempt = 0;
  private lastReason = "not looked for yet";
  private locating: Promise<LinkState> | undefined;
  private readonly connectedListeners: ((connection: Connection) => void)[] = [];

  constructor(private readonly options: SidecarLinkOptions) {}

  /** Looks for the sidecar now (the first call's guard should not pay for it). */
  start(): void {
    void this.state();
  }

  /** Called once, with the connection, when the link first connects. */
  onConnected(listener: (connection: Connection) => void): void {
    this.connectedListeners.push(listener);
  }

  /** The live connection, without waiting: undefined while there is none or it is being looked for. */
  connectionNow(): Connection | undefined {
    return this.live;
  }

  /** The connection, or why there is none. */
  state(): Promise<LinkState> {
    if (this.live !== undefined) return Promise.resolve({ ok: true, connection: this.live });
    if (this.locating !== undefined) return this.locating;
    if (Date.now() - this.lastAttempt < RELOCATE_INTERVAL_MS) return Promise.resolve({ ok: false, reason: this.lastReason });
    this.lastAttempt = Date.now();
    this.locating = this.locate().finally(() => (this.locating = undefined));
    return this.locating;
  }

  /** Completes the run the proxy started (if any), flushes outcomes, shuts the client down. Idempotent. */
  async close(status: "completed" | "failed"): Promise<void> {
    const live = this.live;
    this.live = undefined;
    this.lastAttempt = Number.POSITIVE_INFINITY;
    await live?.close(status);
  }

  private async locate(): Promise<LinkState> {
    const { env, stateDirs } = this.options;
    let location: SidecarLocation | undefined;
    let reason = "";
    if (env.APIE_BASE_URL?.trim()) {
      try {
        location = await locateSidecar({ need: "agent", env });
      } catch (error) {
        if (!(error instanceof SidecarError)) throw error;
        reason = error.message;
      }
    } else {
      const problems: string[] = [];
      for (const stateDir of stateDirs) {
        const found = await readDiscovery(stateDir).catch((error: unknown) => (problems.push((error as Error).message), undefined));
        if (found === undefined) continue;
        if (isAlive(found.discovery.pid)) {
          location = { baseUrl: found.discovery.baseUrl, key: found.discovery.apiKey, keyKind: "agent", source: found.file, pid: found.discovery.pid };
          break;
        }
        problems.push(`the sidecar recorded in ${found.file} (pid ${found.discovery.pid}) is not running`);
      }
      const places = stateDirs.map((dir) => path.join(dir, DISCOVERY_FILE)).join(" or ");
      reason = problems.length > 0 ? problems.join("; ") : `APIE_BASE_URL is not set and there is no ${places}`;
    }
    if (location === undefined) {
      const message = `no sidecar found: ${reason}`;
      if (message !== this.lastReason) this.options.logger.warn(`${message}; tool calls follow guardFailureMode (${this.options.config.guardFailureMode}) until one is`);
      this.lastReason = message;
      return { ok: false, reason: message };
    }
    try {
      this.live = new LiveConnection(this.options, location);
    } catch (error) {
      // invalid_config from the SDK (e.g. a broken apie.config.json in the working directory).
      this.lastReason = (error as Error).message;
      this.options.logger.warn(this.lastReason);
      return { ok: false, reason: this.lastReason };
    }
    this.options.logger.warn(`guarding through the sidecar at ${location.baseUrl} (from ${location.source})`);
    for (const listener of this.connectedListeners) listener(this.live);
    return { ok: true, connection: this.live };
  }
}

class LiveConnection implements Connection {
  readonly apie: Apie;
  readonly outcomes: OutcomeLog;
  readonly local: LocalGuard;
  /** The proxy's own channel (outcomes, reported decisions, snapshots): HTTP, or call frames on `stream`. */
  private readonly http: HttpClient;
  private readonly stream: SidecarStream;
  private run: Promise<string | undefined> | undefined;
  private runFailedAt = 0;
  private startedRunId: string | undefined;

  constructor(
    private readonly options: SidecarLinkOptions,
    location: SidecarLocation,
  ) {
    const { config, logger } = options;
    this.apie = new Apie({
      baseUrl: location.baseUrl,
      apiKey: location.key,
      agent: { key: config.agentKey, ...(config.agentName ? { name: config.agentName } : {}) },
      mode: config.mode,
      guardFailureMode: config.guardFailureMode,
      approvalTimeoutMs: config.approvalTimeoutMs,
      redactKeys: config.redactKeys,
      runtime: { framework: "mcp-proxy", ...(config.environment ? { environment: config.environment } : {}) },
      logger,
    });
    const { baseUrl, apiKey, headers, timeoutMs } = this.apie.config;
    this.http = new HttpClient({ baseUrl: baseUrl!, apiKey: apiKey!, headers, timeoutMs });
    this.stream = new SidecarStream(SidecarStream.urlFor(baseUrl!), { ...headers, authorization: `Bearer ${apiKey!}` });
    this.http.useStream(this.stream);
    this.outcomes = new OutcomeLog(this.apie, this.http, logger);
    this.local = new LocalGuard(this.http, this.stream, { agentKey: config.agentKey, mode: this.apie.config.mode, redactKeys: config.redactKeys, logger });
    this.apie.ready().then(
      (registration: Registration) => this.outcomes.registered(registration),
      () => undefined, // reported by the run start below, or by the guard
    );
    if (options.runId === undefined) this.run = this.startRun();
  }

  runIdNow(): string | undefined {
    return this.options.runId ?? this.startedRunId;
  }

  runId(): Promise<string | undefined> {
    if (this.options.runId !== undefined) return Promise.resolve(this.options.runId);
    if (this.startedRunId !== undefined) return Promise.resolve(this.startedRunId);
    if (this.run === undefined && Date.now() - this.runFailedAt > RUN_RETRY_INTERVAL_MS) this.run = this.startRun();
    const run = this.run ?? Promise.resolve(undefined);
    // A slow run start must not hold calls past the guard's own deadline.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.apie.config.guardTimeoutMs)));
    return Promise.race([run, deadline]).finally(() => clearTimeout(timer));
  }

  async close(status: "completed" | "failed"): Promise<void> {
    if (this.run !== undefined) await Promise.race([this.run, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    const runId = this.startedRunId;
    try {
      // The sidecar may be gone: outcomes get a second, not the queue's whole retry schedule.
      await Promise.race([Promise.all([this.outcomes.flush(), this.local.flush()]), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      if (runId !== undefined) await this.apie.runs.complete(runId, { status });
    } catch (error) {
      this.options.logger.warn(`could not complete run ${runId}: ${(error as Error).message}`);
    } finally {
      this.outcomes.close();
      this.local.close();
      this.stream.close();
      this.http.close();
      await this.apie.shutdown({ timeoutMs: 2_000 });
    }
  }

  private startRun(): Promise<string | undefined> {
    const { config, upstreamLabel } = this.options;
    return this.apie.runs
      .start({
        inputSummary: `MCP proxy for ${config.serverName} (${upstreamLabel})`,
        environment: config.environment,
        metadata: { mcp_server: config.serverName, upstream: upstreamLabel, pid: process.pid },
      })
      .then(
        (run) => {
          this.startedRunId = run.id;
          return run.id;
        },
        (error: unknown) => {
          this.options.logger.warn(`could not start a run: ${(error as Error).message}`);
          this.run = undefined;
          this.runFailedAt = Date.now();
          return undefined;
        },
      );
  }
}

/** Where to look for `.apie/sidecar.json`: next to the config file, then in the working directory. */
export function stateDirsFor(configFile: string, cwd: string = process.cwd()): string[] {
  const dirs = [path.join(path.dirname(path.resolve(configFile)), DEFAULT_STATE_DIR), path.join(path.resolve(cwd), DEFAULT_STATE_DIR)];
  return [...new Set(dirs)];
}
