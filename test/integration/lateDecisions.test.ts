import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RecordDataByKind } from "../../sidecar/protocol/records";
import { ApieError, type ApieDecision } from "../../sidecar/sdk";
import { GuardClient, type GuardClientOptions } from "../../sidecar/sdk/guardClient";
import { HttpClient } from "../../sidecar/sdk/http";
import { SidecarStream } from "../../sidecar/sdk/stream";
import { call } from "./sidecarHttp";
import { SdkClients } from "./sdkClients";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * A sidecar that was stopped (SIGSTOP) while agents asked it: the agents gave up at their guard deadline
 * (fail_closed: nothing ran); once it runs again (SIGCONT) it still decides and journals every request it
 * had received — as late, never as a call that was allowed and ran.
 */

const CALLS_PER_PATH = 10;
const GUARD_TIMEOUT_MS = 300;

type DecisionData = RecordDataByKind["decision"];

describe("decisions made after the caller gave up (SIGSTOP / SIGCONT, real sidecar)", function () {
  this.timeout(30_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let sdk: SdkClients;
  const closers: (() => void)[] = [];

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-late-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
    sdk = new SdkClients();
  });
  afterEach(async () => {
    if (sidecar.child.exitCode === null) sidecar.child.kill("SIGCONT");
    for (const close of closers.splice(0)) close();
    await sdk.shutdownAll();
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  /** The decision records in the log whose arguments say they were sent in `phase`. */
  async function decisionsOf(phase: "running" | "stopped"): Promise<DecisionData[]> {
    const file = (await call(sidecar, "GET", "/v1/health")).body.event_log as string;
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { kind: string; data: DecisionData })
      .filter((r) => r.kind === "decision" && (r.data.request.arguments as { phase?: string } | null)?.phase === phase)
      .map((r) => r.data);
  }

  it("journals every call the SDK gave up on as late (HTTP, call frames, withTool), none as a plain allow; a late require_approval opens no approval", async () => {
    const { baseUrl, apiKey } = sidecar.discovery;
    const warnings: string[] = [];
    const options: GuardClientOptions = { agentKey: "calc", mode: "enforce", guardTimeoutMs: GUARD_TIMEOUT_MS, guardFailureMode: "fail_closed", logger: { warn: (m) => warnings.push(m) } };
    const plainHttp = new HttpClient({ baseUrl, apiKey, timeoutMs: 2_000 });
    closers.push(() => plainHttp.close());
    const overHttp = new GuardClient(plainHttp, options);
    const framedHttp = new HttpClient({ baseUrl, apiKey, timeoutMs: 2_000 });
    const stream = new SidecarStream(SidecarStream.urlFor(baseUrl), { authorization: `Bearer ${apiKey}` });
    closers.push(() => (stream.close(), framedHttp.close()));
    framedHttp.useStream(stream);
    await waitFor(() => stream.callsAvailable);
    const overFrames = new GuardClient(framedHttp, options);
    const apie = sdk.make({ agent: { key: "calc" }, baseUrl, apiKey, mode: "enforce", guardTimeoutMs: GUARD_TIMEOUT_MS, guardFailureMode: "fail_closed" });
    await apie.ready();
    // In time (a patient caller, so a slow machine cannot make it late), the same call is a plain allow.
    const patient = new GuardClient(framedHttp, { ...options, guardTimeoutMs: 20_000 });
    const timely = await patient.evaluate({ tool: { name: "calc.add" }, arguments: { phase: "running" } });
    assert.equal(timely.decision.enforcementAction, "proceed");

    let ran = 0;
    sidecar.child.kill("SIGSTOP");
    const add = (via: string, i: number) => ({ tool: { name: "calc.add" }, arguments: { phase: "stopped", via, i } });
    const outcomes = await Promise.all([
      ...Array.from({ length: CALLS_PER_PATH }, (_, i) => overHttp.evaluate(add("http", i)).then((o) => o.decision)),
      ...Array.from({ length: CALLS_PER_PATH }, (_, i) => overFrames.evaluate(add("frame", i)).then((o) => o.decision)),
      ...Array.from({ length: CALLS_PER_PATH }, (_, i) =>
        apie.withTool(add("withTool", i), () => {
          ran++;
        }).then(
          () => "ran",
          (error: unknown) => error,
        ),
      ),
      // Needs an approval: nobody will wait for it once the sidecar runs again.
      overFrames
        .evaluate({ tool: { name: "deploy.release" }, action: { type: "execute" }, resource: { type: "deployment_event", environment: "production" }, arguments: { phase: "stopped", via: "frame-deploy" } })
        .then((o) => o.decision),
    ]);
    sidecar.child.kill("SIGCONT");

    assert.equal(ran, 0, "fail_closed: no callback ran");
    for (const outcome of outcomes) {
      if (outcome instanceof ApieError) assert.equal(outcome.code, "blocked");
      else assert.equal((outcome as ApieDecision).guardUnavailable?.failureMode, "fail_closed", String(outcome));
    }

    const expected = 3 * CALLS_PER_PATH + 1;
    let decisions: DecisionData[] = [];
    await waitFor(async () => (decisions = await decisionsOf("stopped")).length === expected, 10_000);
    for (const d of decisions) {
      assert.ok(d.late !== undefined, `not marked late: ${JSON.stringify(d.request.arguments)} → ${d.decision.effective_decision}`);
      assert.ok(Date.parse(d.late.caller_gave_up_at) > 0);
    }
    const allows = decisions.filter((d) => d.decision.effective_decision === "allow");
    assert.equal(allows.length, 3 * CALLS_PER_PATH, "the calc calls are still decided (allow), each marked late");
    const deploy = decisions.find((d) => d.request.tool.name === "deploy.release")!;
    assert.equal(deploy.decision.effective_decision, "require_approval");
    assert.equal(deploy.approval_id, null, "a late require_approval opens no approval");
    assert.match(deploy.decision.reason, /no approval opened: the caller had stopped waiting/);
    const [running] = await decisionsOf("running");
    assert.equal(running!.late, undefined, "a decision made in time is not marked late");
    const pending = (await call(sidecar, "GET", "/v1/approvals?status=pending", { key: sidecar.discovery.adminKey })).body.approvals;
    assert.deepEqual(pending, []);
  });
});
