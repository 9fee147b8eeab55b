import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { callSteps, callState, presentCall } from "../../extension/model/callPresenters";
import { TimelineModel } from "../../extension/model/timeline";
import { foldRun, type ToolCall } from "../../extension/model/toolCalls";
import { ApieError } from "../../sidecar/sdk";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { call } from "./sidecarHttp";
import { SdkClients } from "./sdkClients";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";
import { openCalls } from "./streamClient";

/**
 * The Runs view's contract with the sidecar and the SDK: what a real run logs (decisions, the approval, the
 * decision that spends the grant, the SDK's outcome events, sent in batches) folds into one call per tool
 * call — correlated only by what the records carry.
 */
describe("Runs timeline: real runs (SDK, hooks) fold into one row per tool call", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let sdk: SdkClients;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-runs-timeline-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true, "prod-shell": true } }));
    sidecar = await startSidecarProcess(workspace);
    sdk = new SdkClients();
  });
  /** Every record the sidecar logs from now on, as the admin key's `events` topic pushes them. */
  async function watchLog() {
    const stream = await openCalls(sidecar, sidecar.discovery.adminKey);
    stream.send({ type: "subscribe", topics: ["events"] });
    return { records: () => stream.frames.filter((f) => f.type === "event").map((f) => f.record as StreamRecord), close: () => stream.ws.close() };
  }
  /** What the Runs view does with them: the live records applied to the editor's model (an expanded run follows them). */
  function followed(runId: string, records: StreamRecord[]): TimelineModel {
    const model = new TimelineModel();
    model.setRunRecords(runId, []);
    model.applyRecords(records);
    return model;
  }

  afterEach(async () => {
    await sdk.shutdownAll();
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("an allowed read, a blocked shell command and a deploy approved in between: three rows, the deploy's children decision / approval / outcome", async () => {
    const log = await watchLog();
    const admin = sidecar.discovery.adminKey;
    const apie = sdk.make({ agent: { key: "release-gate" }, baseUrl: sidecar.discovery.baseUrl, apiKey: sidecar.discovery.apiKey, mode: "enforce" });
    let runId = "";
    const done = apie.withRun({ inputSummary: "Production deploy attempt" }, async (run) => {
      runId = run.id;
      await apie.withTool({ tool: { name: "fs.read_file", provider: "local" }, action: { type: "read", name: "fs.read_file" }, resource: { type: "file" }, arguments: { path: "README.md" } }, () => "ok");
      await assert.rejects(
        apie.withTool({ tool: { name: "shell.exec", provider: "local" }, arguments: { command: "rm -rf /" } }, () => "ran"),
        (e: unknown) => e instanceof ApieError && e.code === "blocked",
      );
      await apie.withTool(
        { tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" }, action: { type: "execute", name: "deploy.release" }, resource: { type: "deployment_event", environment: "production" }, arguments: { version: "1.4.2" } },
        () => "deployed",
      );
    });
    let approvalId = "";
    await waitFor(async () => {
      approvalId = (await call(sidecar, "GET", "/v1/approvals?status=pending", { key: admin })).body.approvals[0]?.id ?? "";
      return approvalId !== "";
    });
    assert.equal((await call(sidecar, "POST", `/v1/approvals/${approvalId}/approve`, { key: admin, body: "{}" })).status, 200);
    await done;
    await apie.shutdown();

    await waitFor(() => log.records().some((r) => r.kind === "run.completed"));
    const ofRun = followed(runId, log.records()).recordsOf(runId)!;
    const entries = foldRun(runId, ofRun);
    const calls = entries.flatMap((e) => (e.type === "call" ? [e.call] : [])) as ToolCall[];
    assert.deepEqual(
      calls.map((c) => `${presentCall(c).label}: ${callState(c)}`),
      ["fs.read_file · README.md: completed", "shell.exec · rm -rf /: blocked", "deploy.release · production: approved"],
      `records: ${ofRun.map((r) => r.kind).join(", ")}`,
    );
    assert.equal(entries.length, 3, "no record left over as a row of its own");
    const deploy = calls[2]!;
    assert.deepEqual(callSteps(deploy).map((s) => s.label), ["Decision: approval required", "Approval: approved by admin-key", "Outcome: completed"]);
    assert.equal(deploy.decisions.length, 2, "the decision that spent the grant belongs to the same call");
    // The log names the grant it spent as data, not only in the reason's words.
    assert.equal(deploy.decisions[1]!.data.spent_approval, deploy.decisions[0]!.data.approval_id);
    log.close();
  });

  it("a coding agent's calls through the hooks: one row each, named in the host's words, the session named for the first prompt", async () => {
    const log = await watchLog();
    const transcript = path.join(workspace, "transcript.jsonl");
    writeFileSync(transcript, JSON.stringify({ type: "user", message: { role: "user", content: "fix the login bug" } }) + "\n");
    const hook = (id: string) => ({ cwd: workspace, hook: { host: "claude-code", session_id: "s-1", tool_use_id: id, transcript_path: transcript } });
    const key = { key: sidecar.discovery.apiKey };
    const calls = [
      { id: "toolu_1", tool: "Bash", args: { command: "npm test" }, action: { type: "execute", name: "Bash" }, resource: { type: "shell_command" } },
      { id: "toolu_2", tool: "Edit", args: { file_path: path.join(workspace, "src", "app.ts"), old_string: "a", new_string: "b" }, action: { type: "update", name: "Edit" }, resource: { type: "file" } },
    ];
    let runId = "";
    for (const c of calls) {
      const body = { agent_key: "claude-code", tool: { name: c.tool, provider: "claude-code" }, action: c.action, resource: c.resource, arguments: c.args, metadata: hook(c.id) };
      const answer = await call(sidecar, "POST", "/v1/hooks/evaluate", { ...key, body: JSON.stringify(body) });
      assert.equal(answer.body.enforcement_action, "proceed", JSON.stringify(answer.body));
      runId = answer.body.hook.run_id;
      const outcome = { agent_key: "claude-code", tool: { name: c.tool, provider: "claude-code" }, metadata: hook(c.id), status: c.tool === "Edit" ? "failed" : "completed", ...(c.tool === "Edit" ? { error: "old_string not found" } : {}) };
      assert.equal((await call(sidecar, "POST", "/v1/hooks/outcome", { ...key, body: JSON.stringify(outcome) })).status, 200);
    }
    await waitFor(() => log.records().filter((r) => r.kind === "event").length === 2);
    const model = followed(runId, log.records());
    const session = [...model.sessions.values()][0]!;
    assert.equal(session.input_summary, "Claude Code · fix the login bug");
    const entries = foldRun(runId, model.recordsOf(runId)!);
    const rows = entries.map((e) => (e.type === "call" ? `${presentCall(e.call, { workspace }).label}: ${callState(e.call)}` : `note ${e.note.record.kind}`));
    assert.deepEqual(rows, ["Bash · npm test: completed", "Edit · src/app.ts: failed"]);
    log.close();
  });
});
