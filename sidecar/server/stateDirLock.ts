import { open, readFile, unlink } from "node:fs/promises";
import path from "node:path";

export const LOCK_FILE = "sidecar.lock";

/**
 * One sidecar per state dir: two would append to the same event log and overwrite each other's discovery
 * file (e.g. two editor windows on one folder). The lock is a file holding the owner's pid, created
 * exclusively; a lock whose pid is gone (the owner was killed) is taken over.
 */
export async function lockStateDir(stateDir: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(stateDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return {
        async release() {
          if ((await ownerOf(file)) === process.pid) await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = await ownerOf(file);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new Error(`another Apie sidecar (pid ${owner}) already serves ${stateDir}; stop it, or give this one its own --state-dir`);
      }
      await unlink(file).catch(() => undefined); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock ${file}`);
}

async function ownerOf(file: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
