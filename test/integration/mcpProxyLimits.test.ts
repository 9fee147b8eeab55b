import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { canonicalHash } from "../../sidecar/store/canonical";
import { CRASHING, logRecords, RawMcp, sidecarEnv, writeJson } from "./mcpProxyHarness";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Messages too big for the proxy's stdio framing (issue 14, item 6): a line over the limit, from the host or
 * from the upstream, is dropped unread and answered with an error under its id; the proxy keeps serving.
 * Arguments too big for the sidecar's body limit (item 3): the call's decision is journaled all the same,
 * its arguments by digest.
 * Real processes: `apie mcp proxy` over stdio, a real sidecar, the raw fixture server as upstream.
 */
describe("apie mcp proxy: oversized lines and arguments (real processes)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let proxy: RawMcp;
  const TEN_MB = 10 * 1024 * 1024;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-limits-"));
    writeJson(workspace, "apie.policy.json", { version: 1, guardrails: [] });
    sidecar = await startSidecarProcess(workspace);
    const config = writeJson(workspace, "apie.mcp.json", { agentKey: "mcp-limits", serverName: "fixture", mode: "enforce", upstream: { command: process.execPath, args: [CRASHING] } });
    proxy = RawMcp.proxy(["--config", config], sidecarEnv(sidecar), workspace);
    await proxy.initialize();
  });
  after(async () => {
    proxy?.kill();
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  const echo = async (id: number, message: string) => (await proxy.request(id, "tools/call", { name: "echo", arguments: { message } }, 20_000)).result;
  /** Plain allows are decided in the proxy, in the turn they arrive in, once its replica is current: calls until one was reported. */
  let warmUpId = 100;
  const untilTheReplicaDecides = () =>
    waitFor(async () => {
      await echo(++warmUpId, "warm-up");
      return logRecords(workspace).some((r) => r.kind === "decision" && r.data.reported?.by === "replica");
    }, 15_000);

  it("a 10 MB request from the host is answered -32600 under its id (read at the line's start or its end); the next calls are served", async () => {
    const filler = "y".repeat(TEN_MB);
    proxy.write(`{"jsonrpc":"2.0","id":"big-1","method":"tools/call","params":{"name":"echo","arguments":{"message":"${filler}"}}}`);
    const first = await proxy.next((m) => m.id === "big-1", 20_000);
    assert.equal(first.error?.code, -32600);
    assert.match(first.error.message, /exceeds the MCP proxy's \d+-byte limit/);
    // An id the serializer put last is found by the scan of the line's end.
    proxy.write(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"message":"${filler}"}},"id":4242}`);
    assert.equal((await proxy.next((m) => m.id === 4242, 20_000)).error?.code, -32600);
    // A notification that size has no id to answer: dropped, and the stream goes on.
    proxy.write(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${filler}"}}`);
    assert.deepEqual(await echo(2, "still here"), { content: [{ type: "text", text: "echo: still here" }] });
    assert.deepEqual((await proxy.request(3, "ping")).result, {});
    assert.equal(proxy.child.exitCode, null, "the proxy keeps running");
    assert.match(proxy.stderr(), /from the MCP client exceeds the \d+-byte limit; dropped \(no id to answer\)/);
  });

  it("an upstream's answer reaches a stdio host byte for byte: checked, not serialized again (spacing, key order and escapes kept)", async () => {
    const answer = await proxy.request(20, "tools/call", { name: "verbatim", arguments: {} });
    assert.deepEqual(answer.result, { content: [{ text: "spaced  \u00e9", type: "text" }] });
    const line = proxy.lines.find((l) => JSON.parse(l).id === 20);
    // As crashingServer.mjs writes it.
    assert.equal(line, '{ "id" : 20,"result":{ "content" : [ {"text":"spaced  \\u00e9", "type":"text"} ] } , "jsonrpc":"2.0" }');
  });

  it("what the host sends reaches a stdio upstream byte for byte: checked, not serialized again", async () => {
    const request = '{ "method" : "fixture/received","params":{ "b":1, "a":"\\u00e9" }, "id":"r-1", "jsonrpc":"2.0" }';
    proxy.write(request);
    assert.equal((await proxy.next((m) => m.id === "r-1")).result?.line, request);
  });

  it("a tool call reaches the upstream as the guard parsed it, not as its line: a duplicate key cannot say one thing to the guard and another to the server", async () => {
    await untilTheReplicaDecides();
    // JSON.parse keeps the last of two equal keys; a parser that keeps the first would run what the guard never saw.
    proxy.write('{"jsonrpc":"2.0","id":"r-2","method":"tools/call","params":{"name":"received","arguments":{"path":"/etc/shadow","path":"notes.txt"}}}');
    const answer = await proxy.next((m) => m.id === "r-2");
    const received = JSON.parse(answer.result?.content?.[0]?.text) as { params: { arguments: unknown } };
    assert.deepEqual(received.params.arguments, { path: "notes.txt" });
    assert.doesNotMatch(answer.result.content[0].text, /shadow/);
  });

  it("a cancellation reaches the upstream as the proxy parsed it: the request it cancels is the one whose outcome is logged as cancelled", async () => {
    proxy.write('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"other-call","requestId":"r-2"}}');
    // One pipe, in order: the notification has reached the fixture before this request.
    const line = (await proxy.request("n-1", "fixture/lastNotification")).result?.line as string;
    assert.deepEqual(JSON.parse(line).params, { requestId: "r-2" });
    assert.doesNotMatch(line, /other-call/);
  });

  it("a 17 MB answer from the upstream reaches the host as -32603 under its request's id; the next calls are served", async () => {
    const answer = await proxy.request(10, "tools/call", { name: "oversized", arguments: { bytes: 17 * 1024 * 1024 } }, 30_000);
    assert.equal(answer.error?.code, -32603);
    assert.match(answer.error.message, /answer \(\d+ bytes\) exceeds the MCP proxy's \d+-byte limit/);
    assert.deepEqual(await echo(11, "after the big answer"), { content: [{ type: "text", text: "echo: after the big answer" }] });
    assert.equal(proxy.child.exitCode, null);
    assert.ok(!proxy.messages.some((m) => m.method === "notifications/message"), "the oversized notification was dropped, not forwarded");
    assert.match(proxy.stderr(), /from the upstream MCP server exceeds the proxy's \d+-byte limit; dropped \(no id to answer\)/);
  });

  it("an allowed call with 2 MiB of arguments: its decision is journaled (arguments by size, SHA-256 and preview) before its outcome", async () => {
    await untilTheReplicaDecides();
    const big = { message: `big ${"z".repeat(2 * 1024 * 1024)}` };
    const answer = await proxy.request(200, "tools/call", { name: "echo", arguments: big }, 30_000);
    assert.equal(answer.result?.content?.[0]?.text?.length, big.message.length + "echo: ".length, "the call ran");
    const sha256 = canonicalHash(big);
    const decisionOfBig = () => logRecords(workspace).find((r) => r.kind === "decision" && r.data.request.arguments?.apie_too_large?.sha256 === sha256);
    await waitFor(() => decisionOfBig() !== undefined, 10_000);
    const decision = decisionOfBig();
    assert.equal(decision.data.decision.effective_decision, "allow");
    assert.equal(decision.data.reported?.by, "replica");
    const placeholder = decision.data.request.arguments.apie_too_large;
    assert.equal(placeholder.bytes, Buffer.byteLength(JSON.stringify(big)));
    assert.match(placeholder.preview.message, /^big zzz.*… \[\d+ more characters\]$/);
    const id = decision.data.decision.decision_id;
    await waitFor(() => logRecords(workspace).some((r) => r.kind === "event" && r.data.event.metadata?.decision_id === id), 10_000);
    const outcome = logRecords(workspace).find((r) => r.kind === "event" && r.data.event.metadata?.decision_id === id);
    assert.equal(outcome.data.event.type, "agent.action.completed");
    assert.ok(decision.seq < outcome.seq, "the decision is in the log before the outcome");
    assert.doesNotMatch(proxy.stderr(), /could not report|refused a report/);
  });

  it("a tool name longer than the sidecar takes: refused (-32603, the sidecar's 400), never run; the fast path and its reports go on", async () => {
    const name = `echo-${"n".repeat(300)}`;
    const answer = await proxy.request(300, "tools/call", { name, arguments: { message: "long name" } }, 20_000);
    assert.equal(answer.error?.code, -32603, JSON.stringify(answer));
    assert.match(answer.error.message, /guard request failed/);
    // The next plain allows are still decided in the proxy and journaled.
    const before = logRecords(workspace).filter((r) => r.kind === "decision" && r.data.reported?.by === "replica").length;
    assert.deepEqual(await echo(301, "after the long name"), { content: [{ type: "text", text: "echo: after the long name" }] });
    await waitFor(() => logRecords(workspace).filter((r) => r.kind === "decision" && r.data.reported?.by === "replica").length > before, 10_000);
    assert.doesNotMatch(proxy.stderr(), /refused a report/);
  });
});
