import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { hostileRequests, type HostileRequest } from "../test/support/hostileRequests";
import { spawnUntilReady } from "../test/support/readyProcess";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { formatTable } from "./stats";

/**
 * The sidecar under sustained hostile load (issue 11, item 11): seeded hostile HTTP requests
 * (test/support/hostileRequests.ts) at concurrency 16, the same requests as `call` frames on 8 WebSockets,
 * WebSocket ping bursts and long-polls, for LOAD_MS; RSS sampled every 100 ms, then once the sidecar has been
 * idle SETTLE_MS. Baseline: its RSS idle after start, same run. Also counts answers by status: a 5xx or a
 * non-JSON answer is a bug the fuzz test should have caught.
 */

const LOAD_MS = Number(process.env.HOSTILE_LOAD_MS ?? 20_000);
const SETTLE_MS = 13_000;
const HTTP_CONCURRENCY = 16;
const SOCKETS = 8;

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-"));
  writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true, "prod-shell": true } }));
  const sidecar = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
  const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };
  const pid = sidecar.child.pid!;
  const statuses = new Map<string, number>();
  const count = (what: string) => statuses.set(what, (statuses.get(what) ?? 0) + 1);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = rssMb(pid);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
    const until = Date.now() + LOAD_MS;
    const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
    const keyOf = (r: HostileRequest) => (r.key === "agent" ? apiKey : r.key === "wrong" ? "apie_wrong" : undefined);

    const httpWorker = async (seed: number) => {
      const requests = hostileRequests(seed, Number.MAX_SAFE_INTEGER);
      while (Date.now() < until) {
        const r = requests.next().value as HostileRequest;
        await new Promise<void>((resolve) => {
          const key = keyOf(r);
          const req = request(`${baseUrl}${r.path}`, { method: r.method, agent, headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) } }, (res) => {
            let text = "";
            res.on("data", (d: Buffer) => (text += d.toString()));
            res.on("end", () => {
              let json = true;
              try {
                JSON.parse(text);
              } catch {
                json = false;
              }
              count(`HTTP ${res.statusCode}${json ? "" : " (not JSON)"}`);
              resolve();
            });
          });
          req.on("error", () => (count("HTTP connection error"), resolve()));
          req.end(r.body);
        });
      }
    };

    const socketWorker = async (seed: number) => {
      while (Date.now() < until) {
        const ws = new WebSocket(baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${apiKey}` } });
        const opened = await new Promise<boolean>((resolve) => (ws.once("open", () => resolve(true)), ws.once("error", () => resolve(false))));
        if (!opened) {
          count("WS upgrade refused");
          continue;
        }
        let inFlight = 0;
        ws.on("message", (d) => {
          const frame = JSON.parse(d.toString()) as { type: string; status?: number };
          if (frame.type === "reply") (inFlight--, count(`WS reply ${frame.status}`));
        });
        ws.on("close", (code) => count(`WS closed ${code}`));
        const requests = hostileRequests(seed++, 2_000);
        let id = 0;
        for (const r of requests) {
          if (Date.now() >= until || ws.readyState !== WebSocket.OPEN) break;
          if (id % 100 === 0) for (let p = 0; p < 200; p++) ws.ping();
          let body: unknown;
          try {
            body = r.body === undefined ? undefined : JSON.parse(r.body);
          } catch {
            ws.send(r.body!); // not JSON: sent as a raw frame
            continue;
          }
          ws.send(`{"type":"call","id":${id++},"method":"${r.method}","path":${JSON.stringify(r.path)}${r.body === undefined ? "" : `,"body":${r.body}`}}`);
          void body;
          inFlight++;
          if (inFlight > 64) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        ws.terminate();
      }
    };

    await Promise.all([
      ...Array.from({ length: HTTP_CONCURRENCY }, (_, i) => httpWorker(1_000 + i)),
      ...Array.from({ length: SOCKETS }, (_, i) => socketWorker(100_000 * (i + 1))),
    ]);
    agent.destroy();
    const loaded = rssMb(pid);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    clearInterval(sampler);
    const settled = rssMb(pid);
    const alive = sidecar.child.exitCode === null;
    report(
      formatTable(
        ["sidecar RSS", "MB"],
        [
          ["idle after start (baseline)", idle.toFixed(1)],
          [`peak during ${LOAD_MS / 1000} s of hostile load`, `${peak.toFixed(1)} (${(peak / idle).toFixed(1)}×)`],
          ["right after the load", loaded.toFixed(1)],
          [`${SETTLE_MS / 1000} s later, idle`, `${settled.toFixed(1)} (${(settled / idle).toFixed(1)}×)`],
        ],
      ),
    );
    report(formatTable(["answer", "count"], [...statuses.entries()].sort().map(([k, v]) => [k, String(v)])));
    report(`sidecar ${alive ? "still running" : `EXITED (${sidecar.child.exitCode})`}`);
    const fiveHundreds = [...statuses.entries()].filter(([k]) => /HTTP 5\d\d|reply 5\d\d|not JSON/.test(k) && !/50[3]/.test(k));
    if (fiveHundreds.length > 0) report(`server errors or non-JSON answers: ${fiveHundreds.map(([k, v]) => `${k} ×${v}`).join(", ")}`);
  } finally {
    sidecar.child.kill("SIGTERM");
    await sidecar.exited;
    rmSync(workspace, { recursive: true, force: true });
  }
}
