import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnUntilReady, type ReadyProcess } from "../test/support/readyProcess";
import { BENCH_TEMPLATES, connectBaselines, connectEcho, cpuMs, cpuPerCall, echoProxyConfig, TURNS, type EchoClient } from "./mcpStdio";
import { cliNodeArgs } from "./sidecarLaunch";
import { formatMicros, formatTable, roundRatios, sampleInterleaved, summarize } from "./stats";

/**
 * Two builds of `apie mcp proxy` against each other in the same run: direct, the pass-through, and each
 * build's proxy (stdio, monitor, plain allows) with its own sidecar of the same build, in the same turns as
 * bench/mcp.bench.ts (mcpStdio.ts TURNS). On this shared 2-core machine a few µs
 * cannot be told apart across runs, only within one. `MCP_BENCH_BUILDS=<dist A>,<dist B>` (folders holding
 * cli.js, e.g. a copy of dist/ from the build before a change); without it, this checkout's dist against
 * itself: an A/A run, which shows how far two readings of the same code drift here.
 */

const { rounds: ROUNDS, perRound: PER_ROUND, pauseMs: PAUSE_MS } = TURNS;

export async function run(report: (line: string) => void): Promise<void> {
  const dist = path.resolve(__dirname, "../dist");
  const builds = (process.env.MCP_BENCH_BUILDS ?? `${dist},${dist}`).split(",").map((folder) => path.resolve(folder));
  if (builds.length !== 2) throw new Error("MCP_BENCH_BUILDS: two build folders, comma-separated");
  const workspaces: string[] = [];
  const sidecars: ReadyProcess[] = [];
  const clients: EchoClient[] = [];
  try {
    clients.push(...(await connectBaselines()));
    for (const build of builds) {
      const cli = path.join(build, "cli.js");
      const workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-builds-"));
      workspaces.push(workspace);
      writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: BENCH_TEMPLATES }));
      const config = path.join(workspace, "apie.mcp.json");
      writeFileSync(config, JSON.stringify(echoProxyConfig("everything", "monitor")));
      const sidecar = await spawnUntilReady(cliNodeArgs(cli, "sidecar", "--workspace", workspace, "--port", "0"));
      sidecars.push(sidecar);
      const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };
      clients.push(await connectEcho(process.execPath, cliNodeArgs(cli, "mcp", "proxy", "--config", config), { APIE_BASE_URL: baseUrl, APIE_API_KEY: apiKey }));
    }
    report(`builds: A ${builds[0]}, B ${builds[1]}${process.env.MCP_BENCH_BUILDS === undefined ? " (A/A: set MCP_BENCH_BUILDS to compare two)" : ""}; ${ROUNDS} rounds of ${PER_ROUND} calls per path, balanced turns, ${PAUSE_MS} ms idle between`);
    for (const c of clients) for (let i = 0; i < 1_000; i++) await c.call();
    const cpuBefore = [...clients.map((c) => cpuMs(c.pid)), ...sidecars.map((s) => cpuMs(s.child.pid!))];
    const samples = await sampleInterleaved(
      clients.map((c) => c.call),
      0,
      ROUNDS,
      PER_ROUND,
      { pauseMs: PAUSE_MS },
    );
    const cpuAfter = [...clients.map((c) => cpuMs(c.pid)), ...sidecars.map((s) => cpuMs(s.child.pid!))];
    const perCall = (i: number) => cpuPerCall(cpuBefore[i], cpuAfter[i], ROUNDS * PER_ROUND);
    const bare = summarize(samples[1]!.slice());
    const names = ["direct", "bare pass-through", "proxy A", "proxy B"];
    report(
      formatTable(
        ["path", "p50", "p99", "calls over 1 ms", "p50 vs pass-through (per round: median, range)", "CPU per call (proxy / its sidecar)"],
        samples.map((s, i) => {
          const rounds = roundRatios(s, samples[1]!, PER_ROUND);
          const summary = summarize(s.slice());
          const over = (s.filter((ns) => ns > 1_000_000).length / s.length) * 100;
          return [
            names[i]!,
            formatMicros(summary.p50),
            formatMicros(summary.p99),
            `${over.toFixed(2)} %`,
            `${(summary.p50 / bare.p50).toFixed(2)}x (${rounds.median.toFixed(2)}x, ${rounds.min.toFixed(2)}–${rounds.max.toFixed(2)})`,
            i < 2 ? perCall(i) : `${perCall(i)} / ${perCall(clients.length + i - 2)}`,
          ];
        }),
      ),
    );
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const sidecar of sidecars) sidecar.child.kill("SIGTERM");
    await Promise.allSettled(sidecars.map((s) => s.exited));
    for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
  }
}
