import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import WebSocket from "ws";
import { Apie, ApieError, type ApieOptions } from "../../sidecar/sdk";
import { call } from "./sidecarHttp";
import { SdkClients } from "./sdkClients";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");

const deployCall = {
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
} as const;

/** Records the `events` topic of /v1/stream (the admin key's): what actually reached the sidecar's log. */
async function timeline(sidecar: SidecarUnderTest) {
  const records: { kind: string; data: any }[] = [];
  const ws = new WebSocket(sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${sidecar.discovery.adminKey}` } });
  ws.on("message", (d) => {
    const frame = JSON.parse(d.toString());
    if (frame.type === "event") records.push(frame.record);
  });
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  ws.send(JSON.stringify({ type: "subscribe", topics: ["events"] }));
  await new Promise((r) => setTimeout(r, 50));
  return {
    records,
    events: (type: string) => records.filter((r) => r.kind === "event" && r.data.event.type === type).map((r) => r.data.event),
    close: () => ws.close(),
  };
}

describe("TypeScript SDK against the real sidecar", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let sdk: SdkClients;

  async function start(policy: object): Promise<void> {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-sdk-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify(policy));
    sidecar = await startSidecarProcess(workspace);
  }
  function client(options: ApieOptions = {}): Apie {
    return sdk.make({ agent: { key: "release-gate", name: "Release Gate" }, baseUrl: sidecar.discovery.baseUrl, apiKey: sidecar.discovery.apiKey, ...options });
  }
  beforeEach(() => {
    sdk = new SdkClients();
  });
  afterEach(async () => {
    await sdk.shutdownAll();
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("the seed example, verbatim (examples/release-gate.mjs on dist/sdk.js): prod-deploys at block stops the deploy", async () => {
    await start({ templates: { "prod-deploys": { decision: "block" } } });
    const env = { ...process.env, APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_API_KEY: sidecar.discovery.apiKey };
    const started = Date.now();
    const result = await run(process.execPath, [path.join(ROOT, "examples/release-gate.mjs")], { env, cwd: workspace }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    assert.equal((result as { code?: number }).code, 3, result.stderr);
    assert.match(result.stdout, /result: blocked: Blocked by guardrail prod-deploys: deployment in production/);
    assert.match(result.stdout, /deploy ran 0 time\(s\)/);
    assert.doesNotMatch(result.stdout, /deploy: releasing/);
    assert.ok(Date.now() - started < 5_000, "shutdown() lets the process exit at once");
    const run0 = (await call(sidecar, "GET", "/v1/health")).body;
    assert.equal(run0.status, "ok");
  });

  it("the seed example in-process: the error names prod-deploys and carries the decision; the run ends failed", async () => {
    await start({ templates: { "prod-deploys": { decision: "block" } } });
    const log = await timeline(sidecar);
    const apie = client({ mode: "enforce", guardFailureMode: "fail_closed", runtime: { environment: "production" } });
    await apie.ready();
    let deploys = 0;
    let runId = "";
    const error = await apie
      .withRun({ inputSummary: "Production deploy attempt" }, async (run) => {
        runId = run.id;
        await apie.withTool({ runId: run.id, ...deployCall }, async () => deploys++);
      })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ApieError);
    assert.equal(error.code, "blocked");
    assert.equal(error.message, "Blocked by guardrail prod-deploys: deployment in production");
    assert.equal(error.decision?.policyDecision, "block");
    assert.equal(error.decision?.matchedGuardrails[0]?.key, "prod-deploys");
    assert.equal(deploys, 0);
    assert.equal((await call(sidecar, "GET", `/v1/runs/${runId}`)).body.status, "failed");
    await waitFor(() => log.events("agent.error").length === 1);
    // The sidecar journaled the decision itself; the SDK adds no duplicate of it.
    const decisions = log.records.filter((r) => r.kind === "decision");
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.data.request.run_id, runId);
    assert.equal(decisions[0]!.data.decision.effective_decision, "block");
    assert.equal(log.events("agent.guardrail.evaluated").length, 0);
    assert.equal(log.events("agent.action.completed").length, 0, "a blocked call never counts as run");
    log.close();
  });

  it("monitor mode: the callback runs; would-block is logged and recorded", async () => {
    await start({ templates: { "prod-deploys": { decision: "block" } } });
    const log = await timeline(sidecar);
    const apie = client({ mode: "monitor" });
    const result = await apie.withRun({ inputSummary: "monitor" }, () => apie.withTool(deployCall, async (decision) => ({ deployed: true, decision })));
    assert.equal(result.deployed, true);
    assert.equal(result.decision?.effectiveDecision, "allow");
    assert.equal(result.decision?.annotation, "would_block");
    assert.deepEqual(sdk.warnings, ["would block in enforce mode [prod-deploys]: deployment in production"]);
    await waitFor(() => log.events("agent.action.completed").length === 1);
    const decision = log.records.find((r) => r.kind === "decision")!;
    assert.equal(decision.data.decision.policy_decision, "block");
    assert.equal(decision.data.decision.annotation, "would_block");
    // One event per guarded call: its outcome, linked to the sidecar's decision.
    const events = log.records.filter((r) => r.kind === "event").map((r) => r.data.event);
    assert.deepEqual(events.map((e) => e.type), ["agent.action.completed"]);
    assert.equal(events[0].metadata.decision_id, decision.data.decision.decision_id);
    assert.deepEqual(events.map((e) => e.sequence_number), [1]);
    log.close();
  });

  it("an enforce workspace tightens a monitor agent: the call is blocked anyway", async () => {
    await start({ mode: "enforce", templates: { "prod-deploys": { decision: "block" } } });
    const apie = client({ mode: "monitor" });
    let ran = false;
    await assert.rejects(apie.withTool(deployCall, () => (ran = true)), (e: ApieError) => e.code === "blocked");
    assert.equal(ran, false);
  });

  it("withSession/withRun: child runs, the run id follows AsyncLocalStorage into withTool, runs complete", async () => {
    await start({});
    const log = await timeline(sidecar);
    const apie = client();
    let sessionId = "";
    const runIds: string[] = [];
    await apie.withSession({ kind: "multi_agent", inputSummary: "release" }, async (session) => {
      sessionId = session.id;
      for (const step of ["build", "test"]) {
        await apie.withRun({ stepName: step }, async (run) => {
          runIds.push(run.id);
          assert.equal(run.sessionId, session.id);
          await apie.withTool({ tool: { name: "ci.step" }, arguments: { step } }, () => undefined);
        });
      }
    });
    for (const id of runIds) {
      const view = (await call(sidecar, "GET", `/v1/runs/${id}`)).body;
      assert.equal(view.status, "completed");
      assert.equal(view.session_id, sessionId);
    }
    await waitFor(() => log.events("agent.action.completed").length === 2);
    assert.deepEqual(log.events("agent.action.completed").map((e) => [e.run_id, e.session_id]), runIds.map((id) => [id, sessionId]));
    log.close();
  });

  it("a callback's own error passes through, is recorded, and fails the run", async () => {
    await start({});
    const log = await timeline(sidecar);
    const apie = client();
    let runId = "";
    await assert.rejects(
      apie.withRun({}, async (run) => {
        runId = run.id;
        await apie.withTool({ tool: { name: "flaky" } }, () => {
          throw new Error("tool exploded");
        });
      }),
      /tool exploded/,
    );
    assert.equal((await call(sidecar, "GET", `/v1/runs/${runId}`)).body.status, "failed");
    await waitFor(() => log.events("agent.action.failed").length === 1);
    assert.deepEqual(log.events("agent.action.failed")[0].error, { message: "tool exploded" });
    log.close();
  });

  it("ready() identifies once and declares config capabilities: an undeclared tool is drift", async () => {
    await start({});
    const apie = client({ capabilities: [{ tool: { name: "deploy.release", provider: "cicd" }, actions: ["execute"], resources: ["deployment_event"] }] });
    const [a, b] = await Promise.all([apie.ready(), apie.ready()]);
    assert.equal(a, b, "memoized");
    assert.match(a.agentId, /^agt_/);
    assert.equal(apie.agentId, a.agentId);
    const decision = await apie.guard({ tool: { name: "db.drop_everything" } });
    assert.equal(decision.policyDecision, "warn");
    assert.ok(decision.driftWarnings.some((w) => w.code === "undeclared_tool"), JSON.stringify(decision.driftWarnings));
    const defined = await apie.tools.define({ name: "deploy.release", provider: "cicd", actionTypes: ["execute"], resourceTypes: ["deployment_event"], riskLevel: "high" });
    assert.deepEqual(defined.tool, { name: "deploy.release" });
  });

  it("runs.start/complete and capabilities.declare, called directly", async () => {
    await start({});
    const apie = client({ runtime: { environment: "staging" } });
    const run = await apie.runs.start({ inputSummary: "by hand", metadata: { ticket: "OPS-1" } });
    assert.match(run.id, /^run_/);
    assert.equal(run.status, "running");
    let view = (await call(sidecar, "GET", `/v1/runs/${run.id}`)).body;
    assert.equal(view.environment, "staging");
    assert.equal(view.input_summary, "by hand");
    await apie.runs.complete(run.id, { status: "cancelled", outputSummary: "stopped" });
    view = (await call(sidecar, "GET", `/v1/runs/${run.id}`)).body;
    assert.equal(view.status, "cancelled");
    await assert.rejects(apie.runs.complete("run_nope"), (e: ApieError) => e.code === "http_error" && e.status === 404);
    const declared = await apie.capabilities.declare([{ tool: { name: "docs.*" }, actions: ["read"], resources: ["knowledge_base"] }]);
    assert.equal(declared.declared, 1);
    const drift = await apie.guard({ tool: { name: "docs.search" }, action: { type: "delete" }, resource: { type: "knowledge_base" } });
    assert.ok(drift.driftWarnings.some((w) => w.code === "undeclared_action"), JSON.stringify(drift.driftWarnings));
  });

  it("wrap(): the call's arguments reach the guard (prod-shell blocks rm -rf /)", async () => {
    await start({ mode: "enforce", templates: { "prod-shell": true } });
    const apie = client();
    const executed: string[] = [];
    const shell = apie.wrap({ tool: { name: "run_in_terminal" } }, async (args: { command: string }) => {
      executed.push(args.command);
      return `ran ${args.command}`;
    });
    assert.equal(await shell({ command: "npm test" }), "ran npm test");
    await assert.rejects(shell({ command: "cd /tmp && rm -rf /" }), (e: ApieError) => e.code === "blocked" && /prod-shell/.test(e.message));
    assert.deepEqual(executed, ["npm test"]);
  });

  it("guard() is a dry run: the decision in camelCase, nothing enforced", async () => {
    await start({ templates: { "prod-deploys": { decision: "block" } } });
    const apie = client({ mode: "enforce" });
    const d = await apie.guard({ ...deployCall, arguments: { version: "1.4.2" } });
    assert.equal(d.policyDecision, "block");
    assert.equal(d.effectiveDecision, "block");
    assert.equal(d.enforcementAction, "block");
    assert.match(d.decisionId!, /^dec_/);
    assert.equal(d.reason, "deployment in production");
    assert.equal(d.approvalRequest, null);
    assert.equal(d.guardUnavailable, null);
  });

  it("a 4xx is a caller bug, not a guard failure: http_error in every guardFailureMode", async () => {
    await start({});
    for (const guardFailureMode of ["fail_open", "fail_closed", "throw"] as const) {
      const apie = client({ guardFailureMode });
      const bad = { tool: { name: "x", riskLevel: "extreme" } } as unknown as Parameters<Apie["withTool"]>[0];
      let ran = false;
      await assert.rejects(apie.withTool(bad, () => (ran = true)), (e: ApieError) => {
        assert.equal(e.code, "http_error");
        assert.equal(e.status, 400);
        assert.equal(e.serverCode, "invalid_request");
        assert.match(e.message, /risk_level: Invalid option/);
        return true;
      });
      assert.equal(ran, false);
      const wrongKey = client({ guardFailureMode, apiKey: "apie_wrong" });
      await assert.rejects(wrongKey.guard(deployCall), (e: ApieError) => e.code === "http_error" && e.status === 401);
    }
  });

  it("enabled: false is a no-op client: callbacks run, nothing is sent", async () => {
    await start({ mode: "enforce", templates: { "prod-deploys": { decision: "block" } } });
    const apie = new Apie({ agent: { key: "off" }, enabled: false, mode: "enforce" });
    const registration = await apie.ready();
    assert.equal(registration.agentId, "disabled_agent_off");
    const out = await apie.withRun({}, (run) => apie.withTool(deployCall, (decision) => ({ run: run.id, reason: decision?.reason })));
    assert.match(out.run, /^disabled_run_/);
    assert.match(out.reason!, /disabled/);
    assert.equal((await apie.guard(deployCall)).effectiveDecision, "allow");
    await apie.flush();
    await apie.shutdown();
    assert.equal(apie.queueDiagnostics().sentCount, 0);
    const health = (await call(sidecar, "GET", "/v1/health")).body;
    assert.equal(health.last_seq, 0, "the sidecar heard nothing");
  });

  it("flush() waits until the sidecar acknowledged every event; queueDiagnostics() says so", async () => {
    await start({});
    const apie = client({ flushIntervalMs: 60_000, maxBatchSize: 500 });
    await apie.withTool({ tool: { name: "a" } }, () => undefined);
    assert.ok(apie.queueDiagnostics().queueSize > 0);
    await apie.flush();
    const d = apie.queueDiagnostics();
    assert.equal(d.queueSize, 0);
    assert.equal(d.sentCount, 1, "a guarded call sends one event: its outcome");
    assert.equal(d.lastErrorMessage, null);
  });

  it("a script that never calls shutdown() still exits at once, its queued events delivered on the way out", async () => {
    await start({});
    const script = `
      const { Apie } = require(${JSON.stringify(path.join(ROOT, "dist/sdk.js"))});
      (async () => {
        const apie = new Apie({ agent: { key: "forgetful" } });
        await apie.withTool({ tool: { name: "docs.search" } }, () => "ok");
        process.on("exit", () => console.log(JSON.stringify(apie.queueDiagnostics())));
      })();`;
    const env = { ...process.env, APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_API_KEY: sidecar.discovery.apiKey };
    const started = Date.now();
    const { stdout } = await run(process.execPath, ["-e", script], { env, cwd: workspace, timeout: 10_000 });
    assert.ok(Date.now() - started < 3_000, "no timer or socket keeps it alive");
    const diagnostics = JSON.parse(stdout);
    assert.equal(diagnostics.sentCount, 1);
    assert.equal(diagnostics.queueSize, 0);
  });

  it("enableGuardrailTemplate() with the agent key: 403 admin_required, apie.policy.json unchanged byte for byte", async () => {
    await start({ templates: { "prod-deploys": { decision: "block", approvalTimeoutMs: 60000 } } });
    const file = path.join(workspace, "apie.policy.json");
    const before = readFileSync(file, "utf8");
    const apie = client({ mode: "enforce" });
    await assert.rejects(apie.enableGuardrailTemplate("prod-deploys"), (e: ApieError) => e.status === 403);
    await assert.rejects(apie.enableGuardrailTemplate("prod-shell"), (e: ApieError) => e.status === 403);
    const raw = await call(sidecar, "POST", "/v1/guardrails/templates/prod-deploys/enable", { body: "{}" });
    assert.equal(raw.status, 403);
    assert.equal(raw.body.error.code, "admin_required");
    assert.equal(readFileSync(file, "utf8"), before);
    assert.equal((await apie.guard(deployCall)).policyDecision, "block");
  });

  it("enableGuardrailTemplate() with the admin key never loosens: a template on at block stays block, its timeout kept", async () => {
    await start({ templates: { "prod-deploys": { decision: "block", approvalTimeoutMs: 60000 } } });
    const file = path.join(workspace, "apie.policy.json");
    const before = readFileSync(file, "utf8");
    const admin = client({ mode: "enforce", apiKey: sidecar.discovery.adminKey });
    assert.deepEqual(await admin.enableGuardrailTemplate("prod-deploys"), { id: "prod-deploys", key: "prod-deploys", status: "enabled" });
    assert.equal(readFileSync(file, "utf8"), before);
    assert.equal((await admin.guard(deployCall)).policyDecision, "block");
  });

  it("enableGuardrailTemplate() turns a template on in apie.policy.json (admin key)", async () => {
    await start({});
    const apie = client({ mode: "enforce", apiKey: sidecar.discovery.adminKey });
    assert.deepEqual(await apie.enableGuardrailTemplate("prod-deploys"), { id: "prod-deploys", key: "prod-deploys", status: "enabled" });
    assert.equal(JSON.parse(readFileSync(path.join(workspace, "apie.policy.json"), "utf8")).templates["prod-deploys"], true);
    await waitFor(async () => (await apie.guard(deployCall)).policyDecision === "require_approval");
    await assert.rejects(apie.enableGuardrailTemplate("prod-nope"), (e: ApieError) => e.code === "http_error" && e.status === 404);
  });
});
