import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { connectProxy, EVERYTHING, logRecords, writeJson, type ProxiedClient } from "./mcpProxyHarness";
import { call } from "./sidecarHttp";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * The proxy's fast path (sidecar/mcp/localGuard.ts) against a real sidecar: plain allows decided in the proxy
 * and journaled by the sidecar as reported decisions; anything a guardrail matches still decided by the
 * sidecar; a policy edit followed by the next calls. Plus the two endpoints behind it.
 */

const ALLOW_ECHO = { version: 1, mode: "enforce", guardrails: [{ key: "no-secret-echo", name: "No secret echo", decision: "block", reason: "no secrets", match: { "tool.name": "everything.echo", arguments: { "$.message": { glob: "secret*" } } } }] };
const BLOCK_ECHO = { version: 1, mode: "enforce", guardrails: [{ key: "no-echo", name: "No echo", decision: "block", reason: "echo is off", match: { "tool.name": "everything.echo" } }] };

/**
 * A real sidecar on a fresh workspace with `policy`, and the official MCP client through `apie mcp proxy` to
 * server-everything with `config` (agentKey, mode…): started before the describe's tests, stopped after them.
 */
function proxiedEverything(prefix: string, policy: unknown, config: { agentKey: string; mode: "monitor" | "enforce"; guardFailureMode?: string }) {
  const ctx = {
    workspace: "",
    sidecar: undefined as unknown as SidecarUnderTest,
    proxied: undefined as unknown as ProxiedClient,
    records: () => logRecords(ctx.workspace),
    decisionOf: (message: string) => ctx.records().find((r) => r.kind === "decision" && r.data.request.arguments?.message === message),
    echo: (message: string) => ctx.proxied.client.callTool({ name: "echo", arguments: { message } }),
  };
  before(async () => {
    ctx.workspace = mkdtempSync(path.join(tmpdir(), prefix));
    writeJson(ctx.workspace, "apie.policy.json", policy);
    ctx.sidecar = await startSidecarProcess(ctx.workspace);
    ctx.proxied = await connectProxy(writeJson(ctx.workspace, "apie.mcp.json", { ...config, serverName: "everything", upstream: { command: process.execPath, args: [EVERYTHING] } }));
  });
  after(async () => {
    await ctx.proxied?.close();
    await ctx.sidecar?.stop();
    rmSync(ctx.workspace, { recursive: true, force: true });
  });
  return ctx;
}

describe("apie mcp proxy: plain allows decided in the proxy (real sidecar, real MCP server)", function () {
  this.timeout(30_000);
  const ctx = proxiedEverything("apie-mcp-local-", ALLOW_ECHO, { agentKey: "mcp-local", mode: "enforce" });
  const { records, decisionOf, echo } = ctx;

  it("a call nothing matches is decided in the proxy and journaled by the sidecar as a reported, agreeing decision", async () => {
    // The replica is ready once the proxy fetched its snapshot; until then calls are the sidecar's.
    let n = 0;
    await waitFor(async () => {
      await echo(`warm-up ${++n}`);
      return records().some((r) => r.kind === "decision" && r.data.reported !== undefined);
    }, 10_000);
    const result = await echo("hello, decided here");
    assert.deepEqual(result.content, [{ type: "text", text: "Echo: hello, decided here" }]);
    await waitFor(() => decisionOf("hello, decided here") !== undefined);
    const decision = decisionOf("hello, decided here");
    assert.deepEqual({ ...decision.data.reported, decided_at: typeof decision.data.reported.decided_at }, { by: "replica", diverged: false, decided_at: "string" });
    assert.equal(decision.data.decision.effective_decision, "allow");
    assert.equal(decision.data.request.tool.name, "everything.echo");
    // The call's outcome went with the report (it ended within the report's wait): the sidecar journaled the
    // timeline event right behind the decision, naming it.
    const outcome = records().find((r) => r.seq === decision.seq + 1);
    assert.equal(outcome?.kind, "event");
    assert.equal(outcome.data.event.type, "agent.action.completed");
    assert.equal(outcome.data.event.metadata.decision_id, decision.data.decision.decision_id);
    assert.deepEqual([outcome.data.event.agent_key, outcome.data.event.run_id, outcome.data.event.tool.name], ["mcp-local", decision.data.request.run_id, "everything.echo"]);
    // The decision carries the time the proxy made it: before the call ended, before it was logged.
    const decidedAt = Date.parse(decision.data.reported.decided_at);
    assert.ok(decidedAt <= Date.parse(outcome.data.event.timestamp) && decidedAt <= Date.parse(decision.ts), JSON.stringify({ decided_at: decision.data.reported.decided_at, outcome: outcome.data.event.timestamp, ts: decision.ts }));
  });

  it("a stream of calls that never pauses still has its decisions journaled while it runs, not only once it stops", async () => {
    // Reports wait for a pause in the calls (ReportOutbox), but a stream that never pauses must not hold them
    // all: its first decisions reach the log while it still runs (at the latest ~1 s after they were made).
    const log = path.join(ctx.workspace, ".apie/events.jsonl");
    await waitFor(() => decisionOf("hello, decided here") !== undefined); // the first test's reports are in
    const sizeBefore = statSync(log).size;
    const started = Date.now();
    let calls = 0;
    let grewAfter: number | undefined;
    while (Date.now() - started < 6_000) {
      await echo(`stream ${++calls}`);
      if (calls % 50 === 0 && statSync(log).size > sizeBefore) {
        grewAfter = Date.now() - started;
        break;
      }
    }
    assert.ok(grewAfter !== undefined, `nothing was journaled during ${calls} calls in a row over 6 s`);
    await waitFor(() => decisionOf("stream 1") !== undefined);
    assert.equal(decisionOf("stream 1").data.reported.by, "replica");
  });

  it("a call still running when its decision is reported has its outcome journaled too, linked to the decision", async () => {
    const result = await ctx.proxied.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 1 } });
    assert.notEqual(result.isError, true);
    const decisionOfLong = () => records().find((r) => r.kind === "decision" && r.data.request.tool.name === "everything.trigger-long-running-operation");
    await waitFor(() => decisionOfLong() !== undefined);
    assert.deepEqual([decisionOfLong().data.reported.by, decisionOfLong().data.reported.diverged], ["replica", false]);
    const id = decisionOfLong().data.decision.decision_id;
    await waitFor(() => records().some((r) => r.kind === "event" && r.data.event.type === "agent.action.completed" && r.data.event.metadata?.decision_id === id));
  });

  it("a call a guardrail matches is still the sidecar's: -32001, and its decision is not a reported one", async () => {
    const error = await echo("secret sauce").then(
      () => assert.fail("expected -32001"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError && error.code === -32001, String(error));
    const decision = decisionOf("secret sauce");
    assert.equal(decision.data.decision.policy_decision, "block");
    assert.equal(decision.data.reported, undefined);
  });

  it("a policy edit reaches the replica: the next calls follow it, both ways", async () => {
    writeJson(ctx.workspace, "apie.policy.json", BLOCK_ECHO);
    let n = 0;
    await waitFor(async () => {
      const outcome = await echo(`after the edit ${++n}`).then(
        () => "allowed",
        (e: unknown) => (e instanceof McpError && e.code === -32001 ? "blocked" : String(e)),
      );
      return outcome === "blocked";
    }, 10_000);
    writeJson(ctx.workspace, "apie.policy.json", ALLOW_ECHO);
    await waitFor(() =>
      echo(`allowed again ${++n}`).then(
        () => true,
        () => false,
      ),
    10_000);
    // Back to plain allows: decided in the proxy again (reports reach the sidecar in batches, once the calls pause).
    await waitFor(async () => {
      const message = `decided here again ${++n}`;
      await echo(message);
      await waitFor(() => decisionOf(message) !== undefined);
      return decisionOf(message).data.reported?.by === "replica";
    }, 10_000);
  });
});

describe("apie mcp proxy in monitor mode: every call decided before it runs, faults included (real sidecar, real MCP server)", function () {
  this.timeout(30_000);
  const ctx = proxiedEverything("apie-mcp-monitor-", { ...ALLOW_ECHO, mode: "monitor" }, { agentKey: "mcp-monitor", mode: "monitor", guardFailureMode: "fail_closed" });
  const { records, decisionOf, echo } = ctx;
  const setMode = (mode: string) => call(ctx.sidecar, "POST", "/v1/mode", { key: ctx.sidecar.discovery.adminKey, body: JSON.stringify({ mode }) });

  before(async () => {
    let n = 0;
    await waitFor(async () => {
      await echo(`warm-up ${++n}`);
      return records().some((r) => r.kind === "decision" && r.data.reported !== undefined);
    }, 10_000);
  });

  it("a call a guardrail would block runs, and the sidecar journals its would-block decision before the call's outcome, which names it", async () => {
    const result = await echo("secret but monitored");
    assert.deepEqual(result.content, [{ type: "text", text: "Echo: secret but monitored" }]);
    await waitFor(() => records().some((r) => r.kind === "event" && r.data.event.type === "agent.action.completed" && r.data.event.metadata?.decision_id === decisionOf("secret but monitored")?.data.decision.decision_id));
    const decision = decisionOf("secret but monitored");
    assert.deepEqual([decision.data.decision.policy_decision, decision.data.decision.annotation, decision.data.reported], ["block", "would_block", undefined]);
    const outcome = records().find((r) => r.kind === "event" && r.data.event.metadata?.decision_id === decision.data.decision.decision_id);
    assert.ok(outcome.seq > decision.seq, "the outcome is journaled after its decision");
    await waitFor(() => /would block in enforce mode: everything\.echo \[no-secret-echo\]/.test(ctx.proxied.stderr()));
  });

  it("a plain call is decided by the proxy's replica before its outcome is known, and journaled with it", async () => {
    await echo("plain and monitored");
    await waitFor(() => decisionOf("plain and monitored") !== undefined);
    const decision = decisionOf("plain and monitored");
    assert.equal(decision.data.reported?.by, "replica");
    const outcome = records().find((r) => r.seq === decision.seq + 1);
    assert.equal(outcome?.data.event.metadata.decision_id, decision.data.decision.decision_id);
    assert.ok(Date.parse(decision.data.reported.decided_at) <= Date.parse(outcome.data.event.timestamp), JSON.stringify({ decided_at: decision.data.reported.decided_at, outcome: outcome.data.event.timestamp }));
  });

  it("a call still running is decided while it runs: its decision is in the log before it ends", async () => {
    let ended = false;
    const running = ctx.proxied.client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 2, steps: 1 } }).finally(() => (ended = true));
    const decisionOfLong = () => records().find((r) => r.kind === "decision" && r.data.request.tool.name === "everything.trigger-long-running-operation");
    await waitFor(() => decisionOfLong() !== undefined, 1_800);
    assert.equal(ended, false, "the decision was journaled only after the call ended");
    assert.equal(decisionOfLong().data.reported?.by, "replica");
    await running;
  });

  it("a stalled sidecar is no allow: a call a guardrail matched waits for its decision, and fail_closed refuses it (-32001), never run", async () => {
    // Plain calls are the replica's and need no sidecar; a matched one is the sidecar's to decide, so while the
    // sidecar is stopped (SIGSTOP: its socket open, nothing answered) the call waits for the guard's deadline.
    ctx.sidecar.child.kill("SIGSTOP");
    try {
      assert.deepEqual((await echo("plain during the stall")).content, [{ type: "text", text: "Echo: plain during the stall" }]);
      const error = await echo("secret during the stall").then(
        (r) => assert.fail(`the matched call ran: ${JSON.stringify(r.content)}`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof McpError && error.code === -32001, String(error));
      assert.match(JSON.stringify((error as McpError).data), /guard unavailable/, JSON.stringify(error));
    } finally {
      ctx.sidecar.child.kill("SIGCONT");
    }
    await waitFor(() => /guard unavailable, blocking \(fail_closed\)/.test(ctx.proxied.stderr()));
  });

  it("once the workspace is switched to enforce, the proxy's own monitor no longer lets a call run: -32001, never forwarded", async () => {
    assert.equal((await setMode("enforce")).status, 200);
    try {
      let n = 0;
      await waitFor(async () => {
        const message = `secret after the switch ${++n}`;
        const outcome = await echo(message).then(
          (r) => JSON.stringify(r.content),
          (e: unknown) => (e instanceof McpError && e.code === -32001 ? "blocked" : String(e)),
        );
        return outcome === "blocked";
      }, 10_000);
      // From then on, every such call is held and refused: none reaches the upstream.
      for (let i = 0; i < 20; i++) {
        const error = await echo(`secret held ${i}`).then(
          () => assert.fail(`call ${i} was forwarded in enforce mode`),
          (e: unknown) => e,
        );
        assert.ok(error instanceof McpError && error.code === -32001, String(error));
      }
    } finally {
      await setMode("monitor");
    }
  });
});

describe("the replica endpoints: snapshot, reported decisions, guard frames (real sidecar)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const body = (message: string) => ({ agent_key: "mcp-local", mode: "enforce", tool: { name: "everything.echo", provider: "mcp" }, arguments: { message } });

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-replica-"));
    writeJson(workspace, "apie.policy.json", ALLOW_ECHO);
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("GET /v1/guardrails/snapshot gives the policy text in force, the mode, declarations and definitions, versioned", async () => {
    const snapshot = await call(sidecar, "GET", "/v1/guardrails/snapshot?agent_key=mcp-local");
    assert.equal(snapshot.status, 200);
    assert.equal(snapshot.body.policy_state, "ok");
    assert.deepEqual(JSON.parse(snapshot.body.policy_text), ALLOW_ECHO);
    assert.equal(typeof snapshot.body.version, "number");
    const missing = await call(sidecar, "GET", "/v1/guardrails/snapshot");
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.field, "agent_key");
  });

  it("POST /v1/guardrails/decisions: each is decided again and journaled; one the sidecar would not allow is reported diverged; a resend is not logged twice", async () => {
    const report = { decisions: [{ decision_id: "dec_replica_1", body: body("fine") }, { decision_id: "dec_replica_2", body: body("secret") }] };
    const answer = await call(sidecar, "POST", "/v1/guardrails/decisions", { body: JSON.stringify(report) });
    assert.deepEqual(answer.body, { accepted: 2, diverged: ["dec_replica_2"] });
    const again = await call(sidecar, "POST", "/v1/guardrails/decisions", { body: JSON.stringify(report) });
    assert.deepEqual(again.body, { accepted: 0, diverged: [] });
    await waitFor(() => logRecords(workspace).some((r) => r.data.decision?.decision_id === "dec_replica_2"));
    const logged = logRecords(workspace).filter((r) => r.kind === "decision");
    assert.deepEqual(
      logged.map((r) => [r.data.decision.decision_id, r.data.decision.policy_decision, r.data.reported]),
      [
        ["dec_replica_1", "allow", { by: "replica", diverged: false }],
        ["dec_replica_2", "block", { by: "replica", diverged: true }],
      ],
    );
    const bad = await call(sidecar, "POST", "/v1/guardrails/decisions", { body: JSON.stringify({ decisions: [{ decision_id: "x", body: { mode: "enforce" } }] }) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, "decisions.0.body.agent_key");
  });

  it("POST /v1/guardrails/decisions with an outcome: the sidecar journals the call's timeline event behind the decision", async () => {
    const at = "2026-11-24T10:00:00.000Z";
    const report = {
      decisions: [
        { decision_id: "dec_done", body: body("fine"), decided_at: "2026-11-24T09:59:59.990Z", outcome: { status: "completed", at } },
        { decision_id: "dec_failed", body: { ...body("fine too"), run_id: "run_x" }, outcome: { status: "failed", at, error: "MCP error -32603: boom" } },
      ],
    };
    const answer = await call(sidecar, "POST", "/v1/guardrails/decisions", { body: JSON.stringify(report) });
    assert.deepEqual(answer.body, { accepted: 2, diverged: [] });
    await waitFor(() => logRecords(workspace).some((r) => r.data.event?.metadata?.decision_id === "dec_failed"));
    const logged = logRecords(workspace).map((r) => (r.kind === "decision" ? ["decision", r.data.decision.decision_id] : [r.data.event.type, r.data.event.metadata.decision_id]));
    assert.deepEqual(logged, [
      ["decision", "dec_done"],
      ["agent.action.completed", "dec_done"],
      ["decision", "dec_failed"],
      ["agent.action.failed", "dec_failed"],
    ]);
    assert.deepEqual(logRecords(workspace)[0].data.reported, { by: "replica", diverged: false, decided_at: "2026-11-24T09:59:59.990Z" });
    const failed = logRecords(workspace)[3].data.event;
    assert.deepEqual([failed.agent_key, failed.run_id, failed.timestamp, failed.error, failed.tool.name], ["mcp-local", "run_x", at, { message: "MCP error -32603: boom" }, "everything.echo"]);
    const bad = await call(sidecar, "POST", "/v1/guardrails/decisions", { body: JSON.stringify({ decisions: [{ decision_id: "y", body: body("x"), outcome: { status: "failed", at } }] }) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, "decisions.0.outcome.error");
  });

  it("POST /v1/guardrails/decisions: long batches do not hold up other requests (a request sent meanwhile is answered first)", async () => {
    let n = 0;
    const batch = () => JSON.stringify({ decisions: Array.from({ length: 500 }, () => ({ decision_id: `dec_bulk_${n++}`, body: body("bulk"), outcome: { status: "completed", at: new Date().toISOString() } })) });
    const order: string[] = [];
    const batches = [batch(), batch()].map((b) => call(sidecar, "POST", "/v1/guardrails/decisions", { body: b }).then((r) => (order.push("batch"), r)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const health = call(sidecar, "GET", "/v1/health").then((r) => (order.push("health"), r));
    const answers = await Promise.all([...batches, health]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.equal(order.at(-1), "batch", `answered in the order ${order.join(", ")}`);
  });

  it("`guard` subscribers hear every change of the guard state; hello carries the current version", async () => {
    const ws = new WebSocket(sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${sidecar.discovery.apiKey}` } });
    const frames: any[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    await waitFor(() => frames.some((f) => f.type === "hello"));
    const start = frames.find((f) => f.type === "hello").guard_version;
    ws.send(JSON.stringify({ type: "subscribe", topics: ["guard"] }));
    await new Promise((r) => setTimeout(r, 50));
    await call(sidecar, "POST", "/v1/mode", { key: sidecar.discovery.adminKey, body: JSON.stringify({ mode: "monitor" }) });
    await waitFor(() => frames.some((f) => f.type === "guard" && f.version > start));
    writeJson(workspace, "apie.policy.json", BLOCK_ECHO);
    await waitFor(() => frames.filter((f) => f.type === "guard").length >= 2, 10_000);
    const snapshot = await call(sidecar, "GET", "/v1/guardrails/snapshot?agent_key=mcp-local");
    assert.equal(snapshot.body.version, frames.filter((f) => f.type === "guard").at(-1).version);
    assert.equal(snapshot.body.workspace_mode, "monitor");
    ws.close();
  });
});
