import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { call } from "./sidecarHttp";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

const deploy = (args: unknown = { version: "1.4.2" }, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    agent_key: "release-gate",
    mode: "enforce",
    action: { type: "execute", name: "deploy.release" },
    resource: { type: "deployment_event", environment: "production" },
    tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
    arguments: args,
    ...extra,
  });

/**
 * Opens `/v1/stream` (with the admin key: it hears of every approval, and only it may follow `events`) and
 * collects frames; `next(pred)` waits for the first matching frame.
 */
async function openStream(sidecar: SidecarUnderTest, topics?: string[]) {
  const frames: any[] = [];
  const ws = new WebSocket(sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${sidecar.discovery.adminKey}` } });
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  if (topics) ws.send(JSON.stringify({ type: "subscribe", topics }));
  return {
    ws,
    frames,
    async next(pred: (f: any) => boolean) {
      await waitFor(() => frames.some(pred));
      return frames.find(pred);
    },
  };
}

describe("approvals and the stream (real sidecar process)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const admin = () => sidecar.discovery.adminKey;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-approvals-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("opens a pending approval for an enforced require_approval, visible to the agent", async () => {
    const decision = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() });
    assert.equal(decision.body.enforcement_action, "wait_for_approval");
    const id = decision.body.approval_request.id;
    assert.match(id, /^apr_/);
    const view = await call(sidecar, "GET", `/v1/approvals/${id}`);
    assert.equal(view.body.approval.status, "pending");
    assert.equal(view.body.approval.tool.name, "deploy.release");
    assert.deepEqual(view.body.approval.arguments, { version: "1.4.2" });
    assert.equal(view.body.approval.matched_guardrails[0].key, "prod-deploys");
    const shortWait = await call(sidecar, "GET", `/v1/approvals/${id}/wait?timeout=50`);
    assert.equal(shortWait.body.status, "timeout");
  });

  it("only the admin key resolves; it resolves once; the long-poll wakes with the answer", async () => {
    const id = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() })).body.approval_request.id;
    const waiting = call(sidecar, "GET", `/v1/approvals/${id}/wait?timeout=20000`);
    const byAgent = await call(sidecar, "POST", `/v1/approvals/${id}/approve`);
    assert.equal(byAgent.status, 403);
    assert.equal(byAgent.body.error.code, "admin_required");
    const approved = await call(sidecar, "POST", `/v1/approvals/${id}/approve`, { key: admin(), body: JSON.stringify({ reason: "release window" }) });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.approval.status, "approved");
    assert.equal((await waiting).body.status, "approved");
    const again = await call(sidecar, "POST", `/v1/approvals/${id}/reject`, { key: admin() });
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /already approved/);
    const listed = await call(sidecar, "GET", "/v1/approvals?status=approved", { key: admin() });
    assert.deepEqual(listed.body.approvals.map((a: any) => a.id), [id]);
    assert.equal((await call(sidecar, "GET", "/v1/approvals")).status, 403, "the agent key cannot list everyone's approvals");
  });

  it("a grant applies only to the exact action it was made for, and only once", async () => {
    const id = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy({ version: "1.4.2" }) })).body.approval_request.id;
    await call(sidecar, "POST", `/v1/approvals/${id}/approve`, { key: admin() });

    const changed = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy({ version: "9.9.9" }, { approval_id: id }) });
    assert.equal(changed.body.enforcement_action, "wait_for_approval");
    assert.match(changed.body.reason, /different action or different arguments/);
    assert.notEqual(changed.body.approval_request.id, id);

    const same = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy({ version: "1.4.2" }, { approval_id: id }) });
    assert.equal(same.body.effective_decision, "allow");
    assert.equal(same.body.approval_request, null);

    const reuse = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy({ version: "1.4.2" }, { approval_id: id }) });
    assert.equal(reuse.body.enforcement_action, "wait_for_approval");
    assert.match(reuse.body.reason, /already used/);
  });

  it("expires an approval nobody answers, and tells waiters", async () => {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true }, approvals: { timeoutMs: 300 } }));
    await waitFor(async () => (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() })).body.approval_timeout_ms === 300);
    const id = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() })).body.approval_request.id;
    const waited = await call(sidecar, "GET", `/v1/approvals/${id}/wait?timeout=10000`);
    assert.equal(waited.body.status, "expired");
    assert.equal(waited.body.approval.resolved_by, "expiry");
  });

  it("pushes approvals on /v1/stream as they open and resolve", async () => {
    const stream = await openStream(sidecar);
    const hello = await stream.next((f) => f.type === "hello");
    assert.equal(hello.mode, "enforce");
    const id = (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() })).body.approval_request.id;
    await stream.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "pending");
    await call(sidecar, "POST", `/v1/approvals/${id}/reject`, { key: admin(), body: JSON.stringify({ reason: "not today" }) });
    const rejected = await stream.next((f) => f.type === "approval" && f.approval.status === "rejected");
    assert.equal(rejected.approval.resolution_reason, "not today");
    stream.ws.send("not json");
    await stream.next((f) => f.type === "error" && /not JSON/.test(f.message));
    stream.ws.send(JSON.stringify({ type: "subscribe", topics: ["nope"] }));
    await stream.next((f) => f.type === "error" && /topics/.test(f.message));
    stream.ws.close();
  });

  it("streams live records to `events` subscribers", async () => {
    const stream = await openStream(sidecar, ["events"]);
    await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy() });
    const decision = await stream.next((f) => f.type === "event" && f.record.kind === "decision");
    assert.equal(decision.record.data.decision.policy_decision, "require_approval");
    stream.ws.close();
  });

  it("refuses stream upgrades without the key or from a web page", async () => {
    const url = sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream";
    const status = (options: WebSocket.ClientOptions) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, options);
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode!));
        ws.on("open", () => resolve(101));
      });
    assert.equal(await status({}), 401);
    assert.equal(await status({ headers: { authorization: `Bearer ${sidecar.discovery.apiKey}`, origin: "https://evil.example" } }), 403);
  });

  it("switches the workspace mode with the admin key only; the next decision follows", async () => {
    const body = JSON.stringify({ mode: "monitor" });
    assert.equal((await call(sidecar, "POST", "/v1/mode", { body })).status, 403);
    assert.equal((await call(sidecar, "POST", "/v1/mode", { key: admin(), body })).body.mode, "monitor");
    const decision = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: deploy(undefined, { mode: null }) });
    assert.equal(decision.body.effective_decision, "allow");
    assert.equal(decision.body.annotation, "would_require_approval");
  });
});
