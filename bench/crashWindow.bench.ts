import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { spawnUntilReady } from "../test/support/readyProcess";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { SEARCH_DOCS_REQUEST as BODY } from "./requests";

/**
 * The crash window of lazily written allow decisions (issue 11 item 6): AGENTS agents call the real sidecar
 * process as fast as it answers — each its own /v1/stream connection sending `call` frames, as the SDK does —
 * and the sidecar is SIGKILLed at a random moment. Then the log on disk is compared with what the agents were
 * told: an allow whose answer an agent had received before the kill but whose record is not in the file is
 * lost. Reported per scenario over ROUNDS kills: acknowledged allows lost (a count) and how long before the
 * kill the oldest lost one had been answered (the window, as an agent saw it).
 *
 * Scenarios: guard calls only (nothing else forces a write: the worst case for lazy records); guard calls
 * plus POST /v1/events from every agent (fdatasync'ed batches in between); guard calls only while HOGS busy
 * processes compete for the CPU. Figures depend on the machine and its load; they are what docs/performance.md quotes.
 */

const AGENTS = 50;
const ROUNDS = 8;
const HOGS = 4;
/** Load before the kill: a random moment in this range, so the kill falls anywhere in the flush cycle. */
const KILL_AFTER_MS: [number, number] = [400, 900];

interface Scenario {
  name: string;
  events: boolean;
  hogs: number;
}

interface RoundResult {
  acked: number;
  lost: number;
  /** ms between the kill and the oldest lost acknowledgement; 0 when none was lost. */
  windowMs: number;
}

/** A deterministic sequence for the kill moments (same run, same moments). */
function* kills(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield KILL_AFTER_MS[0] + (x / 2 ** 31) * (KILL_AFTER_MS[1] - KILL_AFTER_MS[0]);
  }
}

async function round(scenario: Scenario, killAfterMs: number): Promise<RoundResult> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-crash-window-"));
  writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce" }));
  const { child, readyLine } = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
  const { baseUrl, apiKey } = JSON.parse(readyLine) as { baseUrl: string; apiKey: string };
  const hogs: ChildProcess[] = [];
  try {
    const health = (await (await fetch(`${baseUrl}/v1/health`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { event_log: string };
    const acked = new Map<string, number>(); // decision id → when its answer arrived (performance.now())
    let killedAt = Number.POSITIVE_INFINITY;
    const sockets = await Promise.all(
      Array.from({ length: AGENTS }, () => {
        const ws = new WebSocket(baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${apiKey}` }, perMessageDeflate: false });
        return new Promise<WebSocket>((resolve, reject) => {
          ws.once("message", () => resolve(ws)); // hello
          ws.once("error", reject);
        });
      }),
    );
    for (let i = 0; i < scenario.hogs; i++) hogs.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
    let running = true;
    const agents = sockets.map(async (ws, a) => {
      let id = 0;
      ws.on("error", () => {});
      for (;;) {
        if (!running || ws.readyState !== WebSocket.OPEN) return;
        id++;
        const events = scenario.events && id % 5 === 0;
        const frame = events
          ? { type: "call", id, method: "POST", path: "/v1/events", body: { events: [{ type: "agent.tool.called", agent_key: "bench-agent", event_id: `e${a}-${id}` }] } }
          : { type: "call", id, method: "POST", path: "/v1/guardrails/evaluate", body: { ...BODY, arguments: { query: `${a}-${id}` } } };
        const reply = await new Promise<{ status: number; body: { decision_id?: string; enforcement_action?: string } } | undefined>((resolve) => {
          const onMessage = (data: WebSocket.RawData) => {
            const msg = JSON.parse(data.toString()) as { type: string; id?: number; status: number; body: { decision_id?: string } };
            if (msg.type !== "reply" || msg.id !== id) return;
            ws.off("message", onMessage);
            ws.off("close", onClose);
            resolve(msg);
          };
          const onClose = () => {
            ws.off("message", onMessage);
            resolve(undefined);
          };
          ws.on("message", onMessage);
          ws.once("close", onClose);
          ws.send(JSON.stringify(frame));
        });
        const at = performance.now();
        if (reply === undefined) return;
        if (at < killedAt && reply.status === 200 && reply.body.enforcement_action === "proceed" && reply.body.decision_id) acked.set(reply.body.decision_id, at);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    killedAt = performance.now();
    child.kill("SIGKILL");
    running = false;
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    for (const hog of hogs.splice(0)) hog.kill("SIGKILL");
    for (const ws of sockets) ws.terminate();
    await Promise.all(agents);

    const onDisk = new Set<string>();
    for (const line of readFileSync(health.event_log, "utf8").split("\n")) {
      if (!line.includes('"kind":"decision"')) continue;
      try {
        onDisk.add((JSON.parse(line) as { data: { decision: { decision_id: string } } }).data.decision.decision_id);
      } catch {
        // a torn last line: not on disk
      }
    }
    let lost = 0;
    let oldest = killedAt;
    for (const [id, at] of acked) {
      if (onDisk.has(id)) continue;
      lost++;
      oldest = Math.min(oldest, at);
    }
    return { acked: acked.size, lost, windowMs: killedAt - oldest };
  } finally {
    for (const hog of hogs) hog.kill("SIGKILL");
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(workspace, { recursive: true, force: true });
  }
}

const SCENARIOS: Scenario[] = [
  { name: `${AGENTS} agents, guard calls only`, events: false, hogs: 0 },
  { name: `${AGENTS} agents, guard calls + events (1 in 5 calls)`, events: true, hogs: 0 },
  { name: `${AGENTS} agents, guard calls only, ${HOGS} CPU hogs`, events: false, hogs: HOGS },
];

export async function run(report: (line: string) => void): Promise<void> {
  const moments = kills(11);
  for (const scenario of SCENARIOS) {
    const results: RoundResult[] = [];
    for (let r = 0; r < ROUNDS; r++) results.push(await round(scenario, moments.next().value as number));
    const lost = results.map((x) => x.lost);
    const windows = results.map((x) => x.windowMs);
    const acked = results.reduce((sum, x) => sum + x.acked, 0);
    report(
      `${scenario.name}: ${ROUNDS} kills, ${acked} allows acknowledged; lost per kill: max ${Math.max(...lost)}, ` +
        `median ${median(lost)} (${lost.join(" ")}); window (kill − oldest lost answer): max ${Math.max(...windows).toFixed(1)} ms, ` +
        `median ${median(windows).toFixed(1)} ms`,
    );
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
