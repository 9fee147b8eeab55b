import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cleanEnv, connectDirect, connectProxy, EVERYTHING, freePort, sidecarEnv, startHttpProxy, writeJson, type HttpProxy, type ProxiedClient } from "./mcpProxyHarness";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Streamable HTTP on either side of the proxy: the host connecting over HTTP (`--transport http`, the
 * official client's StreamableHTTPClientTransport), and an upstream reached by URL (server-everything's
 * own streamableHttp mode). Same guard behaviour as over stdio.
 */
describe("apie mcp proxy over Streamable HTTP (real processes)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let direct: Client;
  const policy = {
    version: 1,
    guardrails: [{ key: "no-secret-echo", name: "No secret echo", decision: "block", reason: "echoing secrets is not allowed", match: { "tool.name": "everything.echo", arguments: { "$.message": { glob: "secret*" } } } }],
  };
  const config = { agentKey: "mcp-http", serverName: "everything", mode: "enforce" };
  const echo = (message: string) => ({ name: "echo", arguments: { message } });

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-http-"));
    writeJson(workspace, "apie.policy.json", policy);
    [sidecar, direct] = await Promise.all([startSidecarProcess(workspace), connectDirect(process.execPath, [EVERYTHING])]);
  });
  after(async () => {
    await direct?.close();
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  describe("--transport http (the host connects by URL)", () => {
    let proxy: HttpProxy;
    let url: string;
    before(async () => {
      const file = writeJson(workspace, "http.mcp.json", { ...config, upstream: { command: process.execPath, args: [EVERYTHING] } });
      proxy = await startHttpProxy(["--config", file, "--port", "0"], sidecarEnv(sidecar));
      url = proxy.url;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    });
    after(async () => {
      proxy.child.kill("SIGTERM");
      assert.equal(await proxy.exited, 0, proxy.stderr());
    });

    it("allowed: the upstream's result; blocked: -32001; tools/list identical to direct", async () => {
      const client = new Client({ name: "http-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      try {
        assert.deepEqual(await client.listTools(), await direct.listTools());
        assert.deepEqual(await client.callTool(echo("over http")), await direct.callTool(echo("over http")));
        const error = await client.callTool(echo("secret over http")).catch((e: unknown) => e);
        assert.ok(error instanceof McpError);
        assert.equal(error.code, -32001);
        assert.equal((error.data as { matched_guardrail: string }).matched_guardrail, "no-secret-echo");
      } finally {
        await client.close();
      }
    });

    it("a host on an MCP-Protocol-Version the SDK does not know (2026-07-28) is still served", async () => {
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const init = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2026-07-28", capabilities: {}, clientInfo: { name: "future-host", version: "1" } } }),
      });
      assert.equal(init.status, 200);
      const session = init.headers.get("mcp-session-id")!;
      assert.ok(session);
      assert.match(await init.text(), /"protocolVersion"/);
      const next = { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2026-07-28" };
      assert.equal((await fetch(url, { method: "POST", headers: next, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).status, 202);
      const answer = await fetch(url, { method: "POST", headers: next, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: echo("from the future") }) });
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /"text":"Echo: from the future"/);
      await fetch(url, { method: "DELETE", headers: next });
    });

    it("refuses other Host and Origin headers (DNS rebinding) and unknown sessions", async () => {
      const port = new URL(url).port;
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
      const post = (headers: Record<string, string>) =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body });
      assert.equal((await post({ origin: "http://evil.example" })).status, 403);
      assert.equal((await rawHost(port, "evil.example")).status, 403);
      assert.equal((await post({ "mcp-session-id": "no-such-session" })).status, 404);
    });
  });

  describe("an upstream reached by URL (server-everything streamableHttp)", () => {
    let upstream: ChildProcess;
    let proxied: ProxiedClient;
    before(async () => {
      const port = await freePort();
      upstream = spawn(process.execPath, [EVERYTHING, "streamableHttp"], { env: cleanEnv({ PORT: String(port) }), stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      upstream.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      await waitFor(() => err.includes(`listening on port ${port}`), 10_000);
      const file = writeJson(workspace, "url.mcp.json", { ...config, upstream: { url: `http://127.0.0.1:${port}/mcp`, headers: { "x-test": "1" } } });
      proxied = await connectProxy(file, [], sidecarEnv(sidecar));
    });
    after(async () => {
      await proxied?.close();
      upstream?.kill("SIGTERM");
    });

    it("allowed: the upstream's result (as over stdio); blocked: -32001", async () => {
      assert.deepEqual(await proxied.client.callTool(echo("to a url")), await direct.callTool(echo("to a url")));
      const error = await proxied.client.callTool(echo("secret to a url")).catch((e: unknown) => e);
      assert.ok(error instanceof McpError);
      assert.equal(error.code, -32001);
    });
  });
});

/** fetch() will not send a foreign Host header; node:http will. */
async function rawHost(port: string, host: string): Promise<{ status: number }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { host, "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
  });
}
