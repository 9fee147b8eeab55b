/**
 * Where a tool call's paths really point, decided lexically: pure string work, no file system (the engine
 * makes no I/O). Relative paths are resolved against the call's working directory (`metadata.cwd`, as a hook
 * sends it), `~`, `$HOME` and `${HOME}` against the home directory, and `..` is folded. Symbolic links are
 * not followed (that would need the file system): a link inside the workspace that points outside is judged
 * as the inside path it is written as. POSIX paths only; Windows drive paths are compared as written.
 */

/** The host's directories the engine judges paths against; given by the sidecar (see hostPaths.ts). */
export interface PathContext {
  /** The workspace the sidecar serves: writes outside it are `outside-workspace-writes`. */
  workspaceRoot?: string | undefined;
  /** The user's home directory, for `~` and for recognising credential files under it. */
  homeDir?: string | undefined;
  /** Scratch directories (os.tmpdir(), /tmp, /var/tmp): writes there are not "outside the workspace". */
  tempDirs?: readonly string[] | undefined;
}

const HOME_FORM = /^(?:~|\$HOME|\$\{HOME\})(?=\/|$)/;

/**
 * `path` as the absolute, normalised path it names, when that can be known: absolute already, home-relative
 * with a known home, or relative with an absolute `cwd`. Otherwise the path normalised but still relative
 * (or still starting with `~`), which callers treat as "where it is written".
 */
export function resolvePath(path: string, cwd: string | undefined, homeDir: string | undefined): string {
  const home = HOME_FORM.exec(path);
  if (home !== null) return homeDir === undefined ? normalize(path) : normalize(homeDir + path.slice(home[0].length));
  if (path.startsWith("/")) return normalize(path);
  if (cwd !== undefined && cwd.startsWith("/")) return normalize(`${cwd}/${path}`);
  return normalize(path);
}

/** Folds `.`, `..` and repeated slashes; `..` above the root of an absolute path stays at the root. */
export function normalize(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined === "" ? "." : joined;
}

/** Whether absolute `path` is `dir` or below it (both normalised). */
export function isWithin(path: string, dir: string): boolean {
  const root = normalize(dir);
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}

/**
 * `path` written relative to the home directory (`~/.aws/credentials`) when it is under it, so that the
 * credential-file checks (which know `~`, `/home/<user>`, `/Users/<user>` and `/root`) also recognise a
 * home directory elsewhere (`/work/home/alice`, a test's temporary HOME).
 */
export function homeForm(path: string, homeDir: string | undefined): string {
  if (homeDir === undefined || !path.startsWith("/")) return path;
  const home = normalize(homeDir);
  if (home === "/" || !isWithin(path, home)) return path;
  return `~${path.slice(home.length)}`;
}

/** Device files a command may write to without touching any file: /dev/null, the standard streams, ttys. */
const HARMLESS_DEVICE = /^\/dev\/(?:null|zero|stdout|stderr|stdin|tty|fd\/\d+|pts\/\d+)$/;

/**
 * Whether writing `path` (absolute) leaves the workspace: not under the workspace root, not in a scratch
 * directory, not a harmless device. Undefined when it cannot be told (no workspace root, or the path is not
 * absolute: relative to a working directory nobody gave).
 */
export function isOutsideWorkspace(path: string, ctx: PathContext): boolean | undefined {
  if (ctx.workspaceRoot === undefined || !path.startsWith("/")) return undefined;
  if (isWithin(path, ctx.workspaceRoot)) return false;
  if (HARMLESS_DEVICE.test(path)) return false;
  return !(ctx.tempDirs ?? []).some((dir) => dir.startsWith("/") && isWithin(path, dir));
}
