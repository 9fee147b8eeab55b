import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * The stable launcher `~/.apie/bin/apie-hook` (contract item 3 of issue 12). Host configs run this file by
 * path, never a versioned extension folder, so they survive extension updates: `apie hooks install` and
 * the extension's activation rewrite it to point at the node and dist/hook.js of whoever runs them.
 *
 *   #!/bin/sh
 *   exec '<absolute node>' '<absolute dist/hook.js>' "$@"
 *
 * (with `export ELECTRON_RUN_AS_NODE=1` first when the node is the editor's Electron binary). When the
 * target is gone (the extension was removed, its old version folder deleted before the new one activated)
 * the launcher says so on stderr and answers `{}`, every host's "no opinion", exit 0: a dangling launcher
 * must not turn into a non-zero exit, which Copilot CLI reads as deny and the others as a hook error.
 * `apie hooks status` reports it as "does not resolve".
 */

export const LAUNCHER_RELATIVE_PATH = ".apie/bin/apie-hook";

export interface LauncherTarget {
  /** Absolute path of the node binary (or the editor's Electron binary, with `electronRunAsNode`). */
  node: string;
  /** Absolute path of dist/hook.js. */
  hookScript: string;
  electronRunAsNode?: boolean;
}

export function launcherPath(home: string = os.homedir()): string {
  return path.join(home, LAUNCHER_RELATIVE_PATH);
}

/** POSIX sh single-quoting: safe for any path. */
export function shQuote(text: string): string {
  return /^[A-Za-z0-9_\/.,:=+@%-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function alwaysQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function launcherScript(target: LauncherTarget): string {
  const node = alwaysQuoted(target.node);
  const hook = alwaysQuoted(target.hookScript);
  return [
    "#!/bin/sh",
    "# apie-hook: written by Apie (`apie hooks install`, or the Apie extension when it activates).",
    "# Coding agents' hook configs run this file; it runs Apie's hook adapter (dist/hook.js) with this node.",
    `if [ ! -x ${node} ] || [ ! -f ${hook} ]; then`,
    `  echo "apie-hook: the Apie hook adapter ${target.hookScript.replace(/["`$\\]/g, "")} is gone, no opinion given; run apie hooks install, or open a workspace with the Apie extension" >&2`,
    "  echo '{}'",
    "  exit 0",
    "fi",
    ...(target.electronRunAsNode ? ["export ELECTRON_RUN_AS_NODE=1"] : []),
    `exec ${node} ${hook} "$@"`,
    "",
  ].join("\n");
}

/** Reads back what a launcher points at (undefined for a file we did not write in this shape). */
export function parseLauncher(text: string): LauncherTarget | undefined {
  const quoted = String.raw`'((?:[^']|'\\'')*)'`;
  const match = new RegExp(String.raw`^exec ${quoted} ${quoted} "\$@"$`, "m").exec(text);
  if (match === null) return undefined;
  const unquote = (s: string) => s.replace(/'\\''/g, "'");
  return { node: unquote(match[1]!), hookScript: unquote(match[2]!), electronRunAsNode: /^export ELECTRON_RUN_AS_NODE=1$/m.test(text) };
}

/**
 * Writes the launcher (mode 0755) unless it already says exactly this; atomic (temp file + rename), so a
 * hook starting while two editor windows activate never runs half a script. Returns whether it changed.
 */
export async function writeLauncher(target: LauncherTarget, home: string = os.homedir()): Promise<{ path: string; changed: boolean }> {
  const file = launcherPath(home);
  const text = launcherScript(target);
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === text && ((await stat(file)).mode & 0o777) === 0o755) return { path: file, changed: false };
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, text, { mode: 0o755 });
  await chmod(temp, 0o755); // the umask may have narrowed it
  await rename(temp, file);
  return { path: file, changed: true };
}

export interface LauncherState {
  path: string;
  exists: boolean;
  target: LauncherTarget | undefined;
  /** The launcher is executable and its node and dist/hook.js exist. */
  resolves: boolean;
  /** Why it does not resolve. */
  problem: string | undefined;
}

export async function readLauncher(home: string = os.homedir()): Promise<LauncherState> {
  const file = launcherPath(home);
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return { path: file, exists: false, target: undefined, resolves: false, problem: `no launcher at ${file} (run \`apie hooks install\`)` };
  const target = parseLauncher(text);
  if (target === undefined) return { path: file, exists: true, target, resolves: false, problem: `${file} was not written by Apie (unexpected content)` };
  const mode = (await stat(file)).mode;
  const problem =
    (mode & 0o111) === 0
      ? `${file} is not executable`
      : !(await isFile(target.node, true))
        ? `its node ${target.node} is missing`
        : !(await isFile(target.hookScript, false))
          ? `its hook adapter ${target.hookScript} is missing`
          : undefined;
  return { path: file, exists: true, target, resolves: problem === undefined, problem };
}

async function isFile(file: string, executable: boolean): Promise<boolean> {
  try {
    const info = await stat(file);
    return info.isFile() && (!executable || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}
