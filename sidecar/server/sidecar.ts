import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { GuardEngine } from "../guard/engine";
import { hostPathContext } from "../guard/hostPaths";
import { DISCOVERY_FILE } from "../protocol/discovery";
import type { Discovery } from "../protocol/v1";
import { EVENT_LOG_FILE, type RecoveryReport } from "../store/eventLog";
import { Journal } from "../store/journal";
import { ApprovalBroker } from "./approvalBroker";
import { createSidecarHttpServer, localPort } from "./http";
import { PolicyWatcher } from "./policyWatcher";
import { StreamHub } from "./streamHub";
import { RouteDispatcher } from "./dispatch";
import { IdleTrim } from "./idleTrim";
import { lockStateDir } from "./stateDirLock";
import type { SidecarServices } from "./routing";
import type { Mode } from "../guard/types";

export interface SidecarOptions {
  workspace: string;
  /** 0 picks any free port. */
  port: number;
  /** Where the discovery file and the event log live; default <workspace>/.apie. */
  stateDir: string;
  log: (line: string) => void;
  /** The editor's `apie.mode` setting: overrides the journaled mode and the policy's own. */
  mode?: Mode | undefined;
  /** How long a client may take to send one whole request; default DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number | undefined;
}

export interface RunningSidecar {
  discovery: Discovery;
  discoveryFile: string;
  recovery: RecoveryReport;
  /** For the editor's private channel (sidecar/lsp), which works on the same state as the HTTP API. */
  services: SidecarServices;
  policy: PolicyWatcher;
  /** Stops accepting requests, ends waits, flushes the log to disk, removes the discovery file. */
  close(): Promise<void>;
}

/** Start the headless sidecar: policy loaded and watched, HTTP API on 127.0.0.1, discovery file written. */
export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const startedAt = Date.now();
  await prepareStateDir(options.stateDir);
  const lock = await lockStateDir(options.stateDir);
  try {
    return await startLocked(options, startedAt, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startLocked(options: SidecarOptions, startedAt: number, lock: { release(): Promise<void> }): Promise<RunningSidecar> {
  // Which runs have read a secret is the journal's projection (replayed at start, so it survives a restart).
  let journal: Journal | undefined;
  const paths = hostPathContext(options.workspace);
  const engine = new GuardEngine({
    paths,
    runTaint: (runId) => journal?.state.runTaints.get(runId),
  });
  const policy = new PolicyWatcher(engine, options.workspace, options.log);
  await policy.start();

  const opened = await Journal.open(path.join(options.stateDir, EVENT_LOG_FILE));
  journal = opened.journal;
  const { recovery } = opened;
  for (const problem of recovery.problems) options.log(`event log: ${problem}`);
  restoreEngine(engine, journal);
  if (options.mode !== undefined) engine.setWorkspaceMode(options.mode);
  const approvals = new ApprovalBroker(journal, Date.now, paths.homeDir);
  approvals.restore();

  const keys = { apiKey: `apie_${randomBytes(24).toString("base64url")}`, adminKey: `apie_admin_${randomBytes(24).toString("base64url")}` };
  let baseUrl = "";
  const services: SidecarServices = { engine, journal, approvals, keys, workspace: options.workspace, startedAt, baseUrl: () => baseUrl };
  const trim = new IdleTrim({ onTrim: ({ freedBytes, ms }) => options.log(`idle: gave back ${(freedBytes / 1048576).toFixed(0)} MB of heap (${ms.toFixed(0)} ms)`) });
  const routes = new RouteDispatcher(services, () => trim.activity());
  const server = createSidecarHttpServer(routes, keys, { requestTimeoutMs: options.requestTimeoutMs });
  const hub = new StreamHub(journal, keys, () => engine.workspaceMode, routes, () => engine.stateVersion);
  const stopGuardWatch = engine.onDidChange((version) => hub.guardChanged(version));
  server.on("upgrade", (req, socket, head: Buffer) => hub.handleUpgrade(req, socket, head, localPort(server)));
  const port = await listen(server, options.port);
  baseUrl = `http://127.0.0.1:${port}`;
  const discovery: Discovery = { baseUrl, ...keys, pid: process.pid };
  const discoveryFile = await writeDiscovery(options.stateDir, discovery);

  return {
    discovery,
    discoveryFile,
    recovery,
    services,
    policy,
    async close() {
      trim.close();
      policy.close();
      approvals.close();
      stopGuardWatch();
      hub.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await journal.close();
      await rm(discoveryFile, { force: true });
      await lock.release();
    },
  };
}

/** What agents declared before a restart still holds after it. */
function restoreEngine(engine: GuardEngine, journal: Journal): void {
  for (const agent of journal.state.agents.values()) {
    if (agent.capabilities.length > 0) engine.declareCapabilities(agent.key, agent.capabilities);
    for (const tool of agent.tools.values()) engine.defineTool(tool);
  }
  if (journal.state.mode !== undefined) engine.setWorkspaceMode(journal.state.mode);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Loopback only, never 0.0.0.0: the sidecar holds the keys to the user's agents.
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

/** The state dir holds keys and the log: 0700, and ignored by git whatever the workspace's .gitignore says. */
async function prepareStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700).catch(() => undefined);
  await writeFile(path.join(stateDir, ".gitignore"), "*\n", { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
}

/** The discovery file carries both keys: 0600, written fresh each start. */
async function writeDiscovery(stateDir: string, discovery: Discovery): Promise<string> {
  const file = path.join(stateDir, DISCOVERY_FILE);
  const handle = await open(file, "w", 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(JSON.stringify(discovery) + "\n");
  } finally {
    await handle.close();
  }
  return file;
}
