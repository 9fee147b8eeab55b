import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Apie, ApieError, type ApieDecision, type ApieOptions } from "../../sidecar/sdk";
import { ApprovalWaiter } from "../../sidecar/sdk/approvalWaiter";
import { HttpClient } from "../../sidecar/sdk/http";
import { SidecarStream } from "../../sidecar/sdk/stream";
import { call } from "./sidecarHttp";
import { SdkClients } from "./sdkClients";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * require_approval in enforce mode, end to end: the SDK waits on the real sidecar's approvals while the test
 * plays the human with the admin key (as `apie approvals approve` or the editor would).
 */

const deployCall = {
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
  arguments: { version: "1.4.2" },
} as const;

describe("SDK approvals (real sidecar, admin key plays the human)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let sdk: SdkClients;
  const admin = () => sidecar.discovery.adminKey;

  async function start(policy: object = { mode: "enforce", templates: { "prod-deploys": true } }): Promise<void> {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-sdk-approvals-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify(policy));
    sidecar = await startSidecarProcess(workspace);
  }
  function client(options: ApieOptions = {}): Apie {
    return sdk.make({ agent: { key: "release-gate" }, baseUrl: sidecar.discovery.baseUrl, apiKey: sidecar.discovery.apiKey, ...options });
  }
  /** The one pending approval, as the human sees it, once the SDK is waiting on it. */
  async function pending(): Promise<string> {
    let id = "";
    await waitFor(async () => {
      const list = (await call(sidecar, "GET", "/v1/approvals?status=pending", { key: admin() })).body.approvals;
      id = list[0]?.id ?? "";
      return list.length === 1;
    });
    await waitFor(() => sdk.warnings.some((w) => w.startsWith(`waiting for approval ${id}`)));
    return id;
  }
  const resolve = (id: string, verb: "approve" | "reject" | "cancel", reason?: string, key = admin()) =>
    call(sidecar, "POST", `/v1/approvals/${id}/${verb}`, { key, body: JSON.stringify(reason ? { reason } : {}) });
  const status = async (id: string) => (await call(sidecar, "GET", `/v1/approvals/${id}`)).body.approval;

  beforeEach(() => {
    sdk = new SdkClients();
  });
  afterEach(async () => {
    await sdk.shutdownAll();
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("approved by the admin: the deploy runs exactly once, under the redeemed grant", async () => {
    await start();
    const apie = client({ mode: "enforce" });
    const runs: (ApieDecision | null)[] = [];
    const result = apie.withTool(deployCall, (decision) => {
      runs.push(decision);
      return "deployed";
    });
    const id = await pending();
    assert.equal(runs.length, 0, "nothing runs while the approval is pending");
    assert.ok(sdk.warnings.some((w) => w.startsWith(`waiting for approval ${id} (prod-deploys)`)), sdk.warnings.join("\n"));
    assert.equal((await resolve(id, "approve", "release window")).status, 200);
    assert.equal(await result, "deployed");
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.effectiveDecision, "allow");
    assert.match(runs[0]!.reason, new RegExp(`^approved \\(${id}\\)`));
    const again = await apie.guard({ ...deployCall, approvalId: id });
    assert.match(again.reason, /already used/, "the grant was spent on that one call");
    if (again.approvalId) await apie.approvals.cancel(again.approvalId);
  });

  it("rejected: throws approval_rejected with the human's reason; the deploy never runs", async () => {
    await start();
    const apie = client({ mode: "enforce" });
    let ran = false;
    const result = apie.withTool(deployCall, () => (ran = true));
    result.catch(() => undefined); // asserted below; handled now so Node does not flag it as unhandled
    const id = await pending();
    await resolve(id, "reject", "change freeze until Monday");
    await assert.rejects(result, (e: ApieError) => {
      assert.equal(e.code, "approval_rejected");
      assert.equal(e.approvalId, id);
      assert.match(e.message, /was rejected: change freeze until Monday$/);
      assert.equal(e.decision?.enforcementAction, "wait_for_approval");
      return true;
    });
    assert.equal(ran, false);
  });

  it("the SDK's own wait ends first: the approval is cancelled and approval_timeout thrown", async () => {
    await start();
    const apie = client({ mode: "enforce", approvalTimeoutMs: 400 });
    let ran = false;
    const started = Date.now();
    await assert.rejects(apie.withTool(deployCall, () => (ran = true)), (e: ApieError) => e.code === "approval_timeout");
    assert.ok(Date.now() - started >= 390);
    assert.equal(ran, false);
    const [approval] = (await call(sidecar, "GET", "/v1/approvals", { key: admin() })).body.approvals;
    assert.equal(approval.status, "cancelled");
    assert.equal(approval.resolved_by, "agent");
  });

  it("expired on the sidecar's clock: approval_expired", async () => {
    await start({ mode: "enforce", templates: { "prod-deploys": { approvalTimeoutMs: 300 } } });
    const apie = client({ mode: "enforce" });
    await assert.rejects(apie.withTool(deployCall, () => assert.fail("must not run")), (e: ApieError) => e.code === "approval_expired");
  });

  it("withdrawn by someone else: approval_cancelled", async () => {
    await start();
    const apie = client({ mode: "enforce" });
    const result = apie.withTool(deployCall, () => assert.fail("must not run"));
    result.catch(() => undefined); // asserted below; handled now so Node does not flag it as unhandled
    await resolve(await pending(), "cancel", "duplicate request", sidecar.discovery.apiKey);
    await assert.rejects(result, (e: ApieError) => e.code === "approval_cancelled");
  });

  it("shutdown() while waiting: the approval is cancelled and the call fails with approval_cancelled", async () => {
    await start();
    const apie = client({ mode: "enforce" });
    const result = apie.withTool(deployCall, () => assert.fail("must not run"));
    result.catch(() => undefined); // asserted below; handled now so Node does not flag it as unhandled
    const id = await pending();
    await apie.shutdown();
    await assert.rejects(result, (e: ApieError) => e.code === "approval_cancelled");
    await waitFor(async () => (await status(id)).status === "cancelled");
  });

  it("approvals.wait/getStatus: an approval resolved before anyone waits is seen at once (read after subscribing)", async () => {
    await start();
    const apie = client({ mode: "enforce" });
    const decision = await apie.guard(deployCall);
    const id = decision.approvalId!;
    assert.equal((await apie.approvals.getStatus(id)).status, "pending");
    await resolve(id, "approve");
    const started = Date.now();
    assert.equal(await apie.approvals.wait(id, { timeoutMs: 10_000 }), "approved");
    assert.ok(Date.now() - started < 1_000);
    assert.equal((await apie.approvals.getStatus(id)).resolvedBy, "admin-key");
    await assert.rejects(apie.approvals.getStatus("apr_nope"), (e: ApieError) => e.code === "http_error" && e.status === 404);
    const open = (await apie.guard(deployCall)).approvalId!;
    assert.equal(await apie.approvals.wait(open, { timeoutMs: 200 }), "timeout");
    assert.equal((await status(open)).status, "pending", "a plain wait() timing out leaves the approval to the human");
  });

  it("an agent in monitor mode is not held: would-require-approval is logged, the call runs", async () => {
    await start({ templates: { "prod-deploys": true } });
    const apie = client({ mode: "monitor" });
    assert.equal(await apie.withTool(deployCall, () => "ran"), "ran");
    assert.ok(sdk.warnings.some((w) => /^would require approval in enforce mode \[prod-deploys\]/.test(w)), sdk.warnings.join("\n"));
  });

  describe("the waiter's channels", () => {
    let http: HttpClient;
    afterEach(() => http.close());

    it("falls back to long-polling /wait when the WebSocket cannot connect", async () => {
      await start();
      const { baseUrl, apiKey } = sidecar.discovery;
      http = new HttpClient({ baseUrl, apiKey, timeoutMs: 5_000 });
      const deadStream = new SidecarStream("ws://127.0.0.1:1/v1/stream", { authorization: `Bearer ${apiKey}` });
      const waiter = new ApprovalWaiter(http, deadStream, { connectTimeoutMs: 500, requestTimeoutMs: 5_000 });
      const id = (await client({ mode: "enforce" }).guard(deployCall)).approvalId!;
      const waiting = waiter.wait(id, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      await resolve(id, "approve");
      assert.equal(await waiting, "approved");
    });

    it("is pushed the resolution of an approval whose guard call went over HTTP (it watches the id)", async () => {
      await start();
      const { baseUrl, apiKey } = sidecar.discovery;
      http = new HttpClient({ baseUrl, apiKey, timeoutMs: 5_000 });
      const reads: string[] = [];
      const request = http.request.bind(http);
      http.request = (async (...args: Parameters<HttpClient["request"]>) => {
        const answer = await request(...args);
        reads.push(`${args[0]} ${args[1]}`);
        return answer;
      }) as HttpClient["request"];
      const stream = new SidecarStream(SidecarStream.urlFor(baseUrl), { authorization: `Bearer ${apiKey}` });
      const waiter = new ApprovalWaiter(http, stream, { connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });
      const opened = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body: JSON.stringify({ agent_key: "release-gate", mode: "enforce", ...deployCall }) });
      const id: string = opened.body.approval_request.id;
      const waiting = waiter.wait(id, 20_000);
      // The waiter's one read saw "pending": from here only a push can tell it the answer.
      await waitFor(() => reads.includes(`GET /v1/approvals/${id}`));
      await resolve(id, "approve");
      assert.equal(await waiting, "approved");
      assert.deepEqual(reads, [`GET /v1/approvals/${id}`], "no long-poll: the answer came over the stream");
      stream.close();
    });

    it("reconnects when the WebSocket drops, and sees a resolution made while it was away", async () => {
      await start();
      const { baseUrl, apiKey } = sidecar.discovery;
      const sidecarPort = Number(new URL(baseUrl).port);
      // A TCP relay in front of /v1/stream: the test cuts its connections and holds new ones until released.
      const live = new Set<Socket>();
      const held: Socket[] = [];
      let connections = 0;
      let holding = false;
      const pipe = (socket: Socket): void => {
        const upstream = connect(sidecarPort, "127.0.0.1");
        live.add(socket).add(upstream);
        socket.pipe(upstream).pipe(socket);
        const drop = (): void => void (socket.destroy(), upstream.destroy());
        socket.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      };
      const relay: Server = createServer((socket) => {
        connections++;
        if (holding) held.push(socket);
        else pipe(socket);
      });
      await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
      http = new HttpClient({ baseUrl, apiKey, timeoutMs: 5_000 });
      // The relay listens on another port, so the upgrade names the sidecar's own Host (DNS-rebinding check).
      const relayUrl = `ws://127.0.0.1:${(relay.address() as AddressInfo).port}/v1/stream`;
      const stream = new SidecarStream(relayUrl, { authorization: `Bearer ${apiKey}`, host: `127.0.0.1:${sidecarPort}` });
      const waiter = new ApprovalWaiter(http, stream, { connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });
      const id = (await client({ mode: "enforce" }).guard(deployCall)).approvalId!;
      const waiting = waiter.wait(id, 20_000);
      await waitFor(() => connections === 1 && live.size === 2);
      await new Promise((r) => setTimeout(r, 100));
      holding = true;
      for (const socket of live) socket.destroy();
      await waitFor(() => held.length === 1, 5_000);
      await resolve(id, "approve");
      holding = false;
      pipe(held.shift()!);
      assert.equal(await waiting, "approved");
      assert.equal(connections, 2, "one reconnect, no long-poll fallback");
      stream.close();
      relay.close();
      for (const socket of live) socket.destroy();
    });
  });
});
