import { read } from "node:fs";
import { runHook, MAX_PAYLOAD_BYTES, type HookEnvironment, type HookInput, type HookOptions } from "./adapter";
import { readHookSettings } from "./hookSettings";
import { httpLink } from "./hookHttp";
import { isHookHost } from "./hosts";
import { locateSidecar } from "./locate";

/**
 * `apie hook --host <host|auto> [--event pre|post|end] [--timeout SECONDS]` (contract item 2): what the lean
 * entry dist/hook.js (main.ts; what the launcher ~/.apie/bin/apie-hook runs) and `apie hook` in dist/cli.js
 * both run. Reads one payload on stdin, writes exactly one answer on stdout, exits 0 — whatever happens:
 * bad arguments, a payload that never ends, the host's SIGTERM, a bug. Diagnostics go to stderr only.
 * It loads only what a hook needs: zod/mini, node:net, the dialects — no SDK, no WebSocket, no server.
 */

export const HOOK_USAGE = `Usage: apie hook --host <vscode|claude-code|copilot-cli|codex|cursor|gemini-cli|auto> [--event pre|post|end] [--timeout SECONDS]

Answers one coding-agent hook call: reads the host's payload on stdin, asks the sidecar, writes the host's
answer on stdout, exits 0. --timeout is the hook timeout written in the host's config (seconds; default: the
host's own default); the hook answers before it (approval waits end 5 s earlier). --event end: the host's
session ended (completes its Apie session; answers no opinion). See docs/coding-agents.md.`;

/** How long a host may take to hand over the payload before the hook reads what it has. */
const STDIN_DEADLINE_MS = 5_000;

export function parseHookArgs(argv: readonly string[], log: (line: string) => void): HookOptions {
  const options: HookOptions = { host: "auto", event: "pre", timeoutS: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--host") {
      const host = value();
      if (host !== undefined && (host === "auto" || isHookHost(host))) options.host = host;
      else log(`apie hook: unknown --host "${host ?? ""}"; recognising the host from the payload`);
    } else if (flag === "--event") {
      const event = value();
      if (event === "pre" || event === "post" || event === "end") options.event = event;
      else log(`apie hook: unknown --event "${event ?? ""}"; using pre`);
    } else if (flag === "--timeout") {
      const seconds = Number(value());
      if (Number.isFinite(seconds) && seconds > 0) options.timeoutS = seconds;
      else log("apie hook: --timeout needs a number of seconds; using the host's default");
    } else {
      log(`apie hook: ignoring unknown argument "${arg}"`);
    }
  }
  return options;
}

/**
 * Reads stdin up to MAX_PAYLOAD_BYTES (then stops: too large) or STDIN_DEADLINE_MS (then: what arrived).
 * With fs.read on fd 0 rather than process.stdin, whose stream setup a hook process would pay for before
 * the first byte; a stdin that cannot be read that way (non-blocking: EAGAIN) falls back to process.stdin.
 * A read still blocked at the deadline is left behind: the process exits after its answer.
 */
function readStdin(): Promise<HookInput> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (input: HookInput): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(input);
    };
    const text = (): HookInput => ({ text: Buffer.concat(chunks).toString("utf8") });
    const timer = setTimeout(() => finish(text()), STDIN_DEADLINE_MS);
    const take = (chunk: Buffer): boolean => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        finish({ tooLarge: size });
        return false;
      }
      chunks.push(chunk);
      return true;
    };
    const viaStream = (): void => {
      process.stdin.on("data", (chunk: Buffer) => {
        if (!take(chunk)) process.stdin.destroy();
      });
      process.stdin.on("end", () => finish(text()));
      process.stdin.on("error", () => finish(text()));
    };
    const next = (): void => {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      read(0, buffer, 0, buffer.length, null, (error, bytes) => {
        if (done) return;
        if (error !== null) return (error as NodeJS.ErrnoException).code === "EAGAIN" ? viaStream() : finish(text());
        if (bytes === 0) return finish(text());
        if (take(buffer.subarray(0, bytes))) next();
      });
    };
    next();
  });
}

/** Runs one hook as a process: stdin → stdout, exit code 0. Resolves once the answer is written. */
export async function hookMain(argv: readonly string[]): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const options = parseHookArgs(argv, log);
  const cancelled = new AbortController();
  const onSignal = (signal: string) => (): void => {
    log(`apie hook: ${signal}: stopping`);
    cancelled.abort();
  };
  const onTerm = onSignal("SIGTERM");
  const onInt = onSignal("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  const budget = Number(process.env.APIE_HOOK_BUDGET_MS);
  const env: HookEnvironment = {
    // The process's own start: the host's timeout started when it spawned us.
    startedAt: Math.floor(performance.timeOrigin),
    budgetMs: Number.isFinite(budget) && budget > 0 ? Math.min(budget, 60_000) : undefined,
    processCwd: process.cwd(),
    connect: (cwd) => {
      const found = locateSidecar(process.env, cwd);
      return found.ok ? { ok: true, link: httpLink(found.baseUrl, found.key) } : found;
    },
    settings: readHookSettings,
    now: Date.now,
    signal: cancelled.signal,
    log,
  };
  let answer: string;
  try {
    const input = await Promise.race([
      readStdin(),
      new Promise<HookInput>((resolve) => cancelled.signal.addEventListener("abort", () => resolve({ text: "" }), { once: true })),
    ]);
    answer = await runHook(options, input, env);
  } catch (error) {
    // runHook never throws; this is the last line of defence for exactly one answer.
    log(`apie hook: ${String(error)}`);
    answer = options.host === "codex" ? "" : "{}";
  }
  // A host that stopped listening (EPIPE) gets no answer, and no crash either.
  process.stdout.on("error", () => undefined);
  await new Promise<void>((resolve) => process.stdout.write(answer === "" ? "" : `${answer}\n`, () => resolve()));
  process.off("SIGTERM", onTerm);
  process.off("SIGINT", onInt);
}
