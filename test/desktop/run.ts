// The extension-host suite (test/e2e/host/) in the desktop VS Code, through @vscode/test-electron: the same
// mocha suite `npm run test:e2e` runs inside code-server, here with this repository as the extension under
// development (--extensionDevelopmentPath) in an Electron window.
//
//   npm run test:desktop                          downloads VS Code stable into .vscode-test/ on first use
//   VSCODE_EXECUTABLE=/path/to/code npm run test:desktop     an installed VS Code instead (no download)
//   VSCODE_VERSION=1.99.0 npm run test:desktop    a pinned release
//
// Not part of CI: the CI machine reaches only the npm registry and Debian's packages, so it cannot download
// VS Code; it runs the suite in code-server instead (test/e2e/hostRun.ts). On Linux without a display, run
// it under xvfb-run.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { runTests } from "@vscode/test-electron";
import { ROOT, RunDir } from "../e2e/harness";
import type { HostResults } from "../e2e/host/index";
import type { HostConfig } from "../e2e/host/support";
import { compileSuite, writeWorkspace } from "../e2e/hostRun";
import { exitWithSummary } from "../support/runnerExit";

async function main(): Promise<{ passed: number; failed: number }> {
  for (const file of ["dist/extension.js", "dist/sidecar.js", "dist/sdk.js"]) {
    if (!existsSync(path.join(ROOT, file))) throw new Error(`${file} is missing: npm run build`);
  }
  const testsPath = await compileSuite();
  const run = new RunDir();
  run.writeUserSettings();
  writeWorkspace(run);
  const results = path.join(run.dir, "host-results.json");
  const config: HostConfig = { root: ROOT, node: process.execPath, results };
  const executable = process.env.VSCODE_EXECUTABLE;
  try {
    await runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: testsPath,
      extensionTestsEnv: { E2E_HOST: JSON.stringify(config) },
      ...(executable ? { vscodeExecutablePath: executable } : { version: process.env.VSCODE_VERSION ?? "stable" }),
      // A throwaway profile: no other extension, no settings sync, the folder the suite expects.
      launchArgs: [run.workspace, "--disable-extensions", "--disable-workspace-trust", `--user-data-dir=${run.userData}`, `--extensions-dir=${run.extensions}`],
    });
  } catch (error) {
    console.error(`VS Code ended with an error: ${(error as Error).message}`);
  }
  let outcome: HostResults | undefined;
  try {
    outcome = JSON.parse(readFileSync(results, "utf8")) as HostResults;
  } catch {
    // the suite never wrote its results: VS Code did not start or the extension host died
  }
  const passed = outcome?.passed ?? 0;
  const failed = outcome ? outcome.failed : 1;
  if (failed === 0) run.remove();
  else console.log(`run folder kept: ${run.dir}`);
  return { passed, failed };
}

exitWithSummary(main());
