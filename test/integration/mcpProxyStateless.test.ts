import { strict as assert } from "node:assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnUntilReady, type ReadyProcess } from "../support/readyProcess";
import { approvalStatus, EVERYTHING, pendingApproval, sidecarEnv, startHttpProxy, stopAll, writeJson, type HttpProxy } from "./mcpProxyHarness";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const MODERN = path.resolve(__dirname, "../fixtures/mcp/modernServer.mjs");
const VERSION = "2026-07-28";

/**
 * Issue 14, item 2: protocol revision 2026-07-28 (no initialize, no session) through `--transport http`,
 * as it already works over stdio: session-less requests reach the upstream, are guarded like any call and
 * come back with the host's own ids; headers are checked against the body; a handshake-era upstream still
 * lets a dual-era host fall back to initialize.
 */
describe("apie mcp proxy --transport http: the stateless revision 2026-07-28 (real processes)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const proxies: HttpProxy[] = [];
  const startProxy = async (name: string, upstream: unknown) => {
    const file = writeJson(workspace, `${name}.mcp.json`, { agentKey: `mcp-${name}`, serverName: name, mode: "enforce", upstream });
    const proxy = await startHttpProxy(["--config", file], sidecarEnv(sidecar));
    proxies.push(proxy);
    return proxy;
  };

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-stateless-"));
    writeJson(workspace, "apie.policy.json", {
      version: 1,
      guardrails: [
        { key: "deploy-echo-needs-approval", name: "Deploy echoes need approval", decision: "require_approval", reason: "deploys are reviewed", match: { "tool.name": "modern.echo", arguments: { "$.message": { glob: "deploy*" } } } },
        { key: "no-secret-echo", name: "No secret echo", decision: "block", reason: "echoing secrets is not allowed", match: { "tool.name": "modern.echo", arguments: { "$.message": { glob: "secret*" } } } },
      ],
    });
    sidecar = await startSidecarProcess(workspace);
  });
  after(() => stopAll(proxies, sidecar, workspace));

  describe("a modern upstream (stdio)", () => {
    let url: string;
    before(async () => (url = (await startProxy("modern", { command: process.execPath, args: [MODERN] })).url));

    it("server/discover without a session: the upstream's answer, under the host's id, and no session", async () => {
      const answer = await modern(url, "d-1", "server/discover");
      assert.equal(answer.status, 200, JSON.stringify(answer.messages));
      assert.equal(answer.headers.get("mcp-session-id"), null);
      const [result] = answer.messages;
      assert.equal(result.id, "d-1");
      assert.deepEqual(result.result.supportedVersions, [VERSION]);
    });

    it("tools/call is guarded: allowed → the upstream's result, blocked → -32001; two hosts using the same id at once each get their own answer", async () => {
      const [slow, fast, blocked] = await Promise.all([
        modern(url, 1, "tools/call", { name: "echo", arguments: { message: "first host", delayMs: 300 } }),
        modern(url, 1, "tools/call", { name: "echo", arguments: { message: "second host" } }),
        modern(url, 2, "tools/call", { name: "echo", arguments: { message: "secret stuff" } }),
      ]);
      assert.deepEqual(slow.messages, [{ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "echo: first host" }] } }]);
      assert.deepEqual(fast.messages, [{ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "echo: second host" }] } }]);
      assert.equal(blocked.messages[0].id, 2);
      assert.equal(blocked.messages[0].error.code, -32001);
      assert.equal(blocked.messages[0].error.data.matched_guardrail, "no-secret-echo");
    });

    it("progress comes on the request's own SSE stream, with the host's token, before the answer", async () => {
      const answer = await modern(url, 5, "tools/call", { name: "echo", arguments: { message: "with progress" }, _meta: { progressToken: "my-token" } });
      assert.match(answer.headers.get("content-type") ?? "", /text\/event-stream/);
      assert.deepEqual(
        answer.messages.map((m) => m.params?.progressToken ?? m.id),
        ["my-token", 5],
      );
      assert.equal(answer.messages[1].result.content[0].text, "echo: with progress");
    });

    it("closing a request's response cancels it (the revision's rule): a call waiting for approval gets its approval cancelled", async () => {
      const gone = new AbortController();
      const waiting = modern(url, 7, "tools/call", { name: "echo", arguments: { message: "deploy prod" } }, {}, VERSION, gone.signal);
      const approvalId = await pendingApproval(sidecar);
      gone.abort();
      await waiting.catch(() => undefined);
      await waitFor(async () => (await approvalStatus(sidecar, approvalId)) === "cancelled");
      const again = await modern(url, 8, "tools/call", { name: "echo", arguments: { message: "still served" } });
      assert.equal(again.messages[0].result.content[0].text, "echo: still served");
    });

    it("headers that disagree with the body: 400 -32020 (HeaderMismatch)", async () => {
      const answer = await modern(url, 9, "tools/call", { name: "echo", arguments: { message: "x" } }, { "mcp-name": "something-else" });
      assert.equal(answer.status, 400);
      assert.deepEqual([answer.messages[0].id, answer.messages[0].error.code], [9, -32020]);
    });

    it("a subscriptions/listen stream carries its notifications to the host that opened it, under the host's id; two hosts with the same id each get their own", async () => {
      const [a, b] = await Promise.all([
        modern(url, "sub", "subscriptions/listen", { notifications: { toolsListChanged: true }, endAfterMs: 200 }),
        modern(url, "sub", "subscriptions/listen", { notifications: { toolsListChanged: true }, endAfterMs: 250 }),
      ]);
      for (const answer of [a, b]) {
        assert.equal(answer.headers.get("content-type"), "text/event-stream");
        const tag = "io.modelcontextprotocol/subscriptionId";
        assert.deepEqual(
          answer.messages.map((m) => [m.method ?? "result", (m.params ?? m.result)._meta[tag]]),
          [["notifications/subscriptions/acknowledged", "sub"], ["notifications/tools/list_changed", "sub"], ["result", "sub"]],
        );
        assert.equal(answer.messages[2].id, "sub");
      }
    });

    it("a host's Mcp-Param-* headers must agree with its body, as a server of the revision checks them: else 400, -32020", async () => {
      await modern(url, "l", "tools/list");
      const agreeing = await modern(url, "r1", "tools/call", { name: "route", arguments: { region: "eu-west-1" } }, { "mcp-param-region": "eu-west-1" });
      assert.equal(textOf(agreeing), "routed to eu-west-1");
      const disagreeing = await modern(url, "r2", "tools/call", { name: "route", arguments: { region: "ap-south-1" } }, { "mcp-param-region": "us-east-1" });
      assert.deepEqual([disagreeing.status, disagreeing.messages[0].id, disagreeing.messages[0].error.code], [400, "r2", -32020]);
      assert.match(disagreeing.messages[0].error.message, /Mcp-Param-Region header is "us-east-1", the body's region is "ap-south-1"/);
      const absent = await modern(url, "r3", "tools/call", { name: "route", arguments: { region: "ap-south-1" } });
      assert.deepEqual([absent.status, absent.messages[0].error.code], [400, -32020]);
      assert.match(absent.messages[0].error.message, /Mcp-Param-Region header is absent/);
      const nullRegion = await modern(url, "r4", "tools/call", { name: "route", arguments: { region: null } });
      assert.equal(textOf(nullRegion), "routed to null", "no header is expected for a null argument");
    });

    it("a call before any tools/list: the proxy lists the tools itself first, so the host's Mcp-Param-* headers are checked all the same", async () => {
      const fresh = (await startProxy("modern-unlisted", { command: process.execPath, args: [MODERN] })).url;
      const disagreeing = await modern(fresh, "u1", "tools/call", { name: "route", arguments: { region: "ap-south-1" } }, { "mcp-param-region": "us-east-1" });
      assert.deepEqual([disagreeing.status, disagreeing.messages[0].id, disagreeing.messages[0].error?.code], [400, "u1", -32020], JSON.stringify(disagreeing.messages));
      assert.equal(textOf(await modern(fresh, "u2", "tools/call", { name: "route", arguments: { region: "eu-west-1" } }, { "mcp-param-region": "eu-west-1" })), "routed to eu-west-1");
      // A tool no listing named (it does not exist) goes on to the upstream, which answers it: no listing again.
      for (const id of ["u3", "u4"]) assert.equal((await modern(fresh, id, "tools/call", { name: "missing", arguments: {} })).messages[0].id, id);
      const counts = await modern(fresh, "c", "fixture/counts");
      assert.equal(counts.messages[0].result.toolsList, 1, "one listing: the proxy's own");
    });

    it("the upstream's modern errors keep their meaning: an unsupported version → 400 with -32022 and the versions it supports", async () => {
      const answer = await modern(url, 11, "server/discover", {}, {}, "2099-01-01");
      assert.equal(answer.status, 400);
      assert.equal(answer.messages[0].error.code, -32022);
      assert.deepEqual(answer.messages[0].error.data.supported, [VERSION]);
    });
  });

  describe("a modern upstream reached by URL", () => {
    let upstream: ReadyProcess;
    let url: string;
    before(async () => {
      upstream = await spawnUntilReady([MODERN, "--http"]);
      url = (await startProxy("modern", { url: (JSON.parse(upstream.readyLine) as { url: string }).url })).url;
    });
    after(async () => {
      upstream?.child.kill("SIGTERM");
      await upstream?.exited;
    });

    it("requests reach it with the headers the revision requires, and its answers and errors come back as it gave them", async () => {
      const discover = await modern(url, "d-2", "server/discover");
      assert.equal(discover.status, 200, JSON.stringify(discover.messages));
      assert.deepEqual(discover.messages[0].result.supportedVersions, [VERSION]);
      const echo = await modern(url, 3, "tools/call", { name: "echo", arguments: { message: "over http" } });
      assert.deepEqual(echo.messages, [{ jsonrpc: "2.0", id: 3, result: { content: [{ type: "text", text: "echo: over http" }] } }]);
      const unknown = await modern(url, 4, "resources/list");
      assert.deepEqual([unknown.status, unknown.messages[0].id, unknown.messages[0].error.code], [404, 4, -32601]);
      const unsupported = await modern(url, 6, "server/discover", {}, {}, "2099-01-01");
      assert.deepEqual([unsupported.status, unsupported.messages[0].error.code], [400, -32022]);
    });

    it("a tool that marks a parameter x-mcp-header gets its Mcp-Param-* header, written from the body the guard saw (SEP-2243)", async () => {
      // Called before this proxy saw any tools/list: it lists the tools itself first, then checks and forwards.
      const first = await modern(url, 10, "tools/call", { name: "route", arguments: { region: "eu-west-1" } }, { "mcp-param-region": "eu-west-1" });
      assert.equal(textOf(first), "routed to eu-west-1");
      // A value that is not plain ASCII travels as =?base64?…?=.
      const zurich = `=?base64?${Buffer.from("zürich").toString("base64")}?=`;
      assert.equal(textOf(await modern(url, 11, "tools/call", { name: "route", arguments: { region: "zürich" } }, { "mcp-param-region": zurich })), "routed to zürich");
      const list = await modern(url, 13, "tools/list");
      assert.equal(list.messages[0].result.tools.find((t: any) => t.name === "route").inputSchema.properties.region["x-mcp-header"], "Region", "tools/list is relayed unchanged");
    });

    it("a host that lists the tools first: the proxy learns from that answer, and lists nothing itself", async () => {
      const upstreamUrl = (JSON.parse(upstream.readyLine) as { url: string }).url;
      const fresh = (await startProxy("modern-fresh", { url: upstreamUrl })).url;
      const counts = async () => (await modern(upstreamUrl, "c", "fixture/counts")).messages[0].result.toolsList as number;
      const before = await counts();
      await modern(fresh, 1, "tools/list");
      const call = await modern(fresh, 2, "tools/call", { name: "route", arguments: { region: "sa-east-1", note: "n" } }, { "mcp-param-region": "sa-east-1" });
      assert.equal(textOf(call), "routed to sa-east-1");
      assert.equal(await counts(), before + 1, "the host's tools/list only");
    });
  });

  describe("a modern upstream reached by URL, whose tool appears only after the proxy listed the tools", () => {
    let upstream: ReadyProcess;
    after(async () => {
      upstream?.child.kill("SIGTERM");
      await upstream?.exited;
    });

    it("the upstream's -32020 for a call without the tool's Mcp-Param-*: the proxy lists the tools again and sends the call once more, with it", async () => {
      upstream = await spawnUntilReady([MODERN, "--http", "--late-route"]);
      const upstreamUrl = (JSON.parse(upstream.readyLine) as { url: string }).url;
      const url = (await startProxy("modern-late", { url: upstreamUrl })).url;
      const call = await modern(url, 1, "tools/call", { name: "route", arguments: { region: "us-west-2" } }, { "mcp-param-region": "us-west-2" });
      assert.equal(textOf(call), "routed to us-west-2", JSON.stringify(call.messages));
      const counts = (await modern(upstreamUrl, "c", "fixture/counts")).messages[0].result;
      assert.deepEqual([counts.toolsList, counts.headerMismatches], [2, 1], "the proxy's listing (no route yet), the -32020, the listing that names route");
    });
  });

  describe("a handshake-era upstream (server-everything, stdio)", () => {
    let url: string;
    before(async () => (url = (await startProxy("everything", { command: process.execPath, args: [EVERYTHING] })).url));

    it("server/discover → 400 without a modern error, so a dual-era host falls back to initialize, which opens a session", async () => {
      const probe = await modern(url, "probe", "server/discover");
      assert.equal(probe.status, 400);
      assert.equal(probe.messages[0].id, "probe");
      assert.ok(![-32020, -32021, -32022, -32601].includes(probe.messages[0].error.code), JSON.stringify(probe.messages));
      assert.match(probe.messages[0].error.message, /initialize/);
      const init = await post(url, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "dual-era", version: "1" } } });
      assert.equal(init.status, 200);
      assert.ok(init.headers.get("mcp-session-id"));
    });
  });
});

/** The text of a tools/call answer, or the messages when it is not one. */
function textOf(answer: { messages: any[] }): string {
  return answer.messages[0]?.result?.content?.[0]?.text ?? JSON.stringify(answer.messages);
}

/** A modern request as a 2026-07-28 host sends it: `_meta` in the body, the mirrored headers. */
function modern(url: string, id: string | number, method: string, params: Record<string, any> = {}, headers: Record<string, string> = {}, version = VERSION, signal?: AbortSignal) {
  const meta = { ...params._meta, "io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientInfo": { name: "modern-host", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
  const name: Record<string, string> = typeof params.name === "string" ? { "mcp-name": params.name } : {};
  return post(url, { jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } }, { "mcp-protocol-version": version, "mcp-method": method, ...name, ...headers }, signal);
}

/** One POST: its status, headers and the JSON-RPC messages it carried (JSON, or each SSE event). */
async function post(url: string, message: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<{ status: number; headers: Headers; messages: any[] }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(message), signal });
  const text = await response.text();
  const sse = response.headers.get("content-type")?.includes("text/event-stream");
  const messages = sse ? text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6))) : text ? [JSON.parse(text)] : [];
  return { status: response.status, headers: response.headers, messages };
}
