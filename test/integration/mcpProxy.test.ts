import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  approvalStatus,
  connectDirect,
  connectProxy,
  EVERYTHING,
  FILESYSTEM,
  logRecords,
  pendingApproval,
  resolveApproval,
  writeJson,
  type ProxiedClient,
} from "./mcpProxyHarness";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * `apie mcp proxy` over stdio, end to end: the official MCP client → the proxy (dist/cli.js) → real servers
 * from npm (server-everything, server-filesystem), every tools/call decided by a real sidecar. The proxy
 * finds the sidecar through the discovery file next to apie.mcp.json (no APIE_* variables).
 */

const POLICY = {
  version: 1,
  mode: "monitor", // the workspace's; the proxies below say enforce (an agent can only tighten)
  guardrails: [
    { key: "no-secret-echo", name: "No secret echo", decision: "block", reason: "echoing secrets is not allowed", match: { "tool.name": "everything.echo", arguments: { "$.message": { glob: "secret*" } } } },
    { key: "sums-need-approval", name: "Sums need approval", decision: "require_approval", reason: "sums are sensitive", match: { "tool.name": "everything.get-sum" } },
    { key: "no-structured", name: "No structured content", decision: "block", reason: "structured content is off limits", match: { "tool.name": "everything.get-structured-content" } },
    { key: "read-only-files", name: "Read-only files", decision: "block", reason: "the folder is read-only", match: { "tool.name": "filesystem.write_file" } },
  ],
};

describe("apie mcp proxy (stdio, real sidecar, real MCP servers)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let direct: Client;
  let proxied: ProxiedClient;
  const extra: ProxiedClient[] = [];
  const everything = (fields: object = {}) => ({ agentKey: "mcp-everything", serverName: "everything", mode: "enforce", upstream: { command: process.execPath, args: [EVERYTHING] }, ...fields });
  const config = (name: string, fields: object = {}) => writeJson(workspace, name, everything(fields));
  async function another(configFile: string, args: string[] = []): Promise<ProxiedClient> {
    const p = await connectProxy(configFile, args);
    extra.push(p);
    return p;
  }
  const mcpError = async (promise: Promise<unknown>): Promise<McpError> => {
    const error = await promise.then(
      () => assert.fail("expected an MCP error"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError, String(error));
    return error;
  };
  const records = () => logRecords(workspace);

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-"));
    writeJson(workspace, "apie.policy.json", POLICY);
    sidecar = await startSidecarProcess(workspace);
    [direct, proxied] = await Promise.all([connectDirect(process.execPath, [EVERYTHING]), connectProxy(config("apie.mcp.json"))]);
  });
  after(async () => {
    await Promise.allSettled([direct?.close(), proxied?.close(), ...extra.map((p) => p.close())]);
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("tools/list is exactly the upstream's, and every tool is defined with the sidecar as serverName.toolName", async () => {
    const [viaProxy, directly] = await Promise.all([proxied.client.listTools(), direct.listTools()]);
    assert.deepEqual(viaProxy, directly);
    await waitFor(() => records().filter((r) => r.kind === "tool.defined").length >= directly.tools.length);
    const defined = records().filter((r) => r.kind === "tool.defined").map((r) => r.data.tool);
    const echo = defined.find((t) => t.name === "everything.echo");
    assert.equal(echo?.provider, "mcp");
    assert.equal(echo?.riskLevel, "medium");
    assert.equal(echo?.description, directly.tools.find((t) => t.name === "echo")?.description);
  });

  it("an allowed call returns exactly the upstream's result; its outcome is recorded under the decision, in the proxy's run", async () => {
    const args = { name: "echo", arguments: { message: "hello through the proxy" } };
    const [viaProxy, directly] = await Promise.all([proxied.client.callTool(args), direct.callTool(args)]);
    assert.deepEqual(viaProxy, directly);
    let completed: any;
    await waitFor(() => (completed = records().find((r) => r.kind === "event" && r.data.event.type === "agent.action.completed" && r.data.event.tool?.name === "everything.echo")) !== undefined);
    const decision = records().find((r) => r.kind === "decision" && r.data.decision.decision_id === completed.data.event.metadata.decision_id);
    assert.ok(decision, "the outcome names the sidecar's decision");
    assert.deepEqual(decision.data.request.arguments, { message: "hello through the proxy" });
    assert.equal(decision.data.request.tool.provider, "mcp");
    const run = records().find((r) => r.kind === "run.started" && r.data.run.id === completed.data.event.run_id);
    assert.ok(run, "the call belongs to the run the proxy started");
  });

  it("a blocked call gets -32001 with the decision's facts and never reaches the upstream", async () => {
    const error = await mcpError(proxied.client.callTool({ name: "echo", arguments: { message: "secret sauce" } }));
    assert.equal(error.code, -32001);
    assert.match(error.message, /Guardrail blocked the tool call/);
    const data = error.data as Record<string, unknown>;
    assert.equal(data.reason, "echoing secrets is not allowed");
    assert.equal(data.matched_guardrail, "no-secret-echo");
    assert.equal(data.policy_decision, "block");
    assert.equal(data.effective_decision, "block");
    assert.equal(data.mode, "enforce");
    assert.match(String(data.decision_id), /^dec_/);
  });

  it("server-filesystem: reads identical to direct; a blocked write_file leaves no file", async () => {
    const folder = path.join(workspace, "files");
    mkdirSync(folder);
    writeFileSync(path.join(folder, "a.txt"), "alpha\n");
    const fsConfig = writeJson(workspace, "fs.mcp.json", { agentKey: "mcp-files", serverName: "filesystem", mode: "enforce", upstream: { command: process.execPath, args: [FILESYSTEM, folder] } });
    const [viaProxy, fsDirect] = await Promise.all([another(fsConfig), connectDirect(process.execPath, [FILESYSTEM, folder])]);
    try {
      assert.deepEqual(await viaProxy.client.listTools(), await fsDirect.listTools());
      for (const args of [{ name: "list_directory", arguments: { path: folder } }, { name: "read_text_file", arguments: { path: path.join(folder, "a.txt") } }]) {
        assert.deepEqual(await viaProxy.client.callTool(args), await fsDirect.callTool(args));
      }
      const error = await mcpError(viaProxy.client.callTool({ name: "write_file", arguments: { path: path.join(folder, "b.txt"), content: "beta" } }));
      assert.equal(error.code, -32001);
      assert.equal((error.data as { matched_guardrail: string }).matched_guardrail, "read-only-files");
      assert.equal(existsSync(path.join(folder, "b.txt")), false);
    } finally {
      await fsDirect.close();
    }
  });

  it("require_approval: progress notifications while waiting; approved → the upstream's result", async () => {
    const progress: { progress: number; message?: string }[] = [];
    const args = { name: "get-sum", arguments: { a: 2, b: 3 } };
    const answer = proxied.client.callTool(args, undefined, { onprogress: (p) => progress.push(p), timeout: 20_000 });
    const id = await pendingApproval(sidecar);
    await waitFor(() => progress.length >= 2, 5_000); // the first at once, then every ~1.5 s
    assert.match(progress[0]!.message ?? "", new RegExp(`^waiting for approval ${id} \\(sums-need-approval\\)`));
    assert.ok(progress[1]!.progress > progress[0]!.progress, "progress increases");
    assert.equal((await resolveApproval(sidecar, id, "approve")).status, 200);
    assert.deepEqual(await answer, await direct.callTool(args));
    assert.equal(await approvalStatus(sidecar, id), "approved");
  });

  it("require_approval rejected → -32002 with the approval's id, status and reason", async () => {
    const answer = mcpError(proxied.client.callTool({ name: "get-sum", arguments: { a: 4, b: 5 } }));
    const id = await pendingApproval(sidecar);
    await resolveApproval(sidecar, id, "reject", "not on a Friday");
    const error = await answer;
    assert.equal(error.code, -32002);
    assert.match(error.message, /Approval required: rejected/);
    assert.deepEqual(error.data, { approval_id: id, status: "rejected", reason: "not on a Friday" });
  });

  it("the client cancelling a call that waits for approval cancels the approval", async () => {
    const abort = new AbortController();
    const answer = proxied.client.callTool({ name: "get-sum", arguments: { a: 6, b: 7 } }, undefined, { signal: abort.signal }).catch((e: unknown) => e);
    const id = await pendingApproval(sidecar);
    abort.abort("changed my mind");
    assert.ok((await answer) instanceof Error);
    await waitFor(async () => (await approvalStatus(sidecar, id)) === "cancelled");
    // The proxy keeps serving.
    assert.deepEqual(await proxied.client.callTool({ name: "echo", arguments: { message: "still here" } }), { content: [{ type: "text", text: "Echo: still here" }] });
  });

  it("--approval-timeout: the proxy's own wait ends → -32002 timeout, the approval cancelled", async () => {
    const p = await another(config("timeout.mcp.json"), ["--approval-timeout", "300ms"]);
    const error = await mcpError(p.client.callTool({ name: "get-sum", arguments: { a: 8, b: 9 } }));
    assert.equal(error.code, -32002);
    assert.match(error.message, /Approval required: timeout/);
    const data = error.data as { approval_id: string; status: string };
    assert.equal(data.status, "timeout");
    assert.equal(await approvalStatus(sidecar, data.approval_id), "cancelled");
  });

  it("monitor mode (--mode monitor): would-be-blocked and would-need-approval calls are forwarded and logged", async () => {
    const p = await another(config("enforce.mcp.json"), ["--mode", "monitor"]);
    const args = { name: "echo", arguments: { message: "secret but monitored" } };
    assert.deepEqual(await p.client.callTool(args), await direct.callTool(args));
    await waitFor(() => /would block in enforce mode: everything\.echo \[no-secret-echo\]/.test(p.stderr()));
    const sum = { name: "get-sum", arguments: { a: 10, b: 11 } };
    assert.deepEqual(await p.client.callTool(sum), await direct.callTool(sum), "no approval is opened or awaited in monitor mode");
    await waitFor(() => /would require approval in enforce mode: everything\.get-sum \[sums-need-approval\]/.test(p.stderr()));
  });

  it('refusal "tool_error": a CallToolResult with isError, the facts as text and structuredContent (none for tools with an outputSchema)', async () => {
    const p = await another(config("toolerror.mcp.json", { refusal: "tool_error" }));
    await p.client.listTools(); // the client learns the output schemas, as hosts do
    const result = await p.client.callTool({ name: "echo", arguments: { message: "secret again" } });
    assert.equal(result.isError, true);
    assert.match((result.content as { text: string }[])[0]!.text, /^Guardrail blocked the tool call: echoing secrets is not allowed \(guardrail no-secret-echo, decision dec_/);
    assert.equal((result.structuredContent as { code: number }).code, -32001);
    assert.equal((result.structuredContent as { matched_guardrail: string }).matched_guardrail, "no-secret-echo");
    const withSchema = await p.client.callTool({ name: "get-structured-content", arguments: { location: "New York" } });
    assert.equal(withSchema.isError, true);
    assert.equal(withSchema.structuredContent, undefined);
  });

  it("the host closing the connection completes the proxy's run", async () => {
    const p = await connectProxy(config("run.mcp.json", { agentKey: "mcp-run-check" }));
    await p.client.callTool({ name: "echo", arguments: { message: "one call" } });
    const run = records().find((r) => r.kind === "run.started" && r.data.run.agent_key === "mcp-run-check")?.data.run;
    assert.match(run?.input_summary ?? "", /^MCP proxy for everything \(/);
    await p.close();
    await waitFor(() => records().some((r) => r.kind === "run.completed" && r.data.id === run.id && r.data.status === "completed"));
  });
});
