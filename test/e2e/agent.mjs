// The release-gate agent of examples/release-gate.mjs, for the end-to-end test: the TypeScript SDK (the built
// dist/sdk.js) against the sidecar the editor started, found through APIE_BASE_URL / APIE_API_KEY as in a
// terminal of that window. It reports to the file E2E_OUTCOME, one JSON line per fact:
//   {"event":"deployed"}                                     each time the guarded callback runs
//   {"event":"done","ok":true,"deploys":1}                   the run finished
//   {"event":"done","ok":false,"code":"approval_rejected",…} the SDK threw (code: ApieError's code)
import { appendFileSync } from "node:fs";
import { Apie, ApieError } from "../../dist/sdk.js";

const outcome = process.env.E2E_OUTCOME;
if (!outcome) throw new Error("E2E_OUTCOME is not set");
const report = (fact) => appendFileSync(outcome, JSON.stringify(fact) + "\n");

let deploys = 0;
const apie = await Apie.create({
  agent: { key: "release-gate", name: "Release Gate" },
  mode: "enforce",
  guardFailureMode: "fail_closed",
  runtime: { environment: "production" },
  // The test answers within seconds; a lost notification should fail the test, not hang it.
  approvalTimeoutMs: 60_000,
});
try {
  await apie.withRun({ inputSummary: "Production deploy attempt" }, async (run) => {
    await apie.withTool(
      {
        runId: run.id,
        tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
        action: { type: "execute", name: "deploy.release" },
        resource: { type: "deployment_event", environment: "production" },
      },
      async () => {
        deploys += 1;
        report({ event: "deployed" });
      },
    );
  });
  report({ event: "done", ok: true, deploys });
} catch (error) {
  report({ event: "done", ok: false, name: error?.constructor?.name, isApieError: error instanceof ApieError, code: error?.code ?? null, message: String(error?.message ?? error), deploys });
} finally {
  await apie.shutdown();
}
