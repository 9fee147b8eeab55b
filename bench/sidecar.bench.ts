import type { ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import WebSocket from "ws";
import path from "node:path";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnUntilReady } from "../test/support/readyProcess";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { formatMicros, formatRate, formatRatio, formatTable, timeConcurrent, timeSequential, type LatencySummary } from "./stats";
import { SEARCH_DOCS_REQUEST } from "./requests";

const BODY = JSON.stringify(SEARCH_DOCS_REQUEST);

/**
 * One guard decision: POST /v1/guardrails/evaluate to the real sidecar process (built dist/cli.js) on
 * loopback, against the floor of the same trip — a bare keep-alive echo server in its own process — measured
 * in the same run with the same client (http.Agent keepAlive, as PERF.md recommends over fetch). Then the
 * SDK's whole withTool, which sends its guard request as a `call` frame on /v1/stream, with the floor of that
 * trip too: a bare WebSocket echo. Concurrency 1 (latency) and 64 (throughput). Goals (issue 3), for
 * withTool: p50 ≤ 150 µs, p99 ≤ 1 ms, ≥ 20 000 decisions/s, p50 ratio to the HTTP echo floor ≤ 1.5.
 */

/**
 * Calls before measuring, the same for every path. The SDK path sends its events every 25 calls; after only
 * 2 000 calls (80 batches) V8 was still optimizing it: the next 10 000 calls had a p99 of 0.85–0.95 ms, the
 * 10 000 after those 0.3–0.47 ms. This measures the steady state an agent runs in.
 */
const WARMUP = 10_000;
const SEQUENTIAL = 10_000;
const CONCURRENT_TOTAL = 40_000;
const CONCURRENCY = 64;

const ECHO_SERVER = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => { const b = Buffer.concat(chunks); res.writeHead(200, {"content-type": "application/json", "content-length": b.length}); res.end(b); });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ baseUrl: "http://127.0.0.1:" + server.address().port, apiKey: "none" })));
`;

/** The floor of a frame round trip: a bare \`ws\` server that echoes each text frame (the SDK's guard path). */
const WS_ECHO_SERVER = `
const { WebSocketServer } = require(${JSON.stringify(require.resolve("ws"))});
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => console.log(JSON.stringify({ baseUrl: "http://127.0.0.1:" + wss.address().port, apiKey: "none" })));
wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data.toString())));
`;

interface Target {
  name: string;
  child: ChildProcess;
  baseUrl: string;
  apiKey: string;
}

async function startProcess(name: string, args: string[]): Promise<Target> {
  const { child, readyLine } = await spawnUntilReady(args);
  const { baseUrl, apiKey } = JSON.parse(readyLine) as { baseUrl: string; apiKey: string };
  return { name, child, baseUrl, apiKey };
}

function post(agent: Agent, target: Target): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${target.baseUrl}/v1/guardrails/evaluate`, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", authorization: `Bearer ${target.apiKey}`, "content-length": Buffer.byteLength(BODY) },
    }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${target.name}: HTTP ${res.statusCode}`));
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", reject);
    req.end(BODY);
  });
}

type Measured = { seq: LatencySummary; conc: LatencySummary; rate: number };

/** The same call sequencing for every path: warm-up, sequential samples, then a closed loop at CONCURRENCY. */
async function measureCalls(call: () => Promise<unknown>): Promise<Measured> {
  const seq = await timeSequential(call, WARMUP, SEQUENTIAL);
  const { lat: conc, rate } = await timeConcurrent(call, CONCURRENT_TOTAL, CONCURRENCY);
  return { seq, conc, rate };
}

async function measure(target: Target): Promise<Measured> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    return await measureCalls(() => post(agent, target));
  } finally {
    agent.destroy();
  }
}

/** Frames with the evaluate body to the WebSocket echo, matched to their echo by id, as the SDK matches replies. */
async function measureWsEcho(target: Target): Promise<Measured> {
  const ws = new WebSocket(target.baseUrl.replace("http", "ws"), { perMessageDeflate: false });
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  const waiting = new Map<number, () => void>();
  ws.on("message", (data) => {
    const id = (JSON.parse(String(data)) as { id: number }).id;
    waiting.get(id)?.();
    waiting.delete(id);
  });
  let nextId = 0;
  const call = () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      ws.send(`{"type":"call","id":${id},"method":"POST","path":"/v1/guardrails/evaluate","body":${BODY}}`);
    });
  try {
    return await measureCalls(call);
  } finally {
    ws.close();
  }
}

/**
 * The SDK's whole withTool (guard round trip, enforcement, callback, its timeline events queued and sent in
 * the background) against the same sidecar, with the same call sequencing as `measure`.
 */
async function measureWithTool(target: Target): Promise<Measured> {
  // dist/sdk.js is what users import; loaded lazily so the other benches don't pay for it.
  const { Apie } = require("../dist/sdk.js") as typeof import("../sidecar/sdk");
  const apie = await Apie.create({ agent: { key: "bench-agent" }, mode: "enforce", baseUrl: target.baseUrl, apiKey: target.apiKey, logger: { warn() {} } });
  const call = () =>
    apie.withTool(
      { tool: { name: "search.docs", provider: "internal", riskLevel: "low" }, action: { type: "read", name: "search.docs" }, resource: { type: "knowledge_base", environment: "production" }, arguments: { query: "how do I rotate keys" } },
      () => 1,
    );
  try {
    return await measureCalls(call);
  } finally {
    await apie.shutdown();
  }
}

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-bench-"));
  writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": true, "prod-shell": true, "secret-in-arguments": true } }));
  const targets: Target[] = [];
  try {
    targets.push(await startProcess("echo", ["-e", ECHO_SERVER]));
    targets.push(await startProcess("sidecar", sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0")));
    targets.push(await startProcess("ws echo", ["-e", WS_ECHO_SERVER]));
    report(`client: node:http Agent keepAlive; ${SEQUENTIAL} sequential + ${CONCURRENT_TOTAL} requests at concurrency ${CONCURRENCY}; server in its own process (2 cores shared)`);
    const [echo, sidecar, wsEcho, withTool] = [await measure(targets[0]!), await measure(targets[1]!), await measureWsEcho(targets[2]!), await measureWithTool(targets[1]!)];
    report(
      formatTable(
        ["server", "p50 (c=1)", "p99 (c=1)", "p50 (c=64)", "p99 (c=64)", "requests/s (c=64)"],
        [
          ["bare echo (floor)", formatMicros(echo.seq.p50), formatMicros(echo.seq.p99), formatMicros(echo.conc.p50), formatMicros(echo.conc.p99), formatRate(echo.rate)],
          ["sidecar evaluate (HTTP)", formatMicros(sidecar.seq.p50), formatMicros(sidecar.seq.p99), formatMicros(sidecar.conc.p50), formatMicros(sidecar.conc.p99), formatRate(sidecar.rate)],
          ["bare WebSocket echo", formatMicros(wsEcho.seq.p50), formatMicros(wsEcho.seq.p99), formatMicros(wsEcho.conc.p50), formatMicros(wsEcho.conc.p99), formatRate(wsEcho.rate)],
          ["SDK withTool", formatMicros(withTool.seq.p50), formatMicros(withTool.seq.p99), formatMicros(withTool.conc.p50), formatMicros(withTool.conc.p99), formatRate(withTool.rate)],
        ],
      ),
    );
    const ratio = withTool.seq.p50 / echo.seq.p50;
    const wsRatio = withTool.seq.p50 / wsEcho.seq.p50;
    const pass = (ok: boolean) => (ok ? "PASS" : "FAIL");
    report(
      `goals (withTool): p50 <= 150 µs: ${pass(withTool.seq.p50 <= 150_000)} (${formatMicros(withTool.seq.p50)}); p99 <= 1 ms: ${pass(withTool.seq.p99 <= 1_000_000)} (${formatMicros(withTool.seq.p99)}); ` +
        `>= 20 000 decisions/s: ${pass(withTool.rate >= 20_000)} (${formatRate(withTool.rate)}); p50 ratio to echo <= 1.5: ${pass(ratio <= 1.5)} (${formatRatio(ratio)}; ${formatRatio(wsRatio)} of the WebSocket echo the SDK's guard path rides on)`,
    );
  } finally {
    for (const t of targets) t.child.kill("SIGTERM");
    rmSync(workspace, { recursive: true, force: true });
  }
}
