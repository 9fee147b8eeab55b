/**
 * The effects of one simple command (after shell.ts has unwrapped sudo, bash -c, $(…), xargs, find -exec…)
 * that only a template with context can judge (see SHELL_EFFECT_KINDS in shell.ts):
 * - `forced_delete`: any recursive or forced delete — `rm -r`/`-f`, `find … -delete`, `git clean -f`,
 *   `rsync --delete`/`--remove-source-files`. On a developer's machine `rm -rf node_modules` is routine; in
 *   production every one of them deletes production data (prod-shell).
 * - `network`: the command talks to another host — curl, wget, nc, ssh, scp, rsync to a host, git
 *   push/pull/fetch/clone/ls-remote, httpie, an inline python/node/ruby/perl program that opens a URL or a
 *   socket, a redirection to /dev/tcp or /dev/udp (secret-then-network).
 * - `file_write`: a file the command changes — redirections (`>`, `>>`, `&>`, …), `tee`, the destination of
 *   `cp`/`mv`/`install`, `dd of=`, and the operands of `rm`/`rmdir`/`unlink`/`shred`/`mv`/`touch`/`mkdir`/
 *   `truncate` (outside-workspace-writes). `sed -i`, `curl -o`, archive extraction and the like are not
 *   modelled.
 * Pure and bounded: linear in the words.
 */
import type { ShellFindingKind } from "./shell";

export interface EffectInput {
  argv: readonly string[];
  redirects: readonly { op: string; target: string }[];
  /** The command receives more arguments from `xargs` or `find -exec`. */
  fed: boolean;
}

/** `redirect`: the finding comes from this redirection (its text is shown with the command). */
export type EffectSink = (kind: ShellFindingKind, reason: string, path?: string, redirect?: { op: string; target: string }) => void;

export function commandEffects(cmd: EffectInput, add: EffectSink): void {
  const name = cmd.argv[0] ?? "";
  for (const r of cmd.redirects) {
    if (r.target === "" || !WRITE_REDIRECTS.has(r.op)) continue;
    if (NET_DEVICE.test(r.target)) add("network", `writes to ${r.target}`, undefined, r);
    else add("file_write", `writes ${r.target}`, r.target, r);
  }
  const deleted = forcedDeleteReason(name, cmd);
  if (deleted !== undefined) add("forced_delete", deleted);
  const network = networkReason(name, cmd.argv);
  if (network !== undefined) add("network", network);
  for (const [target, verb] of changedFiles(name, cmd.argv)) add("file_write", `${name} ${verb} ${target}`, target);
}

/** Redirection operators that write their target. */
export const WRITE_REDIRECTS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", "<>"]);
const NET_DEVICE = /^\/dev\/(?:tcp|udp)\//;

// --- forced delete ---------------------------------------------------------------------------

function forcedDeleteReason(name: string, cmd: EffectInput): string | undefined {
  const argv = cmd.argv;
  switch (name) {
    case "rm": {
      const { flags, rest } = splitOptions(argv);
      const recursive = flags.has("r") || flags.has("R") || flags.has("--recursive");
      const force = flags.has("f") || flags.has("--force");
      if (!recursive && !force) return undefined;
      const how = recursive ? (force ? "rm -rf" : "rm -r") : "rm -f";
      const targets = rest.map((t) => `"${t}"`).join(", ");
      return targets === "" ? `${how}${cmd.fed ? " on fed paths" : ""}` : `${how} on ${targets}${cmd.fed ? " and fed paths" : ""}`;
    }
    case "find":
      return argv.includes("-delete") ? `find -delete under "${argv[1] ?? "."}"` : undefined;
    case "git": {
      const sub = gitSubcommand(argv);
      if (sub?.name !== "clean") return undefined;
      const force = argv.slice(sub.at + 1).some((a) => a === "--force" || (a.length > 1 && a[0] === "-" && a[1] !== "-" && a.includes("f")));
      return force ? "git clean -f deletes untracked files" : undefined;
    }
    case "rsync": {
      const flag = argv.find((a) => a === "--del" || a.startsWith("--delete") || a === "--remove-source-files");
      return flag === undefined ? undefined : `rsync ${flag} deletes files`;
    }
    default:
      return undefined;
  }
}

/** Short flags as single letters and long flags whole, up to `--`; the rest are operands. */
function splitOptions(argv: readonly string[]): { flags: Set<string>; rest: string[] } {
  const flags = new Set<string>();
  const rest: string[] = [];
  let operands = false;
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (!operands && a === "--") operands = true;
    else if (!operands && a.startsWith("--")) flags.add(a.includes("=") ? a.slice(0, a.indexOf("=")) : a);
    else if (!operands && a.length > 1 && a[0] === "-") for (const c of a.slice(1)) flags.add(c);
    else rest.push(a);
  }
  return { flags, rest };
}

/** git's global options that take a value (`git -C dir push`). */
export const GIT_VALUE_OPTIONS: ReadonlySet<string> = new Set(["-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"]);

function gitSubcommand(argv: readonly string[]): { name: string; at: number } | undefined {
  let k = 1;
  while (k < argv.length && (argv[k] ?? "").startsWith("-")) k += GIT_VALUE_OPTIONS.has(argv[k] ?? "") ? 2 : 1;
  const name = argv[k];
  return name === undefined ? undefined : { name, at: k };
}

// --- network ---------------------------------------------------------------------------------

const NETWORK_PROGRAMS = new Set([
  "curl", "wget", "fetch", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "sftp", "ssh", "scp", "mosh",
  "http", "https", "xh", "aria2c", "lynx", "w3m", "links",
]);
const GIT_NETWORK = new Set(["push", "pull", "fetch", "clone", "ls-remote"]);
/** `host:path`, `user@host:path`, `rsync://…` (a `:` before any `/`). */
const REMOTE_OPERAND = /^(?:rsync:\/\/|[^/:]+:)/;
const SCRIPT_INTERPRETER = /^(?:python[0-9.]*|node|nodejs|deno|bun|ruby|perl|php)$/;
/** What an inline program uses to reach the network. */
const NETWORK_CODE =
  /\b(?:urllib|urlopen|requests\.|http\.client|httpx|aiohttp|socket\.|fetch\(|https?\.(?:get|request)|net\.connect|Net::HTTP|open-uri|LWP|IO::Socket|curl_exec|file_get_contents\(\s*['"]https?:)/;

function networkReason(name: string, argv: readonly string[]): string | undefined {
  if (NETWORK_PROGRAMS.has(name)) return `${name} reaches the network`;
  if (name === "rsync") {
    const remote = argv.slice(1).find((a) => !a.startsWith("-") && REMOTE_OPERAND.test(a));
    return remote === undefined ? undefined : `rsync to or from ${remote}`;
  }
  if (name === "git") {
    const sub = gitSubcommand(argv);
    return sub !== undefined && GIT_NETWORK.has(sub.name) ? `git ${sub.name} talks to a remote` : undefined;
  }
  if (SCRIPT_INTERPRETER.test(name) && argv.slice(1).some((a) => NETWORK_CODE.test(a))) {
    return `${name} program opens a network connection`;
  }
  return undefined;
}

// --- file writes -----------------------------------------------------------------------------

const COPY_LIKE = new Set(["cp", "mv", "install"]);
/** Commands that change (create, delete, move away) every file operand they name. */
const CHANGES_OPERANDS: ReadonlyMap<string, string> = new Map([
  ["rm", "deletes"], ["rmdir", "deletes"], ["unlink", "deletes"], ["shred", "destroys"], ["mv", "moves"],
  ["touch", "creates"], ["mkdir", "creates"], ["truncate", "truncates"],
]);

/** The files a command changes, with what it does to them. */
function changedFiles(name: string, argv: readonly string[]): [string, string][] {
  const verb = CHANGES_OPERANDS.get(name);
  // mv: the sources leave their place too (`mv /etc/x .` changes /etc); -t DIR is an operand of its own.
  const all: [string, string][] = verb === undefined ? [] : operands(argv).map((p) => [p, verb]);
  return [...all, ...writtenFiles(name, argv).map((p): [string, string] => [p, "writes"])];
}

function writtenFiles(name: string, argv: readonly string[]): string[] {
  if (name === "tee") return operands(argv);
  if (name === "dd") return argv.filter((a) => a.startsWith("of=")).map((a) => a.slice(3)).filter((p) => p !== "");
  if (!COPY_LIKE.has(name)) return [];
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k] ?? "";
    if (a === "-t" || a === "--target-directory") return argv[k + 1] === undefined ? [] : [argv[k + 1]!];
    if (a.startsWith("--target-directory=")) return [a.slice(a.indexOf("=") + 1)];
    if (a.startsWith("-t") && a.length > 2 && !a.startsWith("--")) return [a.slice(2)];
  }
  const ops = operands(argv);
  return ops.length >= 2 ? [ops[ops.length - 1]!] : [];
}

function operands(argv: readonly string[]): string[] {
  return splitOptions(argv).rest;
}
