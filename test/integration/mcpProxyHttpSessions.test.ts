import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { cleanEnv, sidecarEnv, pendingApproval, resolveApproval, startHttpProxy, stopAll, writeJson, type HttpProxy } from "./mcpProxyHarness";
import { call } from "./sidecarHttp";
import { CLI, startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const run = promisify(execFile);
const RECORDING = path.resolve(__dirname, "../fixtures/mcp/recordingServer.mjs");

/**
 * Issue 14, items 4, 5 and 7: the life of `--transport http` sessions. Idle sessions expire with their
 * upstream process; the number of sessions is bounded; a client that vanishes mid-approval never gets its
 * call run; a DELETE mid-approval names its cause; invalid messages are answered with their own id.
 * Real processes: the built CLI, a real sidecar, an official-SDK stdio upstream, raw HTTP as a host sends it.
 */
describe("apie mcp proxy --transport http: sessions (real processes)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let callsFile: string;
  let configFile: string;
  const proxies: HttpProxy[] = [];

  const startProxy = async (...flags: string[]) => {
    const proxy = await startHttpProxy(["--config", configFile, ...flags], { ...sidecarEnv(sidecar), RECORDING_CALLS_FILE: callsFile });
    proxies.push(proxy);
    return proxy;
  };
  const deploys = () => (existsSync(callsFile) ? readFileSync(callsFile, "utf8").split("\n").filter(Boolean) : []);

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-sessions-"));
    callsFile = path.join(workspace, "calls.txt");
    writeJson(workspace, "apie.policy.json", {
      version: 1,
      guardrails: [{ key: "deploys-need-approval", name: "Deploys need approval", decision: "require_approval", reason: "deploys are reviewed", match: { "tool.name": "recording.deploy" } }],
    });
    configFile = writeJson(workspace, "apie.mcp.json", { agentKey: "mcp-sessions", serverName: "recording", mode: "enforce", upstream: { command: process.execPath, args: [RECORDING] } });
    sidecar = await startSidecarProcess(workspace);
  });
  after(() => stopAll(proxies, sidecar, workspace));

  describe("default limits", () => {
    let proxy: HttpProxy;
    before(async () => (proxy = await startProxy("--max-sessions", "2")));

    it("a client that vanishes mid-approval: the approval is cancelled because the MCP client disconnected, and approving it runs nothing", async () => {
      const session = await Session.open(proxy.url);
      const gone = new AbortController();
      const waiting = session.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "deploy", arguments: { target: "prod" } } }, gone.signal);
      const approvalId = await pendingApproval(sidecar);
      gone.abort(); // the connection closes: no notifications/cancelled, no DELETE
      await waiting.catch(() => undefined);
      await waitFor(async () => (await approval(sidecar, approvalId)).status === "cancelled");
      assert.equal((await approval(sidecar, approvalId)).resolution_reason, "the MCP client disconnected");
      const approve = await resolveApproval(sidecar, approvalId, "approve");
      assert.notEqual(approve.status, 200, "a cancelled approval cannot be approved");
      // The session still works, and the call never reached the upstream.
      assert.match(await session.callText("whoami"), /^\d+$/);
      assert.deepEqual(deploys(), []);
      await session.delete();
    });

    it("a session DELETEd mid-approval: the approval is cancelled because the MCP client closed its session", async () => {
      const session = await Session.open(proxy.url);
      const waiting = session.send({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "deploy", arguments: { target: "staging" } } });
      const approvalId = await pendingApproval(sidecar);
      assert.equal(await session.delete(), 200);
      await waiting.catch(() => undefined);
      await waitFor(async () => (await approval(sidecar, approvalId)).status === "cancelled");
      assert.equal((await approval(sidecar, approvalId)).resolution_reason, "the MCP client closed its session");
      assert.deepEqual(deploys(), []);
    });

    it("an invalid message whose id is readable is answered with that id (with and without a session)", async () => {
      const invalid = { jsonrpc: "2.0", id: "bad-1", method: 42 };
      const outside = await postRaw(proxy.url, invalid);
      assert.equal(outside.status, 400);
      assert.deepEqual([outside.body.id, outside.body.error.code], ["bad-1", -32600]);
      const session = await Session.open(proxy.url);
      const inside = await postRaw(proxy.url, { ...invalid, id: 99 }, { "mcp-session-id": session.id, "mcp-protocol-version": "2025-06-18" });
      assert.equal(inside.status, 400);
      assert.deepEqual([inside.body.id, inside.body.error.code], [99, -32600]);
      const unreadable = await postRaw(proxy.url, { jsonrpc: "2.0", id: { no: "id" }, method: "ping" });
      assert.equal(unreadable.body.id, null);
      await session.delete();
    });

    it("past --max-sessions, sessions their clients left without a DELETE make room: the idlest closes with its upstream, its client gets 404", async () => {
      // Clients that went away without ending their session (the conformance suite's, most hosts'): idle, no stream.
      const first = await Session.open(proxy.url);
      const second = await Session.open(proxy.url);
      const firstUpstream = Number(await first.callText("whoami"));
      const secondUpstream = Number(await second.callText("whoami")); // second is now the more recently active
      const third = await Session.open(proxy.url);
      assert.match(await third.callText("whoami"), /^\d+$/);
      await waitFor(() => !alive(firstUpstream), 20_000);
      assert.ok(alive(secondUpstream), "the idlest session closes, not the other");
      assert.equal((await first.send({ jsonrpc: "2.0", id: 2, method: "tools/list" })).status, 404);
      assert.equal(await second.callText("whoami"), String(secondUpstream));
      assert.match(proxy.stderr(), /closed to make room for a new one \(at most 2 at once\)/);
      await Promise.all([second.delete(), third.delete()]);
    });

    it("past --max-sessions with every session in use (a GET stream open, a call being answered): 503 naming the limit, with the initialize's id", async () => {
      const listening = await Session.open(proxy.url);
      const stream = await listening.openStream();
      const calling = await Session.open(proxy.url);
      const stop = new AbortController();
      const waiting = calling.send({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "deploy", arguments: { target: "prod" } } }, stop.signal);
      const approvalId = await pendingApproval(sidecar);
      const refused = await postRaw(proxy.url, initializeRequest("third"));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.id, "third");
      assert.match(refused.body.error.message, /at most 2 at once \(maxSessions, --max-sessions\), and each one is in use/);
      // The stream closing leaves that session idle: it makes room, and the one with a call waiting is kept.
      stream.abort();
      const third = await Session.open(proxy.url);
      assert.equal((await listening.send({ jsonrpc: "2.0", id: 3, method: "tools/list" })).status, 404);
      assert.equal((await approval(sidecar, approvalId)).status, "pending", "the session with a call waiting for approval stays");
      stop.abort();
      await waiting.catch(() => undefined);
      await waitFor(async () => (await approval(sidecar, approvalId)).status === "cancelled");
      assert.deepEqual(deploys(), []);
      await Promise.all([calling.delete(), third.delete()]);
    });
  });

  it("the flags are checked: durations, a positive limit, only with --transport http, a run id's length (exit 2, naming the flag)", async () => {
    for (const [args, message] of [
      [["--transport", "http", "--session-idle-timeout", "soon"], /--session-idle-timeout: "soon" is not a duration/],
      [["--transport", "http", "--max-sessions", "0"], /--max-sessions: /],
      [["--max-sessions", "4"], /--max-sessions: only with --transport http/],
      [["--session-idle-timeout", "5m"], /--session-idle-timeout: only with --transport http/],
      // A run id goes into every guard request: one the sidecar would refuse is refused here.
      [["--run-id", "r".repeat(257)], /--run-id: .*256/],
      [["APIE_RUN_ID", "r".repeat(257)], /APIE_RUN_ID: .*256/],
    ] as const) {
      const fromEnv = args[0] === "APIE_RUN_ID";
      const argv = fromEnv ? [] : args;
      const env = fromEnv ? { ...cleanEnv(), APIE_RUN_ID: args[1] } : cleanEnv();
      const result = await run(process.execPath, [CLI, "mcp", "proxy", "--config", configFile, ...argv], { env }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  describe("--session-idle-timeout", () => {
    it("an idle session is closed with its upstream process; the client's next request gets 404", async () => {
      const proxy = await startProxy("--session-idle-timeout", "1s");
      const session = await Session.open(proxy.url);
      const pid = Number(await session.callText("whoami"));
      assert.ok(alive(pid));
      await waitFor(() => !alive(pid), 20_000);
      const after = await postRaw(proxy.url, { jsonrpc: "2.0", id: 3, method: "tools/list" }, { "mcp-session-id": session.id, "mcp-protocol-version": "2025-06-18" });
      assert.equal(after.status, 404);
      assert.match(proxy.stderr(), /expired after 1 s without a request/);
      // A new session works (the client initializes again).
      const again = await Session.open(proxy.url);
      assert.notEqual(Number(await again.callText("whoami")), pid);
      await again.delete();
    });
  });

  it("apie.mcp.json's sessionIdleTimeoutMs and maxSessions apply without flags, and the flags override them", async () => {
    const fileWithLimits = writeJson(workspace, "apie.mcp.limits.json", {
      agentKey: "mcp-sessions",
      serverName: "recording",
      mode: "enforce",
      upstream: { command: process.execPath, args: [RECORDING] },
      sessionIdleTimeoutMs: 1_000,
      maxSessions: 1,
    });
    const fromFile = await startHttpProxy(["--config", fileWithLimits], { ...sidecarEnv(sidecar), RECORDING_CALLS_FILE: callsFile });
    proxies.push(fromFile);
    const only = await Session.open(fromFile.url);
    const pid = Number(await only.callText("whoami"));
    // In use (a call waiting for approval, which also stops its idle clock): no room for a second session.
    const stop = new AbortController();
    const waiting = only.send({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "deploy", arguments: { target: "qa" } } }, stop.signal);
    await pendingApproval(sidecar);
    const refused = await postRaw(fromFile.url, initializeRequest("second"));
    assert.equal(refused.status, 503);
    assert.match(refused.body.error.message, /at most 1 at once/);
    stop.abort();
    await waiting.catch(() => undefined);
    await waitFor(() => !alive(pid), 20_000);
    assert.match(fromFile.stderr(), /expired after 1 s without a request/);
    // --max-sessions wins over the file.
    const flagged = await startHttpProxy(["--config", fileWithLimits, "--max-sessions", "2"], { ...sidecarEnv(sidecar), RECORDING_CALLS_FILE: callsFile });
    proxies.push(flagged);
    const sessions = [await Session.open(flagged.url), await Session.open(flagged.url)];
    await Promise.all(sessions.map((s) => s.delete()));
  });
});

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

function initializeRequest(id: string | number) {
  return { jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw-http", version: "1" } } };
}

/** One POST; the body parsed as JSON, or the first JSON-RPC message of an SSE answer. */
async function postRaw(url: string, message: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { method: "POST", headers: { ...HEADERS, ...headers }, body: JSON.stringify(message), signal });
  const text = await response.text();
  const data = response.headers.get("content-type")?.includes("text/event-stream") ? text.split("\n").find((l) => l.startsWith("data: "))?.slice(6) : text;
  return { status: response.status, headers: response.headers, body: data ? JSON.parse(data) : undefined };
}

/** A session as a host holds it over raw HTTP. */
class Session {
  private constructor(
    private readonly url: string,
    readonly id: string,
  ) {}

  static async open(url: string): Promise<Session> {
    const init = await postRaw(url, initializeRequest(1));
    assert.equal(init.status, 200, JSON.stringify(init.body));
    const session = new Session(url, init.headers.get("mcp-session-id")!);
    assert.equal((await session.send({ jsonrpc: "2.0", method: "notifications/initialized" })).status, 202);
    return session;
  }

  send(message: unknown, signal?: AbortSignal) {
    return postRaw(this.url, message, { "mcp-session-id": this.id, "mcp-protocol-version": "2025-06-18" }, signal);
  }

  async callText(tool: string): Promise<string> {
    const answer = await this.send({ jsonrpc: "2.0", id: `call-${tool}`, method: "tools/call", params: { name: tool, arguments: {} } });
    assert.equal(answer.status, 200);
    return answer.body.result.content[0].text;
  }

  /** Opens the session's GET stream (as the SDK's client does after initializing); abort it to close it. */
  async openStream(): Promise<AbortController> {
    const stream = new AbortController();
    const response = await fetch(this.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": this.id, "mcp-protocol-version": "2025-06-18" }, signal: stream.signal });
    assert.equal(response.status, 200);
    return stream;
  }

  async delete(): Promise<number> {
    return (await fetch(this.url, { method: "DELETE", headers: { "mcp-session-id": this.id, "mcp-protocol-version": "2025-06-18" } })).status;
  }
}

async function approval(sidecar: SidecarUnderTest, id: string): Promise<{ status: string; resolution_reason: string | null }> {
  return (await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
