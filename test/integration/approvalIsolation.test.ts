import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { call } from "./sidecarHttp";
import { productionDeploy } from "./requests";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Issue 11, item 8: agents share one key, so a connection is pushed only the approvals it has a right to (the
 * ones its own calls opened, or whose id it presents), and a grant is bound to everything the human saw.
 */

const deploy = (extra: Record<string, unknown> = {}) => ({ ...productionDeploy, run_id: "run_release", metadata: { ticket: "OPS-42" }, ...extra });

/** A raw `/v1/stream` client holding every frame it got. */
async function openStream(sidecar: SidecarUnderTest, key: string) {
  const ws = new WebSocket(sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${key}` } });
  const frames: any[] = [];
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  await waitFor(() => frames.some((f) => f.type === "hello"));
  let pings = 0;
  const s = {
    ws,
    frames,
    send: (frame: unknown) => ws.send(JSON.stringify(frame)),
    async next(pred: (f: any) => boolean) {
      await waitFor(() => frames.some(pred));
      return frames.find(pred);
    },
    /** Everything the server sent before this returns has arrived (frames on one socket keep their order). */
    async flush() {
      const id = `flush-${++pings}`;
      s.send({ type: "ping", id });
      await s.next((f) => f.type === "pong" && f.id === id);
    },
    approvals: (id?: string) => frames.filter((f) => f.type === "approval" && (id === undefined || f.approval.id === id)),
    async call(id: number, method: string, urlPath: string, body?: unknown) {
      s.send({ type: "call", id, method, path: urlPath, ...(body === undefined ? {} : { body }) });
      return s.next((f) => f.type === "reply" && f.id === id);
    },
  };
  return s;
}

describe("approvals are isolated between agents sharing the key (real sidecar process)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const agentKey = () => sidecar.discovery.apiKey;
  const adminKey = () => sidecar.discovery.adminKey;
  const sockets: WebSocket[] = [];
  async function stream(key: string) {
    const s = await openStream(sidecar, key);
    sockets.push(s.ws);
    return s;
  }
  const evaluate = async (body: unknown) => (await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify(body) })).body;
  const approve = (id: string) => call(sidecar, "POST", `/v1/approvals/${id}/approve`, { key: adminKey(), body: "{}" });

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-approval-isolation-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("pushes an approval to the connection whose call opened it and to the admin key, never to another agent connection", async () => {
    const a = await stream(agentKey());
    const b = await stream(agentKey());
    const admin = await stream(adminKey());

    const reply = await a.call(1, "POST", "/v1/guardrails/evaluate", deploy());
    assert.equal(reply.body.enforcement_action, "wait_for_approval");
    const id: string = reply.body.approval_request.id;
    await a.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "pending");
    await admin.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "pending");
    await b.flush();
    assert.deepEqual(b.approvals(), [], "another agent-key connection hears nothing of it");

    assert.equal((await approve(id)).status, 200);
    await a.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "approved");
    await admin.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "approved");
    await b.flush();
    assert.deepEqual(b.approvals(), [], "nor of its resolution");

    // The id is the capability: whoever holds it (and the key) may read it; nobody with the agent key lists them.
    assert.equal((await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval.status, "approved");
    assert.equal((await call(sidecar, "GET", "/v1/approvals")).status, 403);
    assert.equal((await b.call(1, "GET", "/v1/approvals")).status, 403);
  });

  it("watch: a connection that presents the id gets the current view at once, then the approval's changes", async () => {
    const opened = await evaluate(deploy()); // over HTTP: no connection holds it
    const id: string = opened.approval_request.id;
    const watcher = await stream(agentKey());
    const bystander = await stream(agentKey());
    await watcher.flush();
    assert.deepEqual(watcher.approvals(), [], "an evaluate over HTTP is pushed to no agent connection");

    watcher.send({ type: "watch", ids: [id, "apr_doesnotexist", id] });
    await watcher.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "pending");
    await call(sidecar, "POST", `/v1/approvals/${id}/reject`, { key: adminKey(), body: JSON.stringify({ reason: "not today" }) });
    const rejected = await watcher.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "rejected");
    assert.equal(rejected.approval.resolution_reason, "not today");
    await watcher.flush();
    assert.equal(watcher.approvals().length, 2, "one view per id named (twice in the frame), then its change; an unknown id is ignored");
    await bystander.flush();
    assert.deepEqual(bystander.approvals(), []);

    // Watching a resolved approval answers with its final view (a resolution before the watch is not missed).
    bystander.send({ type: "watch", ids: [id] });
    await bystander.next((f) => f.type === "approval" && f.approval.id === id && f.approval.status === "rejected");

    // A bad watch frame is named and refused; the connection stays up.
    const refusedWatches = () => watcher.frames.filter((f) => f.type === "error" && /^ids: /.test(f.message)).length;
    watcher.send({ type: "watch", ids: [] });
    watcher.send({ type: "watch", ids: Array.from({ length: 101 }, (_, i) => `apr_${i}`) });
    await waitFor(() => refusedWatches() === 2);
    await watcher.flush();
  });

  it("the events topic (every record, approval ids included) is the admin key's", async () => {
    const agent = await stream(agentKey());
    const admin = await stream(adminKey());
    agent.send({ type: "subscribe", topics: ["events", "approvals"] });
    await agent.next((f) => f.type === "error" && /events topic needs the admin key/.test(f.message));
    admin.send({ type: "subscribe", topics: ["events", "approvals"] });
    await admin.flush();

    const id: string = (await evaluate(deploy())).approval_request.id;
    const requested = await admin.next((f) => f.type === "event" && f.record.kind === "approval.requested");
    assert.equal(requested.record.data.approval.id, id);
    await agent.flush();
    assert.deepEqual(
      agent.frames.filter((f) => f.type === "event" || f.type === "approval"),
      [],
      "the refused subscribe changed nothing: the agent connection hears no records and no approval it does not hold",
    );
  });

  it("a grant is spent only by the request the human saw: another risk level, metadata or run is refused", async () => {
    const id: string = (await evaluate(deploy())).approval_request.id;
    assert.equal((await approve(id)).status, 200);
    const redeem = (extra: Record<string, unknown>) => evaluate(deploy({ approval_id: id, ...extra }));

    const refusals = {
      "risk level": await redeem({ tool: { name: "deploy.release", provider: "cicd", riskLevel: "critical" } }),
      "top-level risk level instead of the tool's": await redeem({ tool: { name: "deploy.release", provider: "cicd" }, risk_level: "low" }),
      metadata: await redeem({ metadata: { ticket: "OPS-43" } }),
      "no metadata": await redeem({ metadata: undefined }),
      run: await redeem({ run_id: "run_other" }),
    };
    for (const [what, decision] of Object.entries(refusals)) {
      assert.equal(decision.enforcement_action, "wait_for_approval", `${what}: ${decision.reason}`);
      assert.match(decision.reason, new RegExp(`approval ${id} was granted for a different action`), what);
      assert.notEqual(decision.approval_request.id, id, what);
    }

    const same = await redeem({});
    assert.equal(same.effective_decision, "allow", same.reason);
    assert.equal(same.enforcement_action, "proceed");
    assert.match(same.reason, new RegExp(`^approved \\(${id}\\)`));
  });
});
