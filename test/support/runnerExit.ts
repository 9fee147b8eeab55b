/**
 * The end of a test runner (e2e, extension host, desktop): prints the summary line `.ci/run` and people read
 * (`N passed, M failed`) and exits 0 only when nothing failed. A runner that throws is one failure.
 */
export function exitWithSummary(run: Promise<{ passed: number; failed: number }>): void {
  run.then(
    ({ passed, failed }) => {
      console.log(`\n${passed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error);
      console.log("\n0 passed, 1 failed");
      process.exit(1);
    },
  );
}
