/**
 * `npm run bench`: runs the benchmarks in order and prints their reports. Benchmarks are never part of the
 * test suite (mocha only picks up test/unit/**\/*.test.ts); their goals are reported, and only a bench that
 * throws (e.g. two engines disagreeing on a decision) makes the run fail.
 *
 * `npm run bench -- guard` runs only the benches whose name contains one of the given words.
 */

/** What a bench module exports: a run that streams its report line by line (long benches show progress). */
interface BenchModule {
  run(report: (line: string) => void): Promise<void> | void;
}

/** In run order. A new bench is one line; modules load lazily so one bench's dependencies never slow another. */
const BENCHES: readonly { name: string; load: () => Promise<BenchModule> }[] = [
  { name: "guard engine vs cedar-wasm", load: () => import("./guard.bench") },
  { name: "sidecar evaluate round trip vs bare HTTP echo", load: () => import("./sidecar.bench") },
  { name: "event log durable append vs raw write+fdatasync, recovery", load: () => import("./store.bench") },
  { name: "sidecar footprint: cold start and RSS after 100k events", load: () => import("./footprint.bench") },
  { name: "mcp proxy tools/call vs direct and bare pass-through", load: () => import("./mcp.bench") },
  { name: "mcp proxy over Streamable HTTP vs supergateway and mcp-proxy", load: () => import("./mcpHttp.bench") },
  // Not matched by `-- mcp`: an A/A run unless MCP_BENCH_BUILDS names two builds (`npm run bench -- builds`).
  { name: "stdio proxy builds A and B, same run (MCP_BENCH_BUILDS)", load: () => import("./mcpBuilds.bench") },
  { name: "replica reports: sidecar CPU per reported decision vs per evaluate", load: () => import("./reports.bench") },
  { name: "extension Runs tree with 10 000 records", load: () => import("./tree.bench") },
  { name: "sidecar under sustained hostile load: RSS and answers", load: () => import("./hostile.bench") },
  { name: "guard latency during a storm of boundary reports", load: () => import("./reportStorm.bench") },
  { name: "crash window of lazily written allow decisions (SIGKILL under load)", load: () => import("./crashWindow.bench") },
  { name: "hook: apie hook process (allow path) vs bare node", load: () => import("./hook.bench") },
];

async function main(filters: readonly string[]): Promise<number> {
  const selected = filters.length === 0 ? BENCHES : BENCHES.filter((b) => filters.some((f) => b.name.includes(f)));
  if (selected.length === 0) {
    console.error(`no bench matches ${filters.join(", ")}; benches: ${BENCHES.map((b) => b.name).join(", ")}`);
    return 2;
  }
  if ((globalThis as { gc?: unknown }).gc === undefined) console.warn("note: run with --expose-gc (npm run bench does) so phases start from a clean heap");

  let failed = 0;
  for (const bench of selected) {
    console.log(`\n== ${bench.name} ==`);
    const started = performance.now();
    try {
      const module = await bench.load();
      await module.run((line) => console.log(line));
      console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      failed++;
      console.error(`\nFAILED: ${bench.name}\n${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
