import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { approvalStatus, cleanEnv, connectProxy, CRASHING, EVERYTHING, freePort, pendingApproval, RawMcp, sidecarEnv, writeJson } from "./mcpProxyHarness";
import { CLI, startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const run = promisify(execFile);

/**
 * What the proxy does when something is wrong: malformed input from the host, hosts on other protocol
 * versions, a client that cancels without waiting, an upstream that crashes or cannot start, a sidecar that
 * is down (each guardFailureMode), a broken config. Raw JSON lines where the exact bytes matter.
 */
describe("apie mcp proxy: faults, protocol versions, exit codes (real processes)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const raws: RawMcp[] = [];
  const everything = (fields: object = {}) => ({ agentKey: "mcp-faults", serverName: "everything", mode: "enforce", upstream: { command: process.execPath, args: [EVERYTHING] }, ...fields });
  function raw(configFile: string, env = sidecarEnv(sidecar), args: string[] = []): RawMcp {
    const p = RawMcp.proxy(["--config", configFile, ...args], env, workspace);
    raws.push(p);
    return p;
  }

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-faults-"));
    writeJson(workspace, "apie.policy.json", {
      version: 1,
      guardrails: [
        { key: "no-secret-echo", name: "No secret echo", decision: "block", reason: "echoing secrets is not allowed", match: { "tool.name": "everything.echo", arguments: { "$.message": { glob: "secret*" } } } },
        { key: "sums-need-approval", name: "Sums need approval", decision: "require_approval", reason: "sums are sensitive", match: { "tool.name": "everything.get-sum" } },
      ],
    });
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    raws.forEach((p) => p.kill());
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("a line that is not JSON gets -32700 (id null), JSON that is not JSON-RPC -32600; the proxy answers the next request", async () => {
    const p = raw(writeJson(workspace, "raw.mcp.json", everything()));
    await p.initialize();
    p.write("this is not json");
    assert.deepEqual((await p.next((m) => m.error?.code === -32700)).id, null);
    p.write('{"hello": "world"}');
    const invalid = await p.next((m) => m.error?.code === -32600);
    assert.equal(invalid.id, null);
    assert.deepEqual((await p.request(7, "ping")).result, {});
    assert.deepEqual((await p.request(8, "tools/call", { name: "echo", arguments: { message: "after garbage" } })).result, { content: [{ type: "text", text: "Echo: after garbage" }] });
    p.child.stdin!.end();
    assert.equal(await p.exited, 0, "stdin closed → exit 0");
    assert.match(p.stderr(), /not JSON/);
  });

  it("hosts on 2025-06-18, 2025-11-25 and 2026-07-28: initialize and tools/call pass exactly as the upstream answers them", async function () {
    this.timeout(30_000); // six processes start at once
    const file = writeJson(workspace, "versions.mcp.json", everything());
    await Promise.all(
      ["2025-06-18", "2025-11-25", "2026-07-28"].map(async (version) => {
        const [viaProxy, directly] = [raw(file), new RawMcp([EVERYTHING])];
        try {
          const [a, b] = await Promise.all([viaProxy.initialize(version), directly.initialize(version)]);
          assert.deepEqual(a, b, version);
          const call = { name: "echo", arguments: { message: `on ${version}` } };
          assert.deepEqual(await viaProxy.request(2, "tools/call", call), await directly.request(2, "tools/call", call), version);
        } finally {
          viaProxy.child.stdin!.end();
          directly.kill();
        }
        assert.equal(await viaProxy.exited, 0);
      }),
    );
  });

  it("notifications/cancelled for a call waiting for approval: no answer at all, the approval cancelled", async () => {
    const p = raw(writeJson(workspace, "cancel.mcp.json", everything()));
    await p.initialize();
    p.write({ jsonrpc: "2.0", id: 41, method: "tools/call", params: { name: "get-sum", arguments: { a: 1, b: 1 } } });
    const id = await pendingApproval(sidecar);
    p.write({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 41, reason: "user pressed stop" } });
    await waitFor(async () => (await approvalStatus(sidecar, id)) === "cancelled");
    assert.deepEqual((await p.request(42, "ping")).result, {});
    assert.equal(p.messages.filter((m) => m.id === 41).length, 0, "a cancelled request gets no response");
    p.child.stdin!.end();
    assert.equal(await p.exited, 0);
  });

  it("the upstream crashing: the pending call gets an error and the proxy exits non-zero, saying why", async () => {
    const p = raw(writeJson(workspace, "crash.mcp.json", { agentKey: "mcp-crash", serverName: "crashy", mode: "enforce", upstream: { command: process.execPath, args: [CRASHING] } }));
    await p.initialize();
    assert.deepEqual((await p.request(1, "tools/call", { name: "echo", arguments: { message: "fine" } })).result, { content: [{ type: "text", text: "echo: fine" }] });
    const answer = await p.request(2, "tools/call", { name: "crash", arguments: {} });
    assert.equal(answer.error.code, -32603);
    assert.match(answer.error.message, /Upstream MCP server exited before answering tools\/call/);
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /the upstream MCP server .*crashingServer\.mjs exited; stopping \(exit 1\)/);
  });

  it("an upstream command that cannot start: exit 1 and a clear message", async () => {
    const p = raw(writeJson(workspace, "nostart.mcp.json", everything({ upstream: { command: "/nonexistent/mcp-server" } })));
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /cannot start the upstream MCP server \/nonexistent\/mcp-server: .*ENOENT/);
  });

  describe("sidecar down", () => {
    let dead: Record<string, string>;
    before(async () => {
      dead = cleanEnv({ APIE_BASE_URL: `http://127.0.0.1:${await freePort()}`, APIE_API_KEY: "apie_unused" });
    });

    it("fail_open: the call is forwarded, with a warning on stderr", async () => {
      const p = await connectProxy(writeJson(workspace, "open.mcp.json", everything({ guardFailureMode: "fail_open" })), [], dead);
      try {
        assert.deepEqual(await p.client.callTool({ name: "echo", arguments: { message: "secret, but nobody is watching" } }), { content: [{ type: "text", text: "Echo: secret, but nobody is watching" }] });
        await waitFor(() => /guard unavailable, proceeding \(fail_open\): sidecar unreachable/.test(p.stderr()));
      } finally {
        await p.close();
      }
    });

    it('fail_closed: -32001 with reason "guard unavailable…"', async () => {
      const p = await connectProxy(writeJson(workspace, "closed.mcp.json", everything({ guardFailureMode: "fail_closed" })), [], dead);
      try {
        const error = await p.client.callTool({ name: "echo", arguments: { message: "hello" } }).catch((e: unknown) => e);
        assert.ok(error instanceof McpError);
        assert.equal(error.code, -32001);
        assert.match((error.data as { reason: string }).reason, /^guard unavailable \(fail_closed\): sidecar unreachable/);
      } finally {
        await p.close();
      }
    });

    it("throw: -32603 naming the cause", async () => {
      const p = await connectProxy(writeJson(workspace, "throw.mcp.json", everything({ guardFailureMode: "throw" })), [], dead);
      try {
        const error = await p.client.callTool({ name: "echo", arguments: { message: "hello" } }).catch((e: unknown) => e);
        assert.ok(error instanceof McpError);
        assert.equal(error.code, -32603);
        assert.match(error.message, /guard unavailable: sidecar unreachable \(POST \/v1\/guardrails\/evaluate: ECONNREFUSED\)/);
      } finally {
        await p.close();
      }
    });

    it("no sidecar found at all (no APIE_BASE_URL, no discovery file): guardFailureMode decides; tools/list still passes", async () => {
      const elsewhere = mkdtempSync(path.join(tmpdir(), "apie-mcp-nosidecar-"));
      try {
        const p = await connectProxy(writeJson(elsewhere, "apie.mcp.json", everything({ guardFailureMode: "fail_closed" })), [], cleanEnv());
        try {
          assert.ok((await p.client.listTools()).tools.length > 0);
          const error = await p.client.callTool({ name: "echo", arguments: { message: "hello" } }).catch((e: unknown) => e);
          assert.ok(error instanceof McpError);
          assert.equal(error.code, -32001);
          assert.match((error.data as { reason: string }).reason, /no sidecar found/);
        } finally {
          await p.close();
        }
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  });

  describe("command line", () => {
    const cli = (args: string[]) => run(process.execPath, [CLI, "mcp", ...args], { cwd: workspace, env: cleanEnv() }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

    it("usage errors exit 2 and name the flag", async () => {
      for (const [args, message] of [
        [["proxy", "--transport", "carrier-pigeon"], /--transport: /],
        [["proxy", "--approval-timeout", "soon"], /--approval-timeout: "soon" is not a duration/],
        [["proxy", "--port", "8080"], /--port: only with --transport http/],
        [["proxy", "--upstream-arg", "x"], /--upstream-arg: only with --upstream-command/],
        [["proxy", "--bogus"], /Unknown option '--bogus'/],
        [["launch"], /unknown subcommand "launch"/],
      ] as const) {
        const r = await cli([...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
      const help = await cli(["proxy", "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /apie mcp proxy \[--config apie\.mcp\.json\]/);
    });

    it("config errors exit 1 and name the field", async () => {
      const file = writeJson(workspace, "bad.mcp.json", { serverName: "everything", upstream: { command: "node" }, mode: "sometimes" });
      const r = await cli(["proxy", "--config", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bad\.mcp\.json:\d+:\d+: mode: /);
      const noKey = await cli(["proxy", "--config", writeJson(workspace, "nokey.mcp.json", { serverName: "everything", upstream: { command: "node" } })]);
      assert.equal(noKey.code, 1);
      assert.match(noKey.stderr, /agentKey: required/);
    });

    it("--upstream-command/--upstream-arg replace the file's upstream (and make a file without one valid)", async () => {
      const file = writeJson(workspace, "flags.mcp.json", { agentKey: "mcp-flags", serverName: "crashy", mode: "enforce" });
      const p = raw(file, sidecarEnv(sidecar), ["--upstream-command", process.execPath, "--upstream-arg", CRASHING]);
      await p.initialize();
      assert.deepEqual((await p.request(1, "tools/call", { name: "echo", arguments: { message: "via flags" } })).result, { content: [{ type: "text", text: "echo: via flags" }] });
      p.child.stdin!.end();
      assert.equal(await p.exited, 0);
    });
  });
});
