import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { HttpClient } from "../../sidecar/sdk/http";
import { SidecarStream } from "../../sidecar/sdk/stream";
import { call } from "./sidecarHttp";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";
import { openCalls } from "./streamClient";
import { productionDeploy as deploy } from "./requests";

describe("v1 calls over /v1/stream (real sidecar process)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-stream-calls-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("announces calls in hello and answers a call exactly as HTTP answers the same request", async () => {
    const s = await openCalls(sidecar);
    await waitFor(() => s.frames.some((f) => f.type === "hello"));
    assert.equal(s.frames.find((f) => f.type === "hello").calls, true);

    const viaStream = await s.call(1, "POST", "/v1/guardrails/evaluate", deploy);
    const viaHttp = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify(deploy) });
    assert.equal(viaStream.status, 200);
    const comparable = (d: any) => ({ ...d, decision_id: undefined, approval_request: { ...d.approval_request, id: undefined, expires_at: undefined } });
    assert.deepEqual(comparable(viaStream.body), comparable(viaHttp.body));
    assert.equal(viaStream.body.enforcement_action, "wait_for_approval");

    const events = await s.call("batch-1", "POST", "/v1/events", { events: [{ type: "note", agent_key: "release-gate", metadata: { text: "over the stream" } }] });
    assert.equal(events.status, 200);
    assert.equal(events.body.accepted, 1);
    const id = viaStream.body.approval_request.id;
    const read = await s.call(2, "GET", `/v1/approvals/${id}`);
    assert.equal(read.body.approval.status, "pending");
    s.ws.close();
  });

  it("keeps HTTP's rules: the connection's key is the caller, bad requests are named, and a bad frame still gets its reply", async () => {
    const agent = await openCalls(sidecar);
    const id = (await agent.call(1, "POST", "/v1/guardrails/evaluate", deploy)).body.approval_request.id;

    const refused = await agent.call(2, "POST", `/v1/approvals/${id}/approve`, {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "admin_required");
    assert.equal((await agent.call(3, "GET", "/v1/nowhere")).status, 404);
    assert.equal((await agent.call(4, "GET", "/v1/guardrails/evaluate")).status, 405);
    const bad = await agent.call(5, "POST", "/v1/guardrails/evaluate", { ...deploy, mode: "sometimes" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, "mode");
    const outside = await agent.call(6, "GET", "/etc/passwd");
    assert.equal(outside.status, 400);
    assert.equal(outside.body.error.code, "invalid_frame");
    assert.match(outside.body.error.message, /path/);

    const admin = await openCalls(sidecar, sidecar.discovery.adminKey);
    const approved = await admin.call(1, "POST", `/v1/approvals/${id}/approve`, { reason: "ship it" });
    assert.equal(approved.status, 200);
    assert.equal((await agent.call(7, "GET", `/v1/approvals/${id}`)).body.approval.status, "approved");
    agent.ws.close();
    admin.ws.close();
  });

  it("pushes a mode change to `mode` subscribers, and its record to the admin key's `events`", async () => {
    const agent = await openCalls(sidecar);
    const admin = await openCalls(sidecar, sidecar.discovery.adminKey);
    agent.send({ type: "subscribe", topics: ["mode"] });
    admin.send({ type: "subscribe", topics: ["events"] });
    // A call answered after each subscribe: the subscriptions are in place.
    await agent.call("sync", "GET", "/v1/health");
    await admin.call("sync", "GET", "/v1/health");
    assert.equal((await admin.call("mode", "POST", "/v1/mode", { mode: "monitor" })).status, 200);
    await waitFor(() => agent.frames.some((f) => f.type === "mode" && f.mode === "monitor"));
    await waitFor(() => admin.frames.some((f) => f.type === "event" && f.record.kind === "mode.changed"));
    assert.ok(!admin.frames.some((f) => f.type === "mode"), "the admin connection did not subscribe to mode");
    agent.ws.close();
    admin.ws.close();
  });

  it("cancel ends a long-poll call at once", async () => {
    const s = await openCalls(sidecar);
    const id = (await s.call(1, "POST", "/v1/guardrails/evaluate", deploy)).body.approval_request.id;
    const started = Date.now();
    const waiting = s.call(2, "GET", `/v1/approvals/${id}/wait?timeout=20000`);
    await new Promise((r) => setTimeout(r, 100));
    s.send({ type: "cancel", id: 2 });
    const reply = await waiting;
    assert.equal(reply.body.status, "timeout");
    assert.ok(Date.now() - started < 5_000, "the wait ended with the cancel, not its 20 s timeout");
    s.ws.close();
  });

  it("the SDK's requests go as call frames while the stream is up, and over HTTP when it is not", async () => {
    const { baseUrl, apiKey } = sidecar.discovery;
    const http = new HttpClient({ baseUrl, apiKey, timeoutMs: 5_000 });
    const stream = new SidecarStream(SidecarStream.urlFor(baseUrl), { authorization: `Bearer ${apiKey}` });
    let framed = 0;
    const send = stream.call.bind(stream);
    stream.call = (...args) => (framed++, send(...args));
    try {
      http.useStream(stream);
      await waitFor(() => stream.callsAvailable);
      const decision: any = await http.request("POST", "/v1/guardrails/evaluate", deploy);
      assert.equal(decision.enforcement_action, "wait_for_approval");
      assert.equal(framed, 1);
      // A refusal is the same error either way: http_error naming the field.
      await assert.rejects(http.request("POST", "/v1/guardrails/evaluate", { ...deploy, mode: 1 }), (e: any) => e.code === "http_error" && e.field === "mode");
      assert.equal(framed, 2);

      stream.close();
      assert.equal(stream.callsAvailable, false);
      const again: any = await http.request("GET", `/v1/approvals/${decision.approval_request.id}`);
      assert.equal(again.approval.status, "pending");
      assert.equal(framed, 2, "the stream is closed: the request went over HTTP");
    } finally {
      stream.close();
      http.close();
    }
  });
});
