import { strict as assert } from "node:assert";
import { fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import {
  CodeActionRequest,
  DidCloseTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  type Hover,
  type InitializeParams,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol";
import {
  GetRunRequest,
  MAX_RECORDS_PER_NOTIFICATION,
  RecordsNotification,
  ResolveApprovalRequest,
  SetModeRequest,
  SnapshotRequest,
  StatusNotification,
} from "../../sidecar/protocol/lsp";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { DiscoverySchema } from "../../sidecar/protocol/v1";
import { waitFor } from "./sidecarProcess";

const SIDECAR = path.resolve(__dirname, "../../dist/sidecar.js");

/** dist/sidecar.js forked the way vscode-languageclient's TransportKind.ipc does, and a JSON-RPC client on it. */
interface LspSidecar {
  child: ChildProcess;
  rpc: MessageConnection;
  records: StreamRecord[];
  /** Size of each `apie/records` received. */
  batches: number[];
  statuses: { mode: string; policy: { state: string; message: string | null } }[];
  diagnostics: PublishDiagnosticsParams[];
  logs: string[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function forkSidecar(): LspSidecar {
  const child = fork(SIDECAR, ["--node-ipc"], { stdio: ["pipe", "pipe", "pipe", "ipc"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const s: LspSidecar = { child, rpc, records: [], batches: [], statuses: [], diagnostics: [], logs: [], stdout: () => out, stderr: () => err, exited };
  rpc.onNotification(RecordsNotification, ({ records }) => {
    s.batches.push(records.length);
    s.records.push(...records);
  });
  rpc.onNotification(StatusNotification, (st) => void s.statuses.push(st));
  rpc.onNotification(PublishDiagnosticsNotification.type, (d) => void s.diagnostics.push(d));
  rpc.onNotification("window/logMessage", (m: { message: string }) => void s.logs.push(m.message));
  rpc.onError(() => undefined);
  rpc.listen();
  return s;
}

function initializeParams(initializationOptions: unknown): InitializeParams {
  return { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null, initializationOptions };
}

async function http(baseUrl: string, key: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + urlPath, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const deploy = (runId?: string) => ({
  agent_key: "release-gate",
  run_id: runId,
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
  arguments: { version: "1.4.2" },
});

describe("sidecar as a language server: the editor channel over Node IPC (dist/sidecar.js)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: LspSidecar | undefined;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-lsp-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
  });
  afterEach(async () => {
    if (sidecar && sidecar.child.exitCode === null && sidecar.child.signalCode === null) {
      sidecar.child.kill("SIGKILL");
      await sidecar.exited;
    }
    sidecar?.rpc.dispose();
    sidecar = undefined;
    rmSync(workspace, { recursive: true, force: true });
  });

  it("approvals, mode, runs, records and diagnostics through the private channel; shutdown removes the discovery file", async () => {
    const s = (sidecar = forkSidecar());
    const init = await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace }));
    assert.ok(init.capabilities.hoverProvider);
    assert.deepEqual(init.capabilities.codeActionProvider, { codeActionKinds: ["quickfix"] });
    await s.rpc.sendNotification(InitializedNotification.type, {});

    const discoveryFile = path.join(workspace, ".apie", "sidecar.json");
    const discovery = DiscoverySchema.parse(JSON.parse(readFileSync(discoveryFile, "utf8")));

    // The snapshot gives terminals what they need, and never the admin key.
    const snapshot = await s.rpc.sendRequest(SnapshotRequest);
    assert.equal(snapshot.baseUrl, discovery.baseUrl);
    assert.equal(snapshot.apiKey, discovery.apiKey);
    assert.ok(!JSON.stringify(snapshot).includes(discovery.adminKey));
    assert.equal(snapshot.mode, "enforce");
    assert.deepEqual(snapshot.policy, { state: "ok", message: null });
    const { baseUrl, apiKey } = snapshot;

    // An agent (agent key, over HTTP) hits prod-deploys in enforce: records arrive live.
    const runId = (await http(baseUrl, apiKey, "POST", "/v1/runs", { agent_key: "release-gate" })).body.id as string;
    const decision = await http(baseUrl, apiKey, "POST", "/v1/guardrails/evaluate", deploy(runId));
    assert.equal(decision.body.enforcement_action, "wait_for_approval");
    const approvalId = decision.body.approval_request.id as string;
    await waitFor(() => s.records.some((r) => r.kind === "approval.requested"));
    assert.deepEqual(s.records.map((r) => r.kind), ["run.started", "decision", "approval.requested"]);
    assert.ok(s.records.every((r, i) => i === 0 || r.seq === s.records[i - 1]!.seq + 1), "records in log order, none missing");
    assert.equal((s.records[2]!.data as any).approval.id, approvalId);
    assert.equal((await s.rpc.sendRequest(SnapshotRequest)).approvals[0]?.id, approvalId);

    // The editor approves; the agent's long-poll wakes with the answer; a second answer is refused.
    const waiting = http(baseUrl, apiKey, "GET", `/v1/approvals/${approvalId}/wait?timeout=20000`);
    const resolved = await s.rpc.sendRequest(ResolveApprovalRequest, { id: approvalId, status: "approved", reason: "release window" });
    assert.ok(resolved.ok);
    assert.equal(resolved.approval.status, "approved");
    assert.equal(resolved.approval.resolved_by, "editor");
    assert.equal(resolved.approval.resolution_reason, "release window");
    assert.equal((await waiting).body.status, "approved");
    const again = await s.rpc.sendRequest(ResolveApprovalRequest, { id: approvalId, status: "rejected" });
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.reason, "already_resolved");
    assert.equal(!again.ok && again.approval?.status, "approved");
    const unknown = await s.rpc.sendRequest(ResolveApprovalRequest, { id: "apr_nope", status: "approved" });
    assert.deepEqual(unknown, { ok: false, reason: "unknown" });
    await assert.rejects(s.rpc.sendRequest(ResolveApprovalRequest, { id: approvalId, status: "maybe" } as never), (e: any) => e.code === -32602 && /^status: /.test(e.message));

    // The status bar lowers the mode: journaled, told as apie/status, and the next decision follows it.
    assert.deepEqual(await s.rpc.sendRequest(SetModeRequest, { mode: "monitor" }), { mode: "monitor" });
    await waitFor(() => s.statuses.length > 0);
    assert.deepEqual(s.statuses, [{ mode: "monitor", policy: { state: "ok", message: null } }]);
    await s.rpc.sendRequest(SetModeRequest, { mode: "monitor" });
    await assert.rejects(s.rpc.sendRequest(SetModeRequest, { mode: "guard" } as never), (e: any) => e.code === -32602 && /^mode: /.test(e.message));
    const monitored = await http(baseUrl, apiKey, "POST", "/v1/guardrails/evaluate", deploy(runId));
    assert.equal(monitored.body.effective_decision, "allow");
    assert.equal(monitored.body.annotation, "would_require_approval");
    await waitFor(() => s.records.filter((r) => r.kind === "decision").length === 2);
    assert.equal(s.statuses.length, 1, "setting the same mode again tells nobody");

    // The run's timeline, read back from disk in log order.
    const view = await s.rpc.sendRequest(GetRunRequest, { runId });
    assert.ok(view);
    assert.equal(view.run.id, runId);
    assert.deepEqual(view.records.map((r) => r.kind), ["run.started", "decision", "approval.requested", "approval.resolved", "decision"]);
    assert.deepEqual(view.records.map((r) => r.seq), [...view.records.map((r) => r.seq)].sort((a, b) => a - b));
    assert.deepEqual(view.records, s.records.filter((r) => r.kind !== "mode.changed"));
    assert.equal(view.run.event_count, 5);
    assert.equal(await s.rpc.sendRequest(GetRunRequest, { runId: "run_nope" }), null);
    await assert.rejects(s.rpc.sendRequest(GetRunRequest, {} as never), (e: any) => e.code === -32602 && /^runId: /.test(e.message));

    // The boundary view: what the agent was seen doing.
    const agents = (await s.rpc.sendRequest(SnapshotRequest)).agents;
    const gate = agents.find((a) => a.key === "release-gate");
    assert.equal(gate?.observed[0]?.name, "deploy.release");
    assert.equal(gate?.observed[0]?.calls, 2);

    // A broken apie.policy.json opened in the editor: diagnostics at the right line; hover; quick fix.
    const uri = pathToFileURL(path.join(workspace, "apie.policy.json")).href;
    const broken = '{\n  "mode": "enforce",\n  "templates": {\n    "prod-deplys": true,\n    "prod-secrets": true\n  }\n}\n';
    await s.rpc.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "json", version: 1, text: broken } });
    await waitFor(() => s.diagnostics.some((d) => d.uri === uri));
    const published = s.diagnostics.find((d) => d.uri === uri)!;
    assert.equal(published.diagnostics.length, 1);
    const [problem] = published.diagnostics;
    assert.equal(problem!.range.start.line, 3);
    assert.equal(problem!.range.start.character, 4);
    assert.equal(problem!.severity, 1);
    assert.match(problem!.message as string, /unknown template key "prod-deplys"; did you mean "prod-deploys"\?/);

    const hover = (await s.rpc.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 4, character: 8 } })) as Hover;
    assert.match((hover.contents as { value: string }).value, /Production secret reads.*\n\nDefault decision: `block`/);

    const actions = await s.rpc.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: problem!.range,
      context: { diagnostics: [problem!] },
    });
    assert.equal(actions?.length, 1);
    const action = actions![0] as { title: string; edit: { changes: Record<string, { newText: string }[]> } };
    assert.equal(action.title, 'Change to "prod-deploys"');
    assert.deepEqual(action.edit.changes[uri]!.map((e) => e.newText), ['"prod-deploys"']);

    // Incremental edit: the user applies the fix; the diagnostics clear. Closing clears them too.
    s.diagnostics.length = 0;
    await s.rpc.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: problem!.range, text: '"prod-deploys"' }],
    });
    await waitFor(() => s.diagnostics.some((d) => d.uri === uri && d.version === 2));
    assert.deepEqual(s.diagnostics.at(-1)!.diagnostics, []);
    await s.rpc.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    await waitFor(() => s.diagnostics.length === 2);
    assert.deepEqual(s.diagnostics[1], { uri, diagnostics: [] });

    // shutdown + exit: the log is flushed, the process ends with 0, the discovery file is gone.
    await s.rpc.sendRequest(ShutdownRequest.type);
    assert.equal(existsSync(discoveryFile), false);
    await s.rpc.sendNotification(ExitNotification.type);
    assert.equal(await s.exited, 0);
    assert.equal(s.stdout(), "", "nothing but IPC leaves the process");
    assert.ok(s.logs.some((l) => l.includes("listening on")), s.logs.join("\n"));
  });

  it("an agent's batch of 500 events reaches the editor as one apie/records, in log order, none missing", async () => {
    const s = (sidecar = forkSidecar());
    await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace }));
    await s.rpc.sendNotification(InitializedNotification.type, {});
    const { baseUrl, apiKey } = await s.rpc.sendRequest(SnapshotRequest);
    const runId = (await http(baseUrl, apiKey, "POST", "/v1/runs", { agent_key: "burst" })).body.id as string;
    await waitFor(() => s.records.length === 1);
    s.batches.length = 0;
    const events = Array.from({ length: 500 }, (_, i) => ({ type: "tool.called", agent_key: "burst", run_id: runId, tool: { name: `t.${i % 7}` }, metadata: { i } }));
    const posted = await http(baseUrl, apiKey, "POST", "/v1/events", { events });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    await waitFor(() => s.records.length === 501);
    // One message for the burst (two if logging it took longer than the outbox holds a burst).
    assert.ok(s.batches.length <= 2 && s.batches.every((n) => n <= MAX_RECORDS_PER_NOTIFICATION), `batches: ${JSON.stringify(s.batches)}`);
    assert.deepEqual(s.records.slice(1).map((r) => r.seq), posted.body.seqs);
    assert.deepEqual(s.records.slice(1).map((r) => (r.data as any).event.metadata.i), events.map((_, i) => i));
  });

  it("a policy reload that breaks the file is told as apie/status", async () => {
    const s = (sidecar = forkSidecar());
    await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace, mode: "enforce" }));
    await s.rpc.sendNotification(InitializedNotification.type, {});
    writeFileSync(path.join(workspace, "apie.policy.json"), '{ "mode": "enforce", "templates": { "prod-deplys": true } }');
    await waitFor(() => s.statuses.length > 0);
    assert.equal(s.statuses[0]!.mode, "enforce");
    assert.equal(s.statuses[0]!.policy.state, "stale");
    assert.match(s.statuses[0]!.policy.message!, /apie\.policy\.json:1:\d+: templates\["prod-deplys"\]: unknown template key/);
    const snapshot = await s.rpc.sendRequest(SnapshotRequest);
    assert.deepEqual(snapshot.policy, s.statuses[0]!.policy);
  });

  it("ends when the client's side of the IPC channel goes away, and leaves no discovery file", async () => {
    const s = (sidecar = forkSidecar());
    const stateDir = path.join(workspace, "state");
    await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace, stateDir }));
    assert.ok(existsSync(path.join(stateDir, "sidecar.json")));
    s.child.disconnect();
    assert.equal(await s.exited, 1);
    assert.equal(existsSync(path.join(stateDir, "sidecar.json")), false);
  });

  it("closes in order on SIGTERM (e.g. Ctrl+C reaching the editor's process group): no discovery file left", async () => {
    const s = (sidecar = forkSidecar());
    const stateDir = path.join(workspace, "state");
    await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace, stateDir }));
    assert.ok(existsSync(path.join(stateDir, "sidecar.json")));
    s.child.kill("SIGTERM");
    assert.equal(await s.exited, 0);
    assert.equal(existsSync(path.join(stateDir, "sidecar.json")), false);
  });

  it("fails initialize naming the bad initializationOptions field, without retry", async () => {
    const s = (sidecar = forkSidecar());
    await assert.rejects(s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace, port: "4000" })), (e: any) => {
      assert.equal(e.code, -32602);
      assert.match(e.message, /^initializationOptions\.port: /);
      assert.deepEqual(e.data, { retry: false });
      return true;
    });
  });

  it("speaks LSP over --stdio too (stdout carries only LSP), and ends when stdin closes", async () => {
    const child = spawn(process.execPath, [SIDECAR, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    rpc.onError(() => undefined);
    const logs: string[] = [];
    rpc.onNotification("window/logMessage", (m: { message: string }) => void logs.push(m.message));
    rpc.listen();
    try {
      await rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace }));
      await rpc.sendNotification(InitializedNotification.type, {});
      const snapshot = await rpc.sendRequest(SnapshotRequest);
      assert.match(snapshot.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(logs.some((l) => l.includes("listening on")));
      child.stdin.end();
      assert.equal(await exited, 1);
      assert.equal(existsSync(path.join(workspace, ".apie", "sidecar.json")), false);
    } finally {
      rpc.dispose();
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("exit without shutdown still ends the process and removes the discovery file", async () => {
    const s = (sidecar = forkSidecar());
    await s.rpc.sendRequest(InitializeRequest.type, initializeParams({ workspace }));
    await s.rpc.sendNotification(ExitNotification.type);
    assert.equal(await s.exited, 1);
    assert.equal(existsSync(path.join(workspace, ".apie", "sidecar.json")), false);
  });
});
