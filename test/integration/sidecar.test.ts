import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { call } from "./sidecarHttp";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const deployBody = (mode: "monitor" | "enforce") =>
  JSON.stringify({
    agent_key: "release-gate",
    run_id: null,
    mode,
    risk_level: null,
    action: { type: "execute", name: "deploy.release" },
    resource: { type: "deployment_event", provider: null, environment: "production", external_id: null },
    tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
    metadata: null,
  });

describe("sidecar (real process on 127.0.0.1)", function () {
  this.timeout(20_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-sidecar-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": { decision: "block" } } }));
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("announces itself on one stdout line and in a 0600 discovery file", () => {
    assert.match(sidecar.discovery.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(sidecar.discovery.pid, sidecar.child.pid);
    const file = path.join(workspace, ".apie", "sidecar.json");
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), sidecar.discovery);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(path.join(workspace, ".apie", ".gitignore"), "utf8"), "*\n");
  });

  it("evaluates an official-SDK-shaped body (snake_case, nulls) with the workspace policy", async () => {
    const enforce = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") });
    assert.equal(enforce.status, 200);
    assert.equal(enforce.body.policy_decision, "block");
    assert.equal(enforce.body.enforcement_action, "block");
    assert.equal(enforce.body.matched_guardrails[0].key, "prod-deploys");
    const monitor = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("monitor") });
    assert.equal(monitor.body.effective_decision, "allow");
    assert.equal(monitor.body.annotation, "would_block");
  });

  it("follows edits of apie.policy.json, and keeps the last good policy when the edit is broken", async () => {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": { decision: "warn" } } }));
    await waitFor(async () => (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body.policy_decision === "warn");
    writeFileSync(path.join(workspace, "apie.policy.json"), '{ "templates": { "prod-deploys": ');
    await waitFor(async () => (await call(sidecar, "GET", "/v1/health")).body.policy === "stale");
    const d = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body;
    assert.equal(d.policy.state, "stale");
    assert.ok(d.matched_guardrails.some((g: { key: string }) => g.key === "prod-deploys"));
    assert.match(sidecar.stderr(), /apie\.policy\.json:1:\d+/);
  });

  it("an unreadable apie.policy.json keeps the last policy in force and the sidecar up", async () => {
    const file = path.join(workspace, "apie.policy.json");
    rmSync(file);
    mkdirSync(file); // reading it now fails with EISDIR, as with a permissions problem
    await waitFor(async () => (await call(sidecar, "GET", "/v1/health")).body.policy === "stale");
    const d = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body;
    assert.equal(d.policy_decision, "block");
    assert.match(d.policy.message, /cannot read the file: EISDIR/);
    rmSync(file, { recursive: true });
    writeFileSync(file, JSON.stringify({ templates: { "prod-deploys": { decision: "warn" } } }));
    await waitFor(async () => (await call(sidecar, "GET", "/v1/health")).body.policy === "ok");
    assert.equal((await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body.policy_decision, "warn");
  });

  it("requires the key: none or a wrong one → 401", async () => {
    assert.equal((await call(sidecar, "GET", "/v1/health", { key: null })).status, 401);
    const wrong = await call(sidecar, "GET", "/v1/health", { key: "apie_nope" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, "unauthorized");
    assert.equal((await call(sidecar, "GET", "/v1/health")).status, 200);
  });

  it("refuses web pages (Origin) and DNS-rebinding Host names with 403, even with the key", async () => {
    const page = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce"), headers: { origin: "https://evil.example" } });
    assert.equal(page.status, 403);
    const port = new URL(sidecar.discovery.baseUrl).port;
    const rebound = await call(sidecar, "GET", "/v1/health", { headers: { host: `evil.example:${port}` } });
    assert.equal(rebound.status, 403);
  });

  it("answers bad input with a JSON 4xx naming the problem, and stays up", async () => {
    const notJson = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: "{nope" });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "invalid_json");
    const wrongType = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify({ agent_key: "a", tool: { riskLevel: "extreme" } }) });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.field, "tool.riskLevel");
    const missing = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify({}) });
    assert.equal(missing.body.error.field, "agent_key");
    const huge = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify({ agent_key: "a", arguments: "x".repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    const unknown = await call(sidecar, "GET", "/v1/nothing-here");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /no route GET \/v1\/nothing-here/);
    assert.equal((await call(sidecar, "GET", "/v1/guardrails/evaluate")).status, 405);
    assert.equal((await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body.policy_decision, "block");
  });

  it("an event batch is all or nothing: one bad event deep in a long batch refuses it, naming the event, and logs none", async () => {
    const before = (await call(sidecar, "GET", "/v1/health")).body;
    const events = Array.from({ length: 40 }, (_, i) => ({ type: "agent.note", agent_key: "release-gate", event_id: `n${i}` }));
    const refused = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: events.map((e, i) => (i === 33 ? { ...e, sequence_number: "third" } : e)) }) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.field, "events.33.sequence_number");
    assert.deepEqual((await call(sidecar, "GET", "/v1/health")).body.last_seq, before.last_seq, "nothing of the refused batch was logged");
    const accepted = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events }) });
    assert.equal(accepted.body.accepted, 40);
    assert.deepEqual(accepted.body.seqs, Array.from({ length: 40 }, (_, i) => accepted.body.seqs[0] + i), "logged in order, back to back");
  });

  it("identify, capabilities/declare and tools/define feed drift and inference", async () => {
    const id = (await call(sidecar, "POST", "/v1/agents/identify", { body: JSON.stringify({ agent: { key: "release-gate", name: "Release Gate", team: null }, mode: "enforce" }) })).body;
    assert.match(id.agent_id, /^agt_/);
    assert.equal(id.created, true);
    const declare = await call(sidecar, "POST", `/v1/agents/${id.agent_id}/capabilities/declare`, {
      body: JSON.stringify({ capabilities: [{ tool: { name: "deploy.release", provider: "cicd" }, actions: ["execute"], resources: ["deployment_event"], environments: ["staging"] }] }),
    });
    assert.equal(declare.status, 200, JSON.stringify(declare.body));
    const d = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deployBody("enforce") })).body;
    assert.deepEqual(d.drift_warnings.map((w: { code: string }) => w.code), ["undeclared_environment"]);
    await call(sidecar, "POST", `/v1/agents/${id.agent_id}/tools/define`, { body: JSON.stringify({ name: "ops.wipe", actionTypes: ["delete"], resourceTypes: ["database_record"], riskLevel: "critical" }) });
    const wipe = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify({ agent_key: "release-gate", tool: { name: "ops.wipe" } }) })).body;
    assert.deepEqual(wipe.inferred.reasons, ["tool definition"]);
    const unknown = await call(sidecar, "POST", "/v1/agents/agt_nope/capabilities/declare", { body: JSON.stringify({ capabilities: [] }) });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "unknown_agent");
  });

  it("refuses a second sidecar on the same state dir, naming the one that holds it", async () => {
    await assert.rejects(startSidecarProcess(workspace), new RegExp(`another Apie sidecar \\(pid ${sidecar.child.pid}\\) already serves`));
    assert.equal((await call(sidecar, "GET", "/v1/health")).status, 200, "the first one is untouched");
  });

  it("SIGTERM shuts down cleanly and removes the discovery file", async () => {
    const file = path.join(workspace, ".apie", "sidecar.json");
    assert.equal(await sidecar.stop(), 0);
    assert.ok(!existsSync(file));
  });
});
