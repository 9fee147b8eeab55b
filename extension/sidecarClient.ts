import type { ApprovalScope } from "../sidecar/protocol/approvals";
import * as vscode from "vscode";
// Types only at load: the library itself (the largest part of the bundle) is loaded by start(), after
// activation has returned (vscode-eslint's lazy activation), so it never counts against activation time.
import type { ErrorHandler, LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import type { Mode } from "../sidecar/guard/types";
import {
  GetRunRequest,
  RecordsNotification,
  ResolveApprovalRequest,
  SetModeRequest,
  SnapshotRequest,
  StatusNotification,
  type ResolveApprovalResult,
  type SidecarInitOptions,
  type Snapshot,
} from "../sidecar/protocol/lsp";
import type { RunView } from "../sidecar/protocol/runs";
import type { RequestType, RequestType0 } from "vscode-jsonrpc";
import type { StreamRecord } from "../sidecar/protocol/stream";
import type { SidecarHealth } from "./model/presenters";

type CloseActionValue = typeof import("./languageClient").CloseAction.DoNotRestart;
type ErrorActionValue = typeof import("./languageClient").ErrorAction.Continue;

/** Restarts after a crash wait 1 s, 2 s, 4 s … up to this; a run of this many crashes stops retrying. */
const MAX_BACKOFF_MS = 30_000;
const MAX_CRASHES_IN_A_ROW = 5;

/**
 * The sidecar process, started through vscode-languageclient over Node IPC (module `dist/sidecar.js`). The
 * one connection carries LSP for the config files and the private channel (`sidecar/protocol/lsp.ts`).
 * A crash restarts it with backoff; every (re)start is followed by a fresh snapshot, so views never show a
 * state from before the crash. Requests made while it is down fail fast with a clear message.
 */
export class SidecarClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly onSnapshotEmitter = new vscode.EventEmitter<Snapshot>();
  private readonly onRecordsEmitter = new vscode.EventEmitter<readonly StreamRecord[]>();
  private readonly onStatusEmitter = new vscode.EventEmitter<{ mode: Mode; policy: Snapshot["policy"] }>();
  private readonly onHealthEmitter = new vscode.EventEmitter<SidecarHealth>();
  private crashes = 0;
  private healthValue: SidecarHealth = "stopped";
  private restartTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> = Promise.resolve();

  readonly onSnapshot = this.onSnapshotEmitter.event;
  /** Live records, one event per `apie/records` (a batch, in log order). */
  readonly onRecords = this.onRecordsEmitter.event;
  readonly onStatus = this.onStatusEmitter.event;
  readonly onHealth = this.onHealthEmitter.event;

  constructor(
    private readonly serverModule: string,
    private readonly initOptions: () => SidecarInitOptions,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get health(): SidecarHealth {
    return this.healthValue;
  }

  /**
   * Starts (or restarts) the sidecar; resolves once the snapshot arrived. Never throws: failures are logged.
   * Calls are serialized (a restart command during a start waits for it), so there is never a second client.
   */
  start(): Promise<void> {
    this.starting = this.starting
      .then(() => this.startNow())
      .catch((error: unknown) => {
        this.log.error(`Apie sidecar failed to start: ${String(error)}`);
        this.setHealth("stopped");
      });
    return this.starting;
  }

  private async startNow(): Promise<void> {
    await this.stop();
    this.setHealth(this.crashes > 0 ? "restarting" : "starting");
    // A separate bundle next to this one (esbuild.mjs); see extension/languageClient.ts.
    const { LanguageClient, State, TransportKind, CloseAction, ErrorAction } = require("./languageClient.js") as typeof import("./languageClient");
    const serverOptions: ServerOptions = {
      run: { module: this.serverModule, transport: TransportKind.ipc },
      debug: { module: this.serverModule, transport: TransportKind.ipc },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", pattern: "**/apie.policy.json" },
        { scheme: "file", pattern: "**/apie.mcp.json" },
      ],
      initializationOptions: this.initOptions(),
      outputChannel: this.log,
      errorHandler: this.errorHandler(CloseAction.DoNotRestart, ErrorAction.Continue),
    };
    const client = new LanguageClient("apie", "Apie Sidecar", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped && this.client === client) this.setHealth("stopped");
    });
    try {
      await client.start();
      client.onNotification(RecordsNotification.method, (params: { records: StreamRecord[] }) => this.onRecordsEmitter.fire(params.records));
      client.onNotification(StatusNotification.method, (status: { mode: Mode; policy: Snapshot["policy"] }) => this.onStatusEmitter.fire(status));
      const snapshot = await this.request(SnapshotRequest);
      this.crashes = 0;
      this.setHealth("running");
      this.onSnapshotEmitter.fire(snapshot);
    } catch (error) {
      this.log.error(`Apie sidecar failed to start: ${String(error)}`);
      this.setHealth("stopped");
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) await client.stop(2000).catch((error: unknown) => this.log.warn(`stopping the sidecar: ${String(error)}`));
  }

  setMode(mode: Mode): Promise<{ mode: Mode }> {
    return this.request(SetModeRequest, { mode });
  }

  resolveApproval(id: string, status: "approved" | "rejected", reason?: string, scope?: ApprovalScope): Promise<ResolveApprovalResult> {
    return this.request(ResolveApprovalRequest, { id, status, ...(reason ? { reason } : {}), ...(scope ? { scope } : {}) });
  }

  getRun(runId: string): Promise<{ run: RunView; records: StreamRecord[] } | null> {
    return this.request(GetRunRequest, { runId });
  }

  snapshot(): Promise<Snapshot> {
    return this.request(SnapshotRequest);
  }

  /**
   * Sends by method name, params as one object. The message types (protocol/lsp.ts) are built with this
   * bundle's vscode-jsonrpc while the client lives in dist/languageClient.js with its own copy; passing the
   * type objects across would hit the library's identity checks ("Unknown parameter structure").
   */
  private request<P, R>(type: RequestType<P, R, void> | RequestType0<R, void>, params?: P): Promise<R> {
    const client = this.running();
    return (params === undefined ? client.sendRequest(type.method) : client.sendRequest(type.method, params)) as Promise<R>;
  }

  dispose(): void {
    void this.stop();
    this.onSnapshotEmitter.dispose();
    this.onRecordsEmitter.dispose();
    this.onStatusEmitter.dispose();
    this.onHealthEmitter.dispose();
  }

  private running(): LanguageClient {
    if (this.client === undefined || !this.client.isRunning()) throw new Error("the Apie sidecar is not running (Apie: Restart Sidecar)");
    return this.client;
  }

  private setHealth(health: SidecarHealth): void {
    if (health === this.healthValue) return;
    this.healthValue = health;
    this.onHealthEmitter.fire(health);
  }

  /** The library's own restart has no backoff; ours waits longer after each crash and gives up after a run. */
  private errorHandler(doNotRestart: CloseActionValue, continueAction: ErrorActionValue): ErrorHandler {
    return {
      error: () => ({ action: continueAction }),
      closed: () => {
        this.crashes++;
        if (this.crashes > MAX_CRASHES_IN_A_ROW) {
          this.log.error(`Apie sidecar crashed ${this.crashes - 1} times in a row; not restarting (Apie: Restart Sidecar)`);
          this.setHealth("stopped");
          return { action: doNotRestart, handled: true };
        }
        const delay = Math.min(1000 * 2 ** (this.crashes - 1), MAX_BACKOFF_MS);
        this.log.warn(`Apie sidecar stopped unexpectedly; restarting in ${delay} ms`);
        this.setHealth("restarting");
        this.restartTimer = setTimeout(() => void this.start(), delay);
        return { action: doNotRestart, handled: true };
      },
    };
  }
}
