// The extension host loads this file (compiled to out/test/host/index.js by test/e2e/hostRun.ts) as its
// extensionTestsPath, the way @vscode/test-electron does on the desktop: it must export run(): Promise<void>.
// Mocha (ui tdd) runs the suites next to it. Each line it prints starts with HOST_MARK, so the runner can tell
// them from the workbench's own console output; the outcome also goes to the JSON file named by E2E_HOST.results.
import { writeFileSync } from "node:fs";
import path from "node:path";
import Mocha from "mocha";
import { HOST_MARK, hostConfig, notesOf, say, setCurrentTest } from "./support";

export interface HostResults {
  passed: number;
  failed: number;
  tests: { title: string; state: "passed" | "failed"; ms: number; error?: string; notes: string[] }[];
}

export function run(): Promise<void> {
  const results: HostResults = { passed: 0, failed: 0, tests: [] };
  const mocha = new Mocha({ ui: "tdd", color: false, timeout: 60_000, reporter: reporter(results) });
  mocha.addFile(path.join(__dirname, "extension.test.js"));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      const file = hostConfig().results;
      if (file) writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
      say(`${results.passed} passed, ${results.failed} failed`);
      failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed`)) : resolve();
    });
  });
}

/** One line per test (✓/✗, its duration and the numbers it noted), like mocha's spec reporter. */
function reporter(results: HostResults) {
  return class HostReporter extends Mocha.reporters.Base {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
      super(runner, options);
      const started = new Map<Mocha.Test, number>();
      runner.on("suite", (suite) => suite.title && say(suite.title));
      runner.on("test", (test) => {
        setCurrentTest(test.title);
        started.set(test, Date.now());
      });
      runner.on("pass", (test) => {
        const ms = Date.now() - (started.get(test) ?? Date.now());
        results.passed++;
        results.tests.push({ title: test.title, state: "passed", ms, notes: notesOf(test.title) });
        say(`  ✓ ${test.title} (${(ms / 1000).toFixed(1)}s)`);
      });
      runner.on("fail", (test, error: Error) => {
        const ms = Date.now() - (started.get(test) ?? Date.now());
        results.failed++;
        results.tests.push({ title: test.fullTitle(), state: "failed", ms, error: error.message, notes: notesOf(test.title) });
        say(`  ✗ ${test.fullTitle()} (${(ms / 1000).toFixed(1)}s)\n      ${(error.stack ?? error.message).split("\n").slice(0, 8).join("\n      ")}`);
      });
    }
  };
}

export { HOST_MARK };
