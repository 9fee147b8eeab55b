import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ReadyProcess {
  child: ChildProcess;
  /** The first stdout line: the process's "ready" announcement. */
  readyLine: string;
  stderr(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** Spawns `node ...args` and waits for its first stdout line; fails with its stderr if it exits first. */
export async function spawnUntilReady(args: readonly string[]): Promise<ReadyProcess> {
  const child = spawn(process.execPath, [...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const readyLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${args.join(" ").slice(0, 80)} exited (${code}) before ready:\n${err}`)));
  });
  return { child, readyLine, stderr: () => err, exited };
}
