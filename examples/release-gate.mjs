// The release-gate agent from the Apie docs, guarded by the local sidecar.
//
//   npm run build
//   node dist/cli.js guardrails enable prod-deploys --decision block   # or leave it at require_approval
//   node dist/cli.js sidecar &                                         # prints {"baseUrl","apiKey",…}
//   APIE_BASE_URL=… APIE_API_KEY=… node examples/release-gate.mjs
//
// With prod-deploys at block, the deploy never runs and the error names the guardrail. At require_approval
// the agent waits until you approve or reject (in the editor, or `apie approvals approve ID`).
import { Apie } from "../dist/sdk.js";

let deploys = 0;
async function deploy() {
  deploys += 1;
  console.log("deploy: releasing 1.4.2 to production");
  return { released: "1.4.2" };
}

const apie = await Apie.create({
  agent: { key: "release-gate", name: "Release Gate" },
  mode: "enforce",
  guardFailureMode: "fail_closed",
  runtime: { environment: "production" },
});
try {
  await apie.withRun({ inputSummary: "Production deploy attempt" }, async (run) => {
    await apie.withTool({ runId: run.id,
      tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
      action: { type: "execute", name: "deploy.release" },
      resource: { type: "deployment_event", environment: "production" } }, async () => deploy());
  });
  console.log(`result: deploy ran ${deploys} time(s)`);
} catch (error) {
  console.log(`result: ${error.code ?? "error"}: ${error.message}`);
  console.log(`deploy ran ${deploys} time(s)`);
  process.exitCode = error.code === "blocked" ? 3 : 1;
} finally {
  await apie.shutdown();
}
