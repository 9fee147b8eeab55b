import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { call } from "./sidecarHttp";
import { CLI, startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";

/** Runs the built CLI as a user's shell would; APIE_* variables come only from `env`, never from the test runner. */
function apie(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("APIE_")));
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...base, ...options.env }, encoding: "utf8", timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const evaluate = (agent: string, tool: string, environment: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    agent_key: agent,
    action: { type: "execute", name: tool },
    resource: { type: "deployment_event", environment },
    tool: { name: tool, provider: "cicd", riskLevel: "high" },
    ...extra,
  });

describe("apie CLI against a running sidecar (real processes)", function () {
  this.timeout(30_000);
  let workspace: string;
  let elsewhere: string;
  let sidecar: SidecarUnderTest;
  const admin = () => ({ APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_ADMIN_KEY: sidecar.discovery.adminKey });
  const agentOnly = () => ({ APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_API_KEY: sidecar.discovery.apiKey });

  async function pendingDeploy(agent = "release-gate", version = "1.0.0"): Promise<string> {
    const d = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: evaluate(agent, "deploy.release", "production", { arguments: { version } }) });
    assert.equal(d.body.enforcement_action, "wait_for_approval", JSON.stringify(d.body));
    return d.body.approval_request.id;
  }

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-cli-sidecar-"));
    elsewhere = mkdtempSync(path.join(tmpdir(), "apie-cli-elsewhere-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it("approvals list shows a pending approval; approve resolves it once, a second time fails with exit 1", async () => {
    const id = await pendingDeploy();
    const list = apie(["approvals", "list"], { cwd: elsewhere, env: admin() });
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split("\n").find((l) => l.startsWith(id));
    assert.ok(row, list.stdout);
    assert.match(row, /pending\s+release-gate\s+deploy\.release · execute\s+deployment_event@production\s+\d+m \d\ds/);

    const approved = apie(["approvals", "approve", id, "--reason", "release window"], { cwd: elsewhere, env: admin() });
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`^approved ${id}: deploy\\.release`));
    assert.equal((await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval.status, "approved");

    const again = apie(["approvals", "approve", id], { cwd: elsewhere, env: admin() });
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`approval ${id} is already approved`));
    const rejectLate = apie(["approvals", "reject", id], { cwd: elsewhere, env: admin() });
    assert.equal(rejectLate.code, 1);
    assert.match(rejectLate.stderr, /already approved/);

    const unknown = apie(["approvals", "reject", "apr_nope"], { cwd: elsewhere, env: admin() });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no approval with id "apr_nope"/);
    assert.equal(apie(["approvals", "approve"], { cwd: elsewhere, env: admin() }).code, 2);
  });

  it("the agent key alone cannot approve: exit 1 naming the admin key, and the approval stays pending", async () => {
    const id = await pendingDeploy("release-gate", "2.0.0");
    const r = apie(["approvals", "approve", id], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admin key: set APIE_ADMIN_KEY/);
    assert.match(r.stderr, /APIE_API_KEY is the agent key/);
    assert.equal((await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval.status, "pending");
    const list = apie(["approvals", "list"], { cwd: elsewhere, env: agentOnly() });
    assert.equal(list.code, 1);
    assert.match(list.stderr, /APIE_ADMIN_KEY/);
    await call(sidecar, "POST", `/v1/approvals/${id}/reject`, { key: sidecar.discovery.adminKey, body: "{}" });
  });

  it("finds the sidecar through .apie/sidecar.json when no APIE_* variable is set", async () => {
    const id = await pendingDeploy("release-gate", "3.0.0");
    const list = apie(["approvals", "list", "--status", "all"], { cwd: workspace });
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.includes(id), list.stdout);
    const json = JSON.parse(apie(["approvals", "list", "--json"], { cwd: workspace }).stdout);
    assert.ok(json.approvals.every((a: { status: string }) => a.status === "pending"));
    assert.equal(apie(["approvals", "reject", id, "--reason", "not today"], { cwd: workspace }).code, 0);
    // --state-dir points at the same file from anywhere.
    assert.equal(apie(["approvals", "list", "--state-dir", path.join(workspace, ".apie")], { cwd: elsewhere }).code, 0);
    const none = apie(["approvals", "list"], { cwd: elsewhere });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no running sidecar found.*apie sidecar/);
  });

  it("doctor passes and names every check, with the key in the environment or from the discovery file", () => {
    for (const env of [admin(), undefined]) {
      const r = apie(["doctor"], { cwd: workspace, env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      for (const check of ["policy file", "sidecar", "key", "sidecar policy", "mode", "approvals", "event log"]) {
        assert.match(r.stdout, new RegExp(`^✓ ${check}: `, "m"), `${check} in\n${r.stdout}`);
      }
      assert.match(r.stdout, /mode: enforce/);
      assert.match(r.stdout, /admin key accepted/);
      assert.match(r.stdout, /all checks passed/);
    }
    const json = JSON.parse(apie(["doctor", "--json"], { cwd: workspace }).stdout);
    assert.equal(json.ok, true);
    // Without any sidecar: the sidecar check fails, exit 1.
    const none = apie(["doctor", "--ascii"], { cwd: elsewhere });
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^\[FAIL\] sidecar: no running sidecar found/m);
  });

  it("doctor fails on a broken apie.policy.json and names the line", () => {
    writeFileSync(path.join(elsewhere, "apie.policy.json"), '{\n  "templates": { "prod-deploy": true }\n}\n');
    try {
      const r = apie(["doctor"], { cwd: elsewhere, env: admin() });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /✗ policy file: apie\.policy\.json has 1 error/);
      assert.match(r.stdout, /apie\.policy\.json:2:\d+: templates\["prod-deploy"\]/);
      assert.match(r.stdout, /✓ sidecar: reachable/);
    } finally {
      rmSync(path.join(elsewhere, "apie.policy.json"));
    }
  });

  it("a discovery file left by a killed sidecar gives a clear message", async () => {
    const dead = mkdtempSync(path.join(tmpdir(), "apie-cli-dead-"));
    try {
      const victim = await startSidecarProcess(dead);
      victim.child.kill("SIGKILL");
      await victim.stop();
      const r = apie(["approvals", "list"], { cwd: dead });
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(`the sidecar recorded in .apie/sidecar.json (pid ${victim.discovery.pid}) is not running; start it with \`apie sidecar\``),
        r.stderr,
      );
      const doctor = apie(["doctor"], { cwd: dead });
      assert.equal(doctor.code, 1);
      assert.match(doctor.stdout, /✗ sidecar: the sidecar recorded in .* is not running/);
    } finally {
      rmSync(dead, { recursive: true, force: true });
    }
  });

  it("capabilities declare sets the agent's boundary: an undeclared tool is then drift", async () => {
    const r = apie(
      ["capabilities", "declare", "--agent", "drifter", "--tool", "deploy.release", "--actions", "execute", "--resources", "deployment_event", "--environments", "staging,production"],
      { cwd: elsewhere, env: agentOnly() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /declared 1 capability for agent drifter \(agt_\w+\)/);
    const d = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: evaluate("drifter", "shell.exec", "staging") });
    assert.equal(d.status, 200);
    assert.ok(d.body.drift_warnings.some((w: { code: string }) => w.code === "undeclared_tool"), JSON.stringify(d.body.drift_warnings));
    const declared = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: evaluate("drifter", "deploy.release", "staging") });
    assert.deepEqual(declared.body.drift_warnings, []);
  });

  it("capabilities declare names the bad field of a capabilities file (exit 2)", () => {
    const file = path.join(elsewhere, "caps.json");
    writeFileSync(file, JSON.stringify({ capabilities: [{ tool: { name: "x" }, actions: ["read"], riskLevel: "extreme" }] }));
    let r = apie(["capabilities", "declare", "--agent", "a", "--file", file], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /caps\.json: capabilities\[0\]\.riskLevel: /);
    writeFileSync(file, JSON.stringify([{ tool: { name: "x" }, action: ["read"] }]));
    r = apie(["capabilities", "declare", "--agent", "a", "--file", file], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /caps\.json: \[0\]: unknown field "action"/);
    r = apie(["capabilities", "declare", "--agent", "a", "--file", file, "--tool", "y"], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tool: not with --file/);
  });

  it("send-test-event --mode pipeline creates a session, two runs and acknowledged events", async () => {
    const r = apie(["send-test-event", "--mode", "pipeline"], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 0, r.stderr);
    const session = /^session (ses_\S+) \(pipeline/m.exec(r.stdout)?.[1];
    const runs = /^runs: (\S+), (\S+)$/m.exec(r.stdout);
    const acknowledged = Number(/^events acknowledged: (\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(session && runs, r.stdout);
    assert.ok(acknowledged >= 10, r.stdout);
    // The deploy in production is guarded; the approval it opened was withdrawn, nothing is left pending.
    assert.match(r.stdout, /guard: deploy_pipeline_tool → require_approval, wait_for_approval \[prod-deploys\]; approval apr_\S+ cancelled/);
    for (const id of [runs[1]!, runs[2]!]) {
      const run = await call(sidecar, "GET", `/v1/runs/${id}`);
      assert.equal(run.body.status, "completed");
      assert.equal(run.body.session_id, session);
      assert.ok(run.body.event_count > 2);
    }
    const proof = JSON.parse(apie(["send-test-event", "--mode", "proof", "--json"], { cwd: elsewhere, env: agentOnly() }).stdout);
    assert.equal(proof.guard.policy_decision, "require_approval");
    assert.equal(proof.run_ids.length, 1);
  });

  it("report create lists observed tools with their decisions and the undeclared one", async () => {
    const declare = apie(["capabilities", "declare", "--agent", "reporter", "--tool", "deploy.release", "--actions", "execute", "--resources", "deployment_event"], {
      cwd: elsewhere,
      env: agentOnly(),
    });
    assert.equal(declare.code, 0, declare.stderr);
    for (const body of [
      evaluate("reporter", "deploy.release", "production", { arguments: { v: 1 } }),
      evaluate("reporter", "deploy.release", "staging"),
      evaluate("reporter", "shell.exec", "staging"),
    ]) {
      assert.equal((await call(sidecar, "POST", "/v1/guardrails/evaluate", { body })).status, 200);
    }
    const r = apie(["report", "create", "--last", "24h", "--agent", "reporter", "--json"], { cwd: elsewhere, env: agentOnly() });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.window.label, "24h");
    assert.equal(report.agents.length, 1);
    const agent = report.agents[0];
    assert.equal(agent.agent_key, "reporter");
    const deploy = agent.observed.find((t: { name: string }) => t.name === "deploy.release");
    assert.equal(deploy.declared, true);
    assert.equal(deploy.calls, 2);
    assert.equal(deploy.decisions.require_approval, 1);
    assert.equal(deploy.approvals_requested, 1);
    const shell = agent.observed.find((t: { name: string }) => t.name === "shell.exec");
    assert.equal(shell.declared, false);
    assert.ok(shell.drift.includes("undeclared_tool"));
    assert.deepEqual(agent.undeclared_tools, ["shell.exec"]);

    // The same report as text, written to a file; and fetched again by id.
    const out = path.join(elsewhere, "report.md");
    const text = apie(["report", "create", "--last", "24h", "--out", out], { cwd: workspace });
    assert.equal(text.code, 0, text.stderr);
    const md = readFileSync(out, "utf8");
    assert.match(md, /^# Boundary report \(last 24h\)/);
    assert.match(md, /## reporter/);
    assert.match(md, /\| shell\.exec \| \*\*no \(drift\)\*\* \| 1 \|/);
    assert.match(md, /\*\*Undeclared tools used \(drift\):\*\* shell\.exec/);
    const id = /report (rpt_\S+),/.exec(text.stdout)?.[1];
    const again = apie(["report", "get", id!, "--json"], { cwd: workspace });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).report_id, id);

    const unknown = apie(["report", "create", "--agent", "nobody"], { cwd: workspace });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no agent with key "nobody" \(known: .*reporter/);
    assert.equal(apie(["report", "create", "--last", "forever"], { cwd: workspace }).code, 2);
  });

  it("the python-sdk report route: POST /v1/agents/{id}/boundary-reports, then GET by id", async () => {
    const id = (await call(sidecar, "POST", "/v1/agents/identify", { body: JSON.stringify({ agent: { key: "py-reporter" } }) })).body.agent_id;
    for (const body of [evaluate("py-reporter", "deploy.release", "staging"), evaluate("py-reporter", "db.migrate", "production"), evaluate("other", "deploy.release", "staging")]) {
      assert.equal((await call(sidecar, "POST", "/v1/guardrails/evaluate", { body })).status, 200);
    }
    const body = JSON.stringify({ title: null, report_type: null, window: "7d", time_window: null, filters: { environments: ["staging"] }, sections: null });
    const created = await call(sidecar, "POST", `/v1/agents/${id}/boundary-reports`, { body });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.status, "generated");
    assert.equal(created.body.web_url, "");
    const got = await call(sidecar, "GET", `/v1/boundary-reports/${created.body.report_id}`);
    assert.equal(got.body.status, "generated");
    assert.deepEqual(
      got.body.report.agents.map((a: { agent_key: string; observed: { name: string; calls: number }[] }) => [a.agent_key, a.observed.map((t) => [t.name, t.calls])]),
      [["py-reporter", [["deploy.release", 1]]]],
    );
    const bad = await call(sidecar, "POST", `/v1/agents/${id}/boundary-reports`, { body: JSON.stringify({ window: "1y" }) });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^window: /);
    assert.equal((await call(sidecar, "GET", "/v1/boundary-reports/rpt_nope")).status, 404);
    assert.equal((await call(sidecar, "POST", "/v1/agents/agt_nope/boundary-reports", { body: "{}" })).status, 404);
  });
});
