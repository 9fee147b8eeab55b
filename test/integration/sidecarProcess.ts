import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { DiscoverySchema, type Discovery } from "../../sidecar/protocol/v1";

const CLI = path.resolve(__dirname, "../../dist/cli.js");

export interface SidecarUnderTest {
  child: ChildProcess;
  discovery: Discovery;
  stderr: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the built sidecar as a real process and waits for its one JSON "ready" line. */
export async function startSidecarProcess(workspace: string, extraArgs: string[] = []): Promise<SidecarUnderTest> {
  const child = spawn(process.execPath, [CLI, "sidecar", "--workspace", workspace, "--port", "0", ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`sidecar exited (${code}) before ready:\n${err}`)));
  });
  return {
    child,
    discovery: DiscoverySchema.parse(JSON.parse(firstLine)),
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Poll `check` until it holds (observable condition, no fixed sleeps); fails after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
