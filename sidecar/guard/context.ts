import type { CapabilityRegistry } from "./boundary";
import { findSecrets, type SecretFinding } from "./secrets";
import { analyzeShell, type ShellFinding } from "./shell";
import type { Decision, Facts, GuardrailSource } from "./types";

/**
 * Everything a rule may look at for one tool call. The expensive analyses (shell parsing, secret scanning)
 * are computed on first use and shared by every rule, so a call with no command pays nothing for them.
 */
export class EvaluationContext {
  private shell: ShellFinding[] | undefined;
  private secrets: SecretFinding[] | undefined;
  private commands: string[] | undefined;
  private paths: string[] | undefined;

  constructor(
    readonly facts: Facts,
    readonly args: unknown,
    readonly metadata: Record<string, unknown> | undefined,
    readonly isProduction: boolean,
    readonly capabilities: CapabilityRegistry,
  ) {}

  get shellCommands(): string[] {
    return (this.commands ??= extractShellCommands(this.args, this.facts));
  }

  get shellFindings(): ShellFinding[] {
    if (this.shell === undefined) {
      const commands = this.shellCommands;
      this.shell = commands.length === 0 ? [] : commands.flatMap((c) => analyzeShell(c));
    }
    return this.shell;
  }

  get secretFindings(): SecretFinding[] {
    return (this.secrets ??= this.args === undefined ? [] : findSecrets(this.args));
  }

  get pathArguments(): string[] {
    return (this.paths ??= extractPaths(this.args));
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

/** A compiled guardrail: template or custom. `test` returns the reason it matched, or null. */
export interface CompiledRule {
  key: string;
  name: string;
  decision: Decision;
  source: GuardrailSource;
  approvalTimeoutMs: number | undefined;
  test(ctx: EvaluationContext): string | null;
}

const COMMAND_KEYS = ["command", "cmd", "script", "commandLine", "command_line", "shell_command", "bash"];
const PATH_KEYS = ["path", "file_path", "filePath", "filename", "file", "source", "src", "destination", "dest", "uri"];
const PATH_LIST_KEYS = ["paths", "files"];

/**
 * Shell command text in a tool call: `{command: "..."}` and friends, the MCP-server form
 * `{command: "bash", args: ["-c", "..."]}`, or a bare string argument to a shell tool.
 */
function extractShellCommands(args: unknown, facts: Facts): string[] {
  if (typeof args === "string") return facts["resource.type"] === "shell_command" ? [args] : [];
  if (args === null || typeof args !== "object" || Array.isArray(args)) return [];
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

function extractPaths(args: unknown): string[] {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return [];
  const record = args as Record<string, unknown>;
  const out: string[] = [];
  for (const key of PATH_KEYS) {
    const value = record[key];
    if (typeof value === "string") out.push(value.startsWith("file://") ? decodeFileUri(value) : value);
  }
  for (const key of PATH_LIST_KEYS) {
    const value = record[key];
    if (Array.isArray(value)) for (const v of value) if (typeof v === "string") out.push(v);
  }
  return out;
}

function decodeFileUri(uri: string): string {
  try {
    return decodeURIComponent(uri.slice("file://".length));
  } catch {
    return uri.slice("file://".length);
  }
}
