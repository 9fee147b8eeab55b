import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { GuardEngine } from "../guard/engine";
import type { Discovery } from "../protocol/v1";
import { createSidecarHttpServer } from "./http";
import { PolicyWatcher } from "./policyWatcher";

export interface SidecarOptions {
  workspace: string;
  /** 0 picks any free port. */
  port: number;
  /** Where the discovery file (and, later, the event log) live; default <workspace>/.apie. */
  stateDir: string;
  log: (line: string) => void;
}

export interface RunningSidecar {
  discovery: Discovery;
  discoveryFile: string;
  close(): Promise<void>;
}

export const DISCOVERY_FILE = "sidecar.json";

/** Start the headless sidecar: policy loaded and watched, HTTP API on 127.0.0.1, discovery file written. */
export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const startedAt = Date.now();
  const engine = new GuardEngine();
  const policy = new PolicyWatcher(engine, options.workspace, options.log);
  await policy.start();

  const keys = { apiKey: `apie_${randomBytes(24).toString("base64url")}`, adminKey: `apie_admin_${randomBytes(24).toString("base64url")}` };
  let baseUrl = "";
  const server = createSidecarHttpServer({ engine, keys, startedAt, baseUrl: () => baseUrl });
  const port = await listen(server, options.port);
  baseUrl = `http://127.0.0.1:${port}`;
  const discovery: Discovery = { baseUrl, ...keys, pid: process.pid };
  const discoveryFile = await writeDiscovery(options.stateDir, discovery);

  return {
    discovery,
    discoveryFile,
    async close() {
      policy.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await rm(discoveryFile, { force: true });
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Loopback only, never 0.0.0.0: the sidecar holds the keys to the user's agents.
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

/** The discovery file carries both keys: 0600 in a 0700 directory that git ignores. */
async function writeDiscovery(stateDir: string, discovery: Discovery): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(stateDir, ".gitignore"), "*\n", { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  const file = path.join(stateDir, DISCOVERY_FILE);
  const handle = await open(file, "w", 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(JSON.stringify(discovery) + "\n");
  } finally {
    await handle.close();
  }
  await chmod(stateDir, 0o700).catch(() => undefined);
  return file;
}
