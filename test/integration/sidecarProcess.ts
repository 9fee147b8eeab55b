import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { DiscoverySchema, type Discovery } from "../../sidecar/protocol/v1";
import { spawnUntilReady } from "../support/readyProcess";

export const CLI = path.resolve(__dirname, "../../dist/cli.js");

export interface SidecarUnderTest {
  child: ChildProcess;
  discovery: Discovery;
  stderr: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the built sidecar as a real process and waits for its one JSON "ready" line. */
export async function startSidecarProcess(workspace: string, extraArgs: string[] = []): Promise<SidecarUnderTest> {
  const p = await spawnUntilReady([CLI, "sidecar", "--workspace", workspace, "--port", "0", ...extraArgs]);
  return {
    child: p.child,
    discovery: DiscoverySchema.parse(JSON.parse(p.readyLine)),
    stderr: p.stderr,
    async stop() {
      if (p.child.exitCode === null) p.child.kill("SIGTERM");
      return p.exited;
    },
  };
}

/**
 * Sidecars a suite starts (and restarts) on the current workspace, all stopped by `stopAll` in afterEach:
 * for tests that kill one and start the next on the same state dir.
 */
export function sidecarPool(workspace: () => string): { start(): Promise<SidecarUnderTest>; stopAll(): Promise<void> } {
  const running: SidecarUnderTest[] = [];
  return {
    async start() {
      const sidecar = await startSidecarProcess(workspace());
      running.push(sidecar);
      return sidecar;
    },
    async stopAll() {
      for (const sidecar of running.splice(0)) await sidecar.stop();
    },
  };
}

/**
 * Poll `check` until it holds (observable condition, no fixed sleeps); fails after `ms`. The default is a
 * deadline for a busy CI machine, not a speed claim: what flows through a client's timeline queue (flushed
 * every 2 s, retried on failure) can take a few seconds there, and a check that holds returns at once.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
