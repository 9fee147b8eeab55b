import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { McpProxy, type ProxyEnd, type ToolCallHandler } from "../../../sidecar/mcp/proxy";
import { refusalResponse, approvalRefused } from "../../../sidecar/mcp/refusals";

/**
 * The pump alone, on in-memory transport pairs (no processes): the test plays the host on one end and the
 * upstream server on the other; the guard is a small handler deciding by tool name.
 */

function collect(transport: InMemoryTransport): JSONRPCMessage[] {
  const seen: JSONRPCMessage[] = [];
  transport.onmessage = (m) => void seen.push(m);
  return seen;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function setup(handler: Partial<ToolCallHandler> = {}) {
  const [host, proxyClientSide] = InMemoryTransport.createLinkedPair();
  const [proxyUpstream, server] = InMemoryTransport.createLinkedPair() as [InMemoryTransport & Transport, InMemoryTransport];
  const versions: string[] = [];
  proxyUpstream.setProtocolVersion = (v: string) => void versions.push(v);
  const aborted: string[] = [];
  const settled: unknown[] = [];
  const listed: unknown[] = [];
  const decided: string[] = [];
  const full: ToolCallHandler = {
    decideNow: (request) => {
      const name = (request.params as { name: string }).name;
      if (name !== "now") return undefined;
      decided.push("now");
      return { action: "forward", ticket: { call: { tool: { name: "srv.now" } }, decisionId: "dec_now", runId: undefined, connection: undefined } };
    },
    decide: async (request, ctx) => {
      decided.push("later");
      const name = (request.params as { name: string }).name;
      if (name === "blocked") return { action: "answer", message: refusalResponse(request.id, approvalRefused("apr_1", "rejected", "no"), "jsonrpc_error") };
      if (name === "hold") {
        ctx.progress?.("waiting for approval apr_1 (test)");
        ctx.progress?.("waiting for approval apr_1 (test), 1 s");
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        aborted.push(String(ctx.signal.reason));
        return { action: "drop" };
      }
      return { action: "forward", ticket: { call: { tool: { name: `srv.${name}` } }, decisionId: "dec_1", runId: undefined, connection: undefined } };
    },
    settled: (_ticket, response) => void settled.push(response),
    toolsListed: (result) => void listed.push(result),
    ...handler,
  };
  const proxy = new McpProxy(proxyClientSide, proxyUpstream, full, { upstreamLabel: "test-server", logger: { warn: () => undefined } });
  const toHost = collect(host);
  const toServer = collect(server);
  await proxy.start();
  await host.start();
  await server.start();
  return { host, server, proxy, toHost, toServer, versions, aborted, settled, listed, decided };
}

describe("mcp: the proxy's message pump (in-memory transports)", () => {
  it("passes requests, responses and notifications both ways unchanged, ids included", async () => {
    const t = await setup();
    const init = { jsonrpc: "2.0", id: "init-1", method: "initialize", params: { protocolVersion: "2026-07-28", capabilities: { x: { y: 1 } }, clientInfo: { name: "h", version: "1" }, extra: true } } as JSONRPCMessage;
    await t.host.send(init);
    await tick();
    assert.deepEqual(t.toServer, [init]);
    const answer = { jsonrpc: "2.0", id: "init-1", result: { protocolVersion: "2026-07-28", capabilities: {}, serverInfo: { name: "s", version: "1" }, future: [1] } } as JSONRPCMessage;
    await t.server.send(answer);
    const fromServer = [
      { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "hi" } },
      { jsonrpc: "2.0", id: 99, method: "roots/list" },
    ] as JSONRPCMessage[];
    for (const m of fromServer) await t.server.send(m);
    await t.host.send({ jsonrpc: "2.0", id: 99, result: { roots: [] } });
    await tick();
    assert.deepEqual(t.toHost, [answer, ...fromServer]);
    assert.deepEqual(t.toServer.at(-1), { jsonrpc: "2.0", id: 99, result: { roots: [] } });
    assert.deepEqual(t.versions, ["2026-07-28"], "the initialize answer sets the upstream's protocol version");
  });

  it("tools/call: forwarded when allowed (outcome settled), answered by the proxy when refused (never forwarded)", async () => {
    const t = await setup();
    await t.host.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "ok", arguments: {} } });
    await t.host.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "blocked", arguments: {} } });
    await tick();
    assert.deepEqual(t.toServer.map((m) => (m as { id: number }).id), [1]);
    assert.equal((t.toHost[0] as { error: { code: number } }).error.code, -32002);
    await t.server.send({ jsonrpc: "2.0", id: 1, result: { content: [] } });
    await tick();
    assert.deepEqual(t.settled, [{ jsonrpc: "2.0", id: 1, result: { content: [] } }]);
  });

  it("tools/call: a verdict reached without waiting is forwarded in the same turn and settled like any other; the rest are decided", async () => {
    const t = await setup();
    await t.host.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "now", arguments: {} } });
    // No tick: InMemoryTransport delivers synchronously, so the upstream has it before any promise ran.
    assert.deepEqual(t.toServer.map((m) => (m as { id: number }).id), [7]);
    await t.host.send({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "ok", arguments: {} } });
    await tick();
    assert.deepEqual(t.decided, ["now", "later"]);
    await t.server.send({ jsonrpc: "2.0", id: 7, result: { content: [] } });
    await tick();
    assert.deepEqual(t.settled, [{ jsonrpc: "2.0", id: 7, result: { content: [] } }]);
  });

  it("tools/list answers are forwarded, then handed to the catalog", async () => {
    const t = await setup();
    await t.host.send({ jsonrpc: "2.0", id: 3, method: "tools/list" });
    await tick();
    await t.server.send({ jsonrpc: "2.0", id: 3, result: { tools: [{ name: "a", inputSchema: { type: "object" } }] } });
    await tick();
    assert.deepEqual(t.listed, [{ tools: [{ name: "a", inputSchema: { type: "object" } }] }]);
    assert.equal(t.toHost.length, 1);
  });

  it("a held call: progress with the request's token; cancelled → aborted, not forwarded, no answer", async () => {
    const t = await setup();
    await t.host.send({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "hold", _meta: { progressToken: "tok" } } });
    await tick();
    assert.deepEqual(
      t.toHost.map((m) => (m as { params: unknown }).params),
      [
        { progressToken: "tok", progress: 1, message: "waiting for approval apr_1 (test)" },
        { progressToken: "tok", progress: 2, message: "waiting for approval apr_1 (test), 1 s" },
      ],
    );
    await t.host.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 5, reason: "stop" } });
    await tick();
    assert.deepEqual(t.aborted, ["the MCP client cancelled the tool call"]);
    assert.deepEqual(t.toServer, [], "the upstream never saw the call, nor its cancellation");
    assert.equal(t.toHost.length, 2, "no answer to a cancelled request");
  });

  it("the upstream going away: every pending request gets -32603, held calls are abandoned, done says why", async () => {
    const t = await setup();
    await t.host.send({ jsonrpc: "2.0", id: 10, method: "tools/call", params: { name: "ok" } });
    await t.host.send({ jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "hold" } });
    await t.host.send({ jsonrpc: "2.0", id: 12, method: "resources/list" });
    await tick();
    await t.server.close();
    const end: ProxyEnd = await t.proxy.done;
    assert.equal(end.reason, "upstream_closed");
    await tick();
    const errors = t.toHost.filter((m) => "error" in m) as { id: number; error: { code: number; message: string } }[];
    assert.deepEqual(errors.map((e) => [e.id, e.error.code]).sort(), [[10, -32603], [11, -32603], [12, -32603]]);
    assert.match(errors.find((e) => e.id === 12)!.error.message, /Upstream MCP server exited before answering resources\/list/);
    assert.deepEqual(t.aborted, ["the upstream MCP server exited"]);
    assert.deepEqual(t.settled, [{ failure: "the upstream MCP server test-server exited" }]);
  });

  it("the host going away ends the session; close() closes the upstream", async () => {
    const t = await setup();
    let upstreamClosed = false;
    t.server.onclose = () => (upstreamClosed = true);
    await t.host.close();
    assert.deepEqual(await t.proxy.done, { reason: "client_closed" });
    await t.proxy.close();
    assert.equal(upstreamClosed, true);
  });
});
