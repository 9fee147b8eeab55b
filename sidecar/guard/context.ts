import type { CapabilityRegistry } from "./boundary";
import { COMMAND_KEYS, mayHaveAnyKey, PATH_KEYS } from "./argumentKeys";
import { resolvePath, type PathContext } from "./paths";
import { findSecrets, type SecretFinding } from "./secrets";
import { inspectShell, type ShellFinding } from "./shell";
import type { Decision, Facts, GuardrailSource } from "./types";

/** What evaluate() knows about the run beyond this call: the record that gave it a secret (see secret-then-network). */
export interface RunTaint {
  /** The decision that let the secret through (the call that read it, or the one that redeemed its approval). */
  decisionId: string;
  /** What was read, e.g. `credential file "/home/a/.aws/credentials"`. */
  reason: string;
}

/**
 * Everything a rule may look at for one tool call. The expensive analyses (shell parsing, secret scanning)
 * are computed on first use and shared by every rule, so a call with no command pays nothing for them.
 */
export class EvaluationContext {
  private shell: readonly ShellFinding[] | undefined;
  private secrets: readonly SecretFinding[] | undefined;
  private commands: readonly string[] | undefined;
  private paths: string[] | undefined;
  /** `metadata.cwd` when it is an absolute path: relative paths in the arguments are relative to it. */
  readonly cwd: string | undefined;

  /**
   * `pathContext`: the host's directories (workspace, home, temp); `runTaint`: the record that gave this run a
   * secret, "unknown" in a replica that cannot know (it then leaves network calls to the sidecar).
   */
  constructor(
    readonly facts: Facts,
    readonly args: unknown,
    readonly metadata: Record<string, unknown> | undefined,
    readonly isProduction: boolean,
    readonly capabilities: CapabilityRegistry,
    readonly pathContext: PathContext = {},
    readonly runTaint: RunTaint | "unknown" | undefined = undefined,
  ) {
    const cwd = metadata?.["cwd"];
    this.cwd = typeof cwd === "string" && cwd.startsWith("/") ? cwd : undefined;
  }

  get shellCommands(): readonly string[] {
    return (this.commands ??= extractShellCommands(this.args, this.facts));
  }

  get shellFindings(): readonly ShellFinding[] {
    if (this.shell === undefined) {
      const commands = this.shellCommands;
      this.shell = commands.length === 0 ? NOTHING : commands.flatMap((c) => inspectShell(c));
    }
    return this.shell;
  }

  /** The first shell finding of `kind`, if any (a loop, not `find` with a closure: it runs on every call). */
  shellFinding(kind: ShellFinding["kind"]): ShellFinding | undefined {
    for (const finding of this.shellFindings) if (finding.kind === kind) return finding;
    return undefined;
  }

  get secretFindings(): readonly SecretFinding[] {
    return (this.secrets ??= this.args === undefined ? NOTHING : findSecrets(this.args));
  }

  /**
   * The file paths the arguments name, resolved: relative ones against `metadata.cwd` (when absolute), `~`
   * against the home directory, `..` folded (paths.ts). A path that cannot be resolved stays as written.
   */
  get pathArguments(): string[] {
    return (this.paths ??= extractPaths(this.args).map((p) => this.resolve(p)));
  }

  /** A path as this call means it (see pathArguments). */
  resolve(path: string): string {
    return resolvePath(path, this.cwd, this.pathContext.homeDir);
  }

  /** The first string argument under any of `keys` (top level only). */
  stringArgument(keys: readonly string[]): string | undefined {
    if (this.args === null || typeof this.args !== "object") return undefined;
    const record = this.args as Record<string, unknown>;
    for (const key of keys) {
      const value = record[key];
      if (typeof value === "string") return value;
    }
    return undefined;
  }
}

/** The one empty list every call without shell commands or findings shares (frozen: nobody adds to it). */
const NOTHING: readonly never[] = Object.freeze([]);

/** A compiled guardrail: template or custom. `test` returns the reason it matched, or null. */
export interface CompiledRule {
  key: string;
  name: string;
  decision: Decision;
  source: GuardrailSource;
  approvalTimeoutMs: number | undefined;
  /** An allow rule's `overrides`: keys whose require_approval / warn it lifts for the calls it matches. */
  overrides?: readonly string[] | undefined;
  test(ctx: EvaluationContext): string | null;
}

const PATH_LIST_KEYS = ["paths", "files"];
/** Lists of edits that carry their own path (VS Code `multi_replace_string_in_file` `replacements[].filePath`). */
const EDIT_LIST_KEYS = ["replacements", "edits"];
/** Patch text (Codex/VS Code `apply_patch`): the files it adds, updates, deletes or moves are written in it. */
const PATCH_KEYS = ["patch", "input"];
const PATCH_FILE = /^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$/gm;
const MAX_LISTED_PATHS = 256;
/** Every key extractShellCommands reads. */
const SHELL_KEYS: ReadonlySet<string> = new Set(COMMAND_KEYS);
/** Every key extractPaths reads. */
const ANY_PATH_KEYS: ReadonlySet<string> = new Set([...PATH_KEYS, ...PATH_LIST_KEYS, ...EDIT_LIST_KEYS, ...PATCH_KEYS]);

/**
 * Shell command text in a tool call: `{command: "..."}` and friends, the MCP-server form
 * `{command: "bash", args: ["-c", "..."]}`, or a bare string argument to a shell tool.
 */
export function extractShellCommands(args: unknown, facts: Facts): readonly string[] {
  if (typeof args === "string") return facts["resource.type"] === "shell_command" ? [args] : NOTHING;
  if (args === null || typeof args !== "object" || Array.isArray(args)) return NOTHING;
  if (!mayHaveAnyKey(args, SHELL_KEYS)) return NOTHING;
  const record = args as Record<string, unknown>;
  const out: string[] = [];
  for (const key of COMMAND_KEYS) {
    const value = record[key];
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === "string")) out.push(joinArgv(value));
  }
  const argv = record["args"] ?? record["argv"];
  if (typeof record["command"] === "string" && Array.isArray(argv) && argv.every((v) => typeof v === "string")) {
    out[0] = joinArgv([record["command"], ...argv]);
  }
  return out;
}

/** Quote an argv so the shell analyzer sees the same words the program would receive. */
function joinArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./~-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

export function extractPaths(args: unknown): string[] {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return [];
  if (!mayHaveAnyKey(args, ANY_PATH_KEYS)) return [];
  const record = args as Record<string, unknown>;
  const out = directPaths(record);
  for (const key of PATH_LIST_KEYS) {
    const value = record[key];
    if (Array.isArray(value)) for (const v of value.slice(0, MAX_LISTED_PATHS)) if (typeof v === "string" && v !== "") out.push(v);
  }
  for (const key of EDIT_LIST_KEYS) {
    const value = record[key];
    if (!Array.isArray(value)) continue;
    for (const edit of value.slice(0, MAX_LISTED_PATHS)) {
      if (edit !== null && typeof edit === "object" && !Array.isArray(edit)) out.push(...directPaths(edit as Record<string, unknown>));
    }
  }
  for (const key of PATCH_KEYS) {
    const value = record[key];
    if (typeof value !== "string" || !value.includes("*** ")) continue;
    for (const m of value.matchAll(PATCH_FILE)) {
      const path = (m[1] ?? m[2] ?? "").trim();
      if (path !== "") out.push(path);
      if (out.length >= MAX_LISTED_PATHS * 2) break;
    }
  }
  return [...new Set(out)];
}

function directPaths(record: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of PATH_KEYS) {
    const value = record[key];
    if (typeof value !== "string" || value === "") continue;
    if (value.startsWith("file://")) out.push(decodeFileUri(value));
    else if (!URL_SCHEME.test(value)) out.push(value); // an https:// `uri` names no file
  }
  return out;
}

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function decodeFileUri(uri: string): string {
  try {
    return decodeURIComponent(uri.slice("file://".length));
  } catch {
    return uri.slice("file://".length);
  }
}
