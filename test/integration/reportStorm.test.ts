import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ApieError } from "../../sidecar/sdk";
import { writeDecisionLog } from "../support/decisionLog";
import { call, type Reply } from "./sidecarHttp";
import { SdkClients } from "./sdkClients";
import { startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Issue 11 item 3: boundary reports must never starve the guard. A sidecar whose log already holds many
 * decisions gets 128 concurrent reports while an agent (fail_open, the SDK's default 2 s guard deadline)
 * keeps calling `rm -rf /`, which prod-shell blocks in enforce. Before the fix the reports stalled the event
 * loop for seconds, the guard calls hit their deadline and fail_open ran the command. Now: not one ran, and
 * the reports past the queue are refused at once with 503 `busy` and a Retry-After.
 * (Guard latency during such a storm is measured by bench/reportStorm.bench.ts, not asserted here.)
 */
describe("boundary reports vs the guard (report storm)", function () {
  this.timeout(120_000);
  const DECISIONS = 20_000;
  const REPORTS = 128;
  const MIN_GUARD_CALLS = 18;
  let workspace: string;
  let sidecar: SidecarUnderTest | undefined;
  let sdk: SdkClients;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-storm-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-shell": true } }));
    await writeDecisionLog(path.join(workspace, ".apie"), DECISIONS);
    sidecar = await startSidecarProcess(workspace);
    sdk = new SdkClients();
  });
  afterEach(async () => {
    await sdk.shutdownAll();
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("128 concurrent reports over a long log: 0 blocked commands run under fail_open; the overflow gets 503 busy", async () => {
    const running = sidecar!;
    const apie = sdk.make({
      agent: { key: "storm-agent" },
      baseUrl: running.discovery.baseUrl,
      apiKey: running.discovery.apiKey,
      guardFailureMode: "fail_open",
    });
    const executed: string[] = [];
    const shell = apie.wrap({ tool: { name: "run_in_terminal" } }, async (args: { command: string }) => {
      executed.push(args.command);
      return "ran";
    });
    // The guard answers before the storm (and the SDK's connection is up).
    await assert.rejects(shell({ command: "rm -rf /" }), (e: ApieError) => e.code === "blocked");

    const replies: Reply[] = [];
    const reports = Array.from({ length: REPORTS }, () =>
      call(running, "POST", "/v1/boundary-reports", { body: JSON.stringify({ window: "30d" }) }).then((r) => void replies.push(r)),
    );
    const outcomes: string[] = [];
    while (replies.length < REPORTS || outcomes.length < MIN_GUARD_CALLS) {
      outcomes.push(await shell({ command: "rm -rf /" }).then(() => "ran", (e: ApieError) => e.code));
    }
    await Promise.all(reports);

    assert.deepEqual(executed, [], `the blocked command ran ${executed.length} times (guard outcomes: ${outcomes.join(", ")})`);
    assert.ok(outcomes.every((o) => o === "blocked"), outcomes.join(", "));
    const ok = replies.filter((r) => r.status === 200);
    const busy = replies.filter((r) => r.status === 503);
    assert.equal(ok.length + busy.length, REPORTS, JSON.stringify(replies.filter((r) => r.status !== 200 && r.status !== 503).slice(0, 2)));
    assert.ok(ok.length >= 1 && busy.length >= 1, `${ok.length} generated, ${busy.length} refused`);
    for (const r of ok) assert.ok(r.body.report.totals.guarded_calls >= DECISIONS, JSON.stringify(r.body.report.totals));
    for (const r of busy) {
      assert.equal(r.body.error.code, "busy");
      assert.match(r.body.error.message, /too many boundary reports at once/);
      assert.ok(Number.isInteger(r.body.error.retry_after_s) && r.body.error.retry_after_s >= 1, JSON.stringify(r.body));
      assert.equal(r.headers["retry-after"], String(r.body.error.retry_after_s));
    }
  });
});
