// The main demo: a real sidecar on 127.0.0.1 and the release-gate agent (TypeScript SDK) against it.
//
//   npm ci && npm run build && node examples/demo.mjs
//
// 1. prod-deploys at block: the deploy never runs; the error names the guardrail.
// 2. prod-deploys at require_approval: the agent waits; this script plays the human and approves with the
//    admin key (what `apie approvals approve ID` or the editor's Approve button do); the deploy runs once.
// 3. The same, rejected: the agent gets ApieError approval_rejected.
// Then `apie audit verify` checks the event log the sidecar wrote.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Apie, ApieError } from "../dist/sdk.js";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(root, "dist/cli.js");
const workspace = mkdtempSync(path.join(tmpdir(), "apie-demo-"));
const setPolicy = (decision) =>
  writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": { decision } } }, null, 2));
setPolicy("block");

const sidecar = spawn(process.execPath, [cli, "sidecar", "--workspace", workspace, "--port", "0"], { stdio: ["ignore", "pipe", "ignore"] });
const { baseUrl, apiKey, adminKey } = JSON.parse(await new Promise((resolve) => createInterface({ input: sidecar.stdout }).once("line", resolve)));
console.log(`sidecar ready at ${baseUrl} (workspace ${workspace})\n`);

/** The human: approves or rejects the first pending approval with the admin key. */
async function answerNextApproval(verdict) {
  for (;;) {
    const res = await fetch(`${baseUrl}/v1/approvals?status=pending`, { headers: { authorization: `Bearer ${adminKey}` } });
    const [approval] = (await res.json()).approvals;
    if (approval) {
      console.log(`  human: ${verdict === "approve" ? "approving" : "rejecting"} ${approval.id} (${approval.tool.name} in ${approval.resource.environment}: ${approval.reason})`);
      await fetch(`${baseUrl}/v1/approvals/${approval.id}/${verdict}`, { method: "POST", headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" }, body: "{}" });
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const apie = await Apie.create({
  agent: { key: "release-gate", name: "Release Gate" },
  mode: "enforce",
  guardFailureMode: "fail_closed",
  runtime: { environment: "production" },
  baseUrl,
  apiKey,
  logger: { warn: (m) => console.log(`  agent: [apie] ${m}`), info: () => {} },
});

async function releaseGate(label) {
  let deploys = 0;
  console.log(label);
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
          deploys++;
          console.log("  agent: deploy.release ran");
        },
      );
    });
  } catch (error) {
    if (!(error instanceof ApieError)) throw error;
    console.log(`  agent: ApieError ${error.code}: ${error.message}`);
  }
  console.log(`  → deploy ran ${deploys} time(s)\n`);
}

try {
  await releaseGate("1. prod-deploys: block");
  setPolicy("require_approval");
  await new Promise((r) => setTimeout(r, 300)); // the sidecar reloads the saved policy
  await Promise.all([releaseGate("2. prod-deploys: require_approval, approved"), answerNextApproval("approve")]);
  await Promise.all([releaseGate("3. prod-deploys: require_approval, rejected"), answerNextApproval("reject")]);
  await apie.shutdown();
} finally {
  sidecar.kill("SIGTERM");
  await new Promise((r) => sidecar.once("exit", r));
}
const verify = spawnSync(process.execPath, [cli, "audit", "verify", "--state-dir", path.join(workspace, ".apie")], { encoding: "utf8" });
console.log(`apie audit verify: ${(verify.stdout || verify.stderr).trim()}`);
rmSync(workspace, { recursive: true, force: true });
process.exitCode = verify.status ?? 1;
