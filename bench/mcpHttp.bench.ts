import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { spawnUntilReady, type ReadyProcess } from "../test/support/readyProcess";
import { EVERYTHING } from "./mcpStdio";
import { CLI, sidecarNodeArgs } from "./sidecarLaunch";
import { formatMicros, formatRatio, formatTable, timeInterleaved, type LatencySummary } from "./stats";

/**
 * tools/call latency over Streamable HTTP: the official MCP client → a stdio→HTTP bridge →
 * @modelcontextprotocol/server-everything's `echo` over stdio. Three bridges, all stateful (a session per
 * client, its own upstream process): `apie mcp proxy --transport http` deciding every call with a real sidecar
 * (monitor, allow), and the two unguarded bridges people use, supergateway and mcp-proxy (devDependencies,
 * pinned). The everything server's own Streamable HTTP mode is the reference (no bridge). Same run, same
 * client code, the paths interleaved. Issue 14: the guarded proxy keeps its lead (p50 ≤ 1.0× each peer).
 */

const SUPERGATEWAY = path.resolve(__dirname, "../node_modules/supergateway/dist/index.js");
const MCP_PROXY = path.resolve(__dirname, "../node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs");
const WARMUP = 500;
const ROUNDS = 10;
const PER_ROUND = 300;
const CONNECT_TIMEOUT_MS = 30_000;

interface EchoClient {
  call(): Promise<void>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A bridge process that logs nothing we need; it is ready once a client can connect (retried). */
function startQuiet(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, ...env } });
}

async function connectEcho(url: string, deadline = Date.now() + CONNECT_TIMEOUT_MS): Promise<EchoClient> {
  for (;;) {
    const client = new Client({ name: "apie-bench", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      return {
        async call() {
          const result = await client.callTool({ name: "echo", arguments: { message: "how do I rotate keys" } });
          if (result.isError) throw new Error(`echo via ${url} failed: ${JSON.stringify(result)}`);
        },
        close: () => client.close(),
      };
    } catch (error) {
      await client.close().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`could not connect to ${url}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-http-bench-"));
  writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": true, "prod-shell": true, "secret-in-arguments": true } }));
  const config = path.join(workspace, "apie.mcp.json");
  writeFileSync(config, JSON.stringify({ agentKey: "bench-mcp-http", serverName: "everything", mode: "monitor", upstream: { command: process.execPath, args: [EVERYTHING, "stdio"] } }));
  const children: ChildProcess[] = [];
  const clients: EchoClient[] = [];
  let sidecar: ReadyProcess | undefined;
  let proxy: ReadyProcess | undefined;
  try {
    sidecar = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
    const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };
    process.env.APIE_BASE_URL = baseUrl;
    process.env.APIE_API_KEY = apiKey;
    try {
      proxy = await spawnUntilReady([CLI, "mcp", "proxy", "--config", config, "--transport", "http", "--port", "0"]);
    } finally {
      delete process.env.APIE_BASE_URL;
      delete process.env.APIE_API_KEY;
    }
    const apieUrl = (JSON.parse(proxy.readyLine) as { url: string }).url;

    const [directPort, gatewayPort, mcpProxyPort] = [await freePort(), await freePort(), await freePort()];
    children.push(startQuiet([EVERYTHING, "streamableHttp"], { PORT: String(directPort) }));
    children.push(startQuiet([SUPERGATEWAY, "--stdio", `"${process.execPath}" "${EVERYTHING}" stdio`, "--outputTransport", "streamableHttp", "--stateful", "--port", String(gatewayPort), "--logLevel", "none"]));
    children.push(startQuiet([MCP_PROXY, "--host", "127.0.0.1", "--port", String(mcpProxyPort), "--server", "stream", "--", process.execPath, EVERYTHING, "stdio"]));

    report(
      `official MCP client over Streamable HTTP, sequential echo calls: ${WARMUP} warm-up per path, then ${ROUNDS} rounds of ${PER_ROUND} on each path in turn ` +
        `(interleaved); every bridge is stateful with a stdio upstream; the apie proxy decides each call with a real sidecar (monitor, allow)`,
    );
    const paths: [string, string][] = [
      ["server-everything's own HTTP (no bridge)", `http://127.0.0.1:${directPort}/mcp`],
      ["supergateway 4 (unguarded)", `http://127.0.0.1:${gatewayPort}/mcp`],
      ["mcp-proxy 6 (unguarded)", `http://127.0.0.1:${mcpProxyPort}/mcp`],
      ["apie mcp proxy --transport http (guarded)", apieUrl],
    ];
    for (const [, url] of paths) clients.push(await connectEcho(url));
    const results = (await timeInterleaved(
      clients.map((c) => c.call),
      WARMUP,
      ROUNDS,
      PER_ROUND,
    )) as [LatencySummary, LatencySummary, LatencySummary, LatencySummary];
    const [direct, gateway, peerProxy, apie] = results;
    report(
      formatTable(
        ["path", "p50", "p99", "p50 vs supergateway", "p50 vs mcp-proxy"],
        paths.map(([name], i) => [name, formatMicros(results[i]!.p50), formatMicros(results[i]!.p99), formatRatio(results[i]!.p50 / gateway.p50), formatRatio(results[i]!.p50 / peerProxy.p50)]),
      ),
    );
    const pass = (ok: boolean) => (ok ? "PASS" : "FAIL");
    report(
      `goal: the guarded proxy at or below each unguarded bridge (p50): vs supergateway ${pass(apie.p50 <= gateway.p50)} (${formatRatio(apie.p50 / gateway.p50)}), ` +
        `vs mcp-proxy ${pass(apie.p50 <= peerProxy.p50)} (${formatRatio(apie.p50 / peerProxy.p50)}); vs no bridge ${formatRatio(apie.p50 / direct.p50)}`,
    );
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const child of children) child.kill("SIGTERM");
    proxy?.child.kill("SIGTERM");
    await proxy?.exited;
    sidecar?.child.kill("SIGTERM");
    await sidecar?.exited;
    rmSync(workspace, { recursive: true, force: true });
  }
}
