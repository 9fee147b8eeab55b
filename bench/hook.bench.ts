import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runHook, type HookEnvironment } from "../sidecar/hooks/adapter";
import { httpLink } from "../sidecar/hooks/hookHttp";
import { spawnUntilReady, type ReadyProcess } from "../test/support/readyProcess";
import { sidecarNodeArgs } from "./sidecarLaunch";
import { formatTable, timeInterleaved, type LatencySummary } from "./stats";

/**
 * `apie hook` is a process per tool call. Measured here, against a real sidecar (enforce, the coding-agent
 * templates on, a call nothing matches: the allow path):
 * - end to end, spawn → answer: `node dist/hook.js --host claude-code` given Claude Code's documented Bash
 *   payload, against `node -e 0` given the same stdin — interleaved rounds in the same run, so drift falls on
 *   both alike;
 * - in-process: the adapter core's own time (runHook with the real HTTP link: parse, dialect, request,
 *   one POST /v1/hooks/evaluate on a fresh connection, answer) and the guard alone (that POST, raw).
 * Goals (issue 12): p50 ≤ 1.3× bare node; the guard ≤ 2 ms of it.
 */

const HOOK = path.resolve(__dirname, "../dist/hook.js");
const WARMUP = 5;
const ROUNDS = 10;
const PER_ROUND = 10;
const IN_PROCESS = 500;

function spawnAndWait(args: string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "ignore"], env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("APIE_"))) });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("close", () => resolve(out));
    child.stdin.end(stdin);
  });
}

const ms = (ns: number): string => `${(ns / 1e6).toFixed(1)} ms`;
const us = (ns: number): string => `${(ns / 1e3).toFixed(0)} µs`;

export async function run(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(path.join(tmpdir(), "apie-hook-bench-"));
  let sidecar: ReadyProcess | undefined;
  try {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-shell": true, "local-secret-files": true, "pipe-to-shell": true, "secret-in-arguments": true } }));
    sidecar = await spawnUntilReady(sidecarNodeArgs("sidecar", "--workspace", workspace, "--port", "0"));
    const { baseUrl, apiKey } = JSON.parse(sidecar.readyLine) as { baseUrl: string; apiKey: string };
    let n = 0;
    const payload = (): string =>
      JSON.stringify({
        session_id: "bench",
        transcript_path: path.join(workspace, "none.jsonl"),
        cwd: workspace,
        permission_mode: "default",
        hook_event_name: "PreToolUse",
        tool_name: "Bash",
        tool_input: { command: "npm test", description: "Run test suite", timeout: 120000, run_in_background: false },
        tool_use_id: `toolu_${n++}`,
      });
    const first = await spawnAndWait([HOOK, "--host", "claude-code", "--timeout", "900"], payload());
    if (first !== "{}\n") throw new Error(`the allow path answered ${JSON.stringify(first)}, not {}`);

    const [bare, hook] = await timeInterleaved(
      [() => spawnAndWait(["-e", "0"], payload()), () => spawnAndWait([HOOK, "--host", "claude-code", "--timeout", "900"], payload())],
      WARMUP,
      ROUNDS,
      PER_ROUND,
    );

    // In-process: the same core the process runs, with the real link (fresh connection per request).
    const link = httpLink(baseUrl, apiKey);
    const env: HookEnvironment = {
      processCwd: workspace,
      connect: () => ({ ok: true, link }),
      settings: () => ({ failureMode: "fail_open", approvals: "editor", source: "bench" }),
      now: Date.now,
      signal: new AbortController().signal,
      log: () => undefined,
    };
    const body = { agent_key: "claude-code", tool: { name: "Bash", provider: "claude-code" }, action: { type: "execute", name: "Bash" }, resource: { type: "shell_command" }, risk_level: "high", arguments: { command: "npm test" }, metadata: { cwd: workspace, hook: { host: "claude-code", session_id: "bench", tool_use_id: "x" } } };
    const [adapter, guard] = await timeInterleaved(
      [async () => runHook({ host: "claude-code", event: "pre", timeoutS: 900 }, { text: payload() }, env), () => link.post("/v1/hooks/evaluate", body, 5_000)],
      200,
      10,
      IN_PROCESS / 10,
    );
    const row = (label: string, s: LatencySummary, base: LatencySummary | undefined, fmt: (ns: number) => string): string[] => [
      label,
      fmt(s.p50),
      fmt(s.p99),
      base === undefined ? "—" : `${(s.p50 / base.p50).toFixed(2)}×`,
    ];
    report(
      formatTable(
        ["path", "p50", "p99", "p50 vs bare node"],
        [row("node -e 0 (bare node, same stdin)", bare!, undefined, ms), row("node dist/hook.js --host claude-code (allow)", hook!, bare, ms)],
      ),
    );
    report(
      formatTable(
        ["in-process", "p50", "p99"],
        [
          ["adapter core: payload → answer (one POST, fresh connection)", us(adapter!.p50), us(adapter!.p99)],
          ["guard alone: POST /v1/hooks/evaluate (fresh connection)", us(guard!.p50), us(guard!.p99)],
        ],
      ),
    );
    report(
      `goals: p50 ≤ 1.3× bare node — ${hook!.p50 <= 1.3 * bare!.p50 ? "met" : "MISSED"} (${(hook!.p50 / bare!.p50).toFixed(2)}×, +${ms(hook!.p50 - bare!.p50)}); ` +
        `guard ≤ 2 ms — ${guard!.p50 <= 2e6 ? "met" : "MISSED"} (${us(guard!.p50)} p50)`,
    );
  } finally {
    sidecar?.child.kill("SIGTERM");
    if (sidecar) await sidecar.exited;
    rmSync(workspace, { recursive: true, force: true });
  }
}
