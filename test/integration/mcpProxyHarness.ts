import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import type { SidecarUnderTest } from "./sidecarProcess";
import { CLI, waitFor } from "./sidecarProcess";
import { call } from "./sidecarHttp";

/**
 * Real processes for the MCP proxy tests: `node dist/cli.js mcp proxy` driven by the official SDK Client
 * (or raw JSON lines), real upstream servers from npm, the fixture in test/fixtures/mcp, a real sidecar.
 */

const ROOT = path.resolve(__dirname, "../..");
export const EVERYTHING = path.join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
export const FILESYSTEM = path.join(ROOT, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
export const CRASHING = path.join(ROOT, "test/fixtures/mcp/crashingServer.mjs");

/** The test process's environment without any Apie variables (the proxy must find its sidecar itself). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith("APIE_")) env[key] = value;
  return { ...env, ...extra };
}

export function sidecarEnv(sidecar: SidecarUnderTest): Record<string, string> {
  return cleanEnv({ APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_API_KEY: sidecar.discovery.apiKey });
}

/** The sidecar's log records so far; a line still being written (lazy records land within 50 ms) is skipped. */
export function logRecords(workspace: string): any[] {
  return readFileSync(path.join(workspace, ".apie/events.jsonl"), "utf8")
    .split("\n")
    .flatMap((line) => {
      try {
        return line === "" ? [] : [JSON.parse(line)];
      } catch {
        return [];
      }
    });
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

export interface ProxiedClient {
  client: Client;
  stderr(): string;
  close(): Promise<void>;
}

/** The official client, connected to `apie mcp proxy --config FILE ...args` over stdio. */
export async function connectProxy(configFile: string, args: string[] = [], env: Record<string, string> = cleanEnv()): Promise<ProxiedClient> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp", "proxy", "--config", configFile, ...args],
    env,
    cwd: path.dirname(configFile),
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "proxy-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** The official client, connected to the upstream itself (for "identical to direct" comparisons). */
export async function connectDirect(command: string, args: string[]): Promise<Client> {
  const client = new Client({ name: "direct-test", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command, args, env: cleanEnv(), stderr: "ignore" }));
  return client;
}

/**
 * A stdio MCP process (`node ARGS`) spoken to in raw JSON lines: what a host sends, byte for byte.
 * {@link RawMcp.proxy} starts `apie mcp proxy`; `new RawMcp([EVERYTHING])` the upstream itself.
 */
export class RawMcp {
  readonly child: ChildProcess;
  readonly messages: any[] = [];
  /** Every line received, as it came. */
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private err = "";

  static proxy(args: string[], env: Record<string, string>, cwd?: string): RawMcp {
    return new RawMcp([CLI, "mcp", "proxy", ...args], env, cwd);
  }

  constructor(nodeArgs: string[], env: Record<string, string> = cleanEnv(), cwd?: string) {
    this.child = spawn(process.execPath, nodeArgs, { env, cwd, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (d: Buffer) => (this.err += d.toString()));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.lines.push(line);
      this.messages.push(JSON.parse(line));
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  stderr(): string {
    return this.err;
  }

  /** Writes one line: a message object (serialized) or raw text. */
  write(message: unknown): void {
    this.child.stdin!.write((typeof message === "string" ? message : JSON.stringify(message)) + "\n");
  }

  /** The first message (already received or arriving within `ms`) that satisfies `match`. */
  async next(match: (message: any) => boolean, ms = 5_000): Promise<any> {
    let found: any;
    await waitFor(() => (found = this.messages.find(match)) !== undefined, ms).catch(() => {
      throw new Error(`no matching message within ${ms} ms; got ${JSON.stringify(this.messages)}\nstderr:\n${this.err}`);
    });
    return found;
  }

  /** Sends a request and returns its answer. */
  async request(id: number | string, method: string, params?: unknown, ms?: number): Promise<any> {
    this.write({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
    return this.next((m) => m.id === id && ("result" in m || "error" in m), ms);
  }

  /**
   * initialize + notifications/initialized, as a host does. Its answer waits for process start-up (the proxy's
   * and its upstream's, several at once in some tests), which a loaded 2-core machine stretches past 5 s.
   */
  async initialize(protocolVersion = "2025-06-18"): Promise<any> {
    const answer = await this.request("init", "initialize", { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } }, 20_000);
    this.write({ jsonrpc: "2.0", method: "notifications/initialized" });
    return answer;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/** The id of the one pending approval (admin key), once the proxy waits on it. */
export async function pendingApproval(sidecar: SidecarUnderTest, ms = 5_000): Promise<string> {
  let id = "";
  await waitFor(async () => {
    const list = (await call(sidecar, "GET", "/v1/approvals?status=pending", { key: sidecar.discovery.adminKey })).body.approvals as { id: string }[];
    id = list[0]?.id ?? "";
    return list.length === 1;
  }, ms);
  return id;
}

export function resolveApproval(sidecar: SidecarUnderTest, id: string, verb: "approve" | "reject", reason?: string) {
  return call(sidecar, "POST", `/v1/approvals/${id}/${verb}`, { key: sidecar.discovery.adminKey, body: JSON.stringify(reason ? { reason } : {}) });
}

export async function approvalStatus(sidecar: SidecarUnderTest, id: string): Promise<string> {
  return (await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval.status;
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface HttpProxy {
  child: ChildProcess;
  /** From the ready line: http://127.0.0.1:PORT/mcp. */
  url: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `apie mcp proxy --transport http ...`, once its ready line ({"url","pid"}) is out. */
export async function startHttpProxy(args: string[], env: Record<string, string>): Promise<HttpProxy> {
  const child = spawn(process.execPath, [CLI, "mcp", "proxy", "--transport", "http", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the HTTP proxy exited (${code}) before ready:\n${err}`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url, stderr: () => err, exited };
}

/** After a suite of HTTP proxies: each stopped (SIGTERM, its exit awaited), then the sidecar, then the workspace removed. */
export async function stopAll(proxies: HttpProxy[], sidecar: SidecarUnderTest | undefined, workspace: string): Promise<void> {
  for (const proxy of proxies.splice(0)) {
    if (proxy.child.exitCode === null) proxy.child.kill("SIGTERM");
    await proxy.exited;
  }
  await sidecar?.stop();
  rmSync(workspace, { recursive: true, force: true });
}
