import os from "node:os";
import path from "node:path";
import type { PathContext } from "./paths";

/**
 * The directories of this machine that the engine judges paths against (see paths.ts): the workspace, the
 * home directory and the scratch directories. Read here, once, by whoever builds an engine (the sidecar, the
 * CLI), so that evaluate() itself stays pure.
 */
export function hostPathContext(workspaceRoot: string | undefined): PathContext {
  const tempDirs = [...new Set([os.tmpdir(), "/tmp", "/var/tmp"].map((d) => path.resolve(d)))];
  return {
    workspaceRoot: workspaceRoot === undefined ? undefined : path.resolve(workspaceRoot),
    homeDir: os.homedir(),
    tempDirs,
  };
}
