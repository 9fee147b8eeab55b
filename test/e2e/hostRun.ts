// Extension-host tests: mocha inside code-server's real extension host (what @vscode/test-electron does for the
// desktop VS Code), with this repository as the extension under development. The suite is test/e2e/host/
// (compiled here to out/test/host/); dist/extension.js and dist/sdk.js must be built (npm run package or
// npm run build).
//
//   node --import tsx test/e2e/hostRun.ts     these tests alone (npm run test:e2e runs them after run.ts's)
//
// code-server refuses --extensionDevelopmentPath; VS Code's own browser-test mechanism works: the workbench URL
// carries `payload=[["extensionDevelopmentPath", vscode-remote://…], ["extensionTestsPath", vscode-remote://…]]`,
// which a built workbench honours only with developmentOptions.enableSmokeTestDriver (set in the page's
// configuration element by an init script, before workbench.js reads it); the workbench then reports the
// extension host's console to window.codeAutomationLog and the tests' end to window.codeAutomationExit(code).
// Environment: as run.ts (E2E_TOOLS, E2E_CHROMIUM, E2E_PORT, E2E_RUN_PARENT, E2E_KEEP); VERBOSE=1 prints the
// workbench's console too (always saved to test-results/e2e/host/console.log).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { format } from "node:util";
import { build } from "esbuild";
import type { BrowserContext } from "playwright-core";
import { CodeServer, findTools, freePort, launchBrowser, ROOT, RunDir, type Tools } from "./harness";
import type { HostResults } from "./host/index";
import { HOST_MARK, type HostConfig } from "./host/support";
import { exitWithSummary } from "../support/runnerExit";

const SUITE_SOURCES = ["index.ts", "support.ts", "sidecarAccess.ts", "extension.test.ts"].map((f) => path.join(__dirname, "host", f));
const SUITE_OUT = path.join(ROOT, "out/test/host");
const RESULTS = path.join(ROOT, "test-results/e2e/host");
/** The whole run (workbench start, activation, the sidecar, the agent) normally takes 5-10 s. */
const TIMEOUT_MS = Number(process.env.E2E_HOST_TIMEOUT_MS ?? 180_000);

/**
 * Runs in the page before its scripts (a string: this project's TypeScript has no DOM types): turns on
 * developmentOptions.enableSmokeTestDriver in the workbench's configuration element as soon as it is parsed.
 */
const ENABLE_SMOKE_TEST_DRIVER = `new MutationObserver((_, observer) => {
  const element = document.getElementById("vscode-workbench-web-configuration");
  const settings = element && element.getAttribute("data-settings");
  if (!settings) return;
  const config = JSON.parse(settings);
  config.developmentOptions = { ...(config.developmentOptions || {}), enableSmokeTestDriver: true };
  element.setAttribute("data-settings", JSON.stringify(config));
  observer.disconnect();
}).observe(document, { childList: true, subtree: true });`;

export interface HostOutcome {
  passed: number;
  failed: number;
}

/** Compiles the suite file by file (mocha loads extension.test.js itself; `vscode` and `mocha` stay requires). */
export async function compileSuite(): Promise<string> {
  rmSync(SUITE_OUT, { recursive: true, force: true });
  await build({ entryPoints: SUITE_SOURCES, outdir: SUITE_OUT, format: "cjs", platform: "node", target: "node20", logLevel: "warning" });
  return path.join(SUITE_OUT, "index.js");
}

/** The folder the window opens: enforce, prod-deploys (approval) and prod-shell (block, for the agent's second call). */
export function writeWorkspace(run: RunDir): void {
  writeFileSync(path.join(run.workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true, "prod-shell": true } }, null, 2) + "\n");
}

export async function runHostTests(log: (message: string) => void = console.log, tools: Tools = findTools()): Promise<HostOutcome> {
  const started = Date.now();
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  for (const file of ["dist/extension.js", "dist/sidecar.js", "dist/sdk.js"]) {
    if (!existsSync(path.join(ROOT, file))) throw new Error(`${file} is missing: npm run build (or npm run package)`);
  }
  const testsPath = await compileSuite();
  const run = new RunDir();
  run.writeUserSettings();
  writeWorkspace(run);
  const resultsFile = path.join(run.dir, "host-results.json");

  // The extension host inherits code-server's environment: that is how the suite learns where things are.
  const config: HostConfig = { root: ROOT, node: process.execPath, results: resultsFile };
  const previous = process.env.E2E_HOST;
  process.env.E2E_HOST = JSON.stringify(config);
  let server: CodeServer | undefined;
  try {
    server = await CodeServer.start(tools, run, await freePort());
  } finally {
    if (previous === undefined) delete process.env.E2E_HOST;
    else process.env.E2E_HOST = previous;
  }

  const consoleLines: string[] = [];
  let exitCode: number | string = "timeout";
  let context: BrowserContext | undefined;
  try {
    const launched = await launchBrowser(tools, run);
    context = launched.context;
    const page = launched.page;
    const verbose = !!process.env.VERBOSE;
    let failures = 0;
    let exited!: (code: number) => void;
    const exit = new Promise<number>((resolve) => (exited = resolve));
    await page.exposeFunction("codeAutomationLog", (type: string, args: unknown[]) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      consoleLines.push(`[${type}] ${line}`);
      if (line.startsWith(HOST_MARK)) {
        const text = line.slice(HOST_MARK.length + 1);
        console.log(`  ${text}`);
        // The workbench as the failing test left it (the next test starts meanwhile: this is a hint, not proof).
        if (/^\s*✗/.test(text)) void page.screenshot({ path: path.join(RESULTS, `failed-${++failures}.png`) }).catch(() => undefined);
      }
      else if (verbose) console.log(`  (workbench ${type}) ${line}`);
    });
    await page.exposeFunction("codeAutomationExit", (code: number) => exited(code));
    page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
    // A built workbench honours `payload` only with the smoke-test driver enabled (code-server's CLI has no flag
    // for it). page.route() would also do, but a document Playwright fulfils loses its loopback address space
    // and Chromium then blocks its WebSocket (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECK).
    await page.addInitScript(ENABLE_SMOKE_TEST_DRIVER);
    // code-server's workbench takes the page's host:port as the remote authority.
    const remote = (p: string) => `vscode-remote://${new URL(server.url).host}${p}`;
    const payload = JSON.stringify([
      ["extensionDevelopmentPath", remote(ROOT)],
      ["extensionTestsPath", remote(testsPath)],
    ]);
    log(`extension-host tests: code-server ${server.url}, extension under development ${ROOT}, folder ${run.workspace}`);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(run.workspace)}&payload=${encodeURIComponent(payload)}`);
    let timer: NodeJS.Timeout | undefined;
    exitCode = await Promise.race([exit, new Promise<string>((resolve) => (timer = setTimeout(() => resolve("timeout"), TIMEOUT_MS)))]);
    clearTimeout(timer);
    log(`extension-host tests: the extension host reported exit ${exitCode} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } finally {
    await context?.close().catch(() => undefined);
    const endedByItself = await server.stop();
    writeFileSync(path.join(RESULTS, "console.log"), consoleLines.join("\n") + "\n");
    run.collectLogs(path.join(RESULTS, "logs"));
    if (!endedByItself) log("extension-host tests: code-server's process group had to be killed");
  }

  let results: HostResults | undefined;
  try {
    results = JSON.parse(readFileSync(resultsFile, "utf8")) as HostResults;
    writeFileSync(path.join(RESULTS, "results.json"), JSON.stringify(results, null, 2) + "\n");
  } catch {
    // the suite did not get to write it
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  let outcome: HostOutcome;
  if (results === undefined) {
    log(`extension-host tests: no results (exit ${exitCode}, ${seconds}s); the workbench console is in ${path.relative(ROOT, RESULTS)}/console.log`);
    outcome = { passed: 0, failed: 1 };
  } else {
    outcome = { passed: results.passed, failed: results.failed };
    // A run() that rejected without a failing test (mocha itself broke) still fails.
    if (exitCode !== 0 && results.failed === 0) outcome.failed = 1;
    log(`extension-host tests: ${outcome.passed} passed, ${outcome.failed} failed (exit ${exitCode}, ${seconds}s)`);
  }
  if (outcome.failed > 0 || process.env.E2E_KEEP) log(`extension-host run folder kept: ${run.dir}`);
  else run.remove();
  return outcome;
}

if (require.main === module) {
  exitWithSummary(runHostTests());
}
