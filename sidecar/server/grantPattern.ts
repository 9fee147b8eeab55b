import { normalizeCommand } from "../protocol/commandText";
import { canonicalHash, requestIdentity } from "../store/canonical";
import { extractPaths, extractShellCommands } from "../guard/context";
import { resolvePath } from "../guard/paths";
import type { Facts, GuardRequest } from "../guard/types";

/**
 * What an "Approve for this session" grant covers (issue 13): the same agent, the same run (a hook's host
 * session is one run per agent key; an SDK's run), the same tool, and the same normalized command or path —
 * never a different one. Pure; the sidecar keys its session grants by {@link GrantPattern.key}.
 *
 * Three kinds, by what the call is:
 * - `command` — a shell command (resource `shell_command`, as the hooks send Bash, Codex `shell`, …) with
 *   exactly one command line in its arguments: bound to the command normalized by protocol/commandText.ts
 *   (unquoted whitespace folded), the call's working directory (`metadata.cwd`, and a `workdir` / `cwd` /
 *   `directory` argument resolved against it) and every other argument except the host's wording of the
 *   call (SHELL_NOISE: description, timeout, background flag), which does not change what runs.
 * - `path` — a file tool (resource `file`: Read, Edit, Write, apply_patch, …) naming paths: bound to the set
 *   of paths resolved (relative ones against `metadata.cwd`, `~` against home); the rest of the arguments
 *   (the edit's text, a read's range) is not bound: "this file, in this session".
 * - `action` — anything else (MCP tools, SDK actions such as deploy.release): bound to the whole request the
 *   approval's action hash binds (store/canonical.ts actionHash) minus the run-specific noise: `metadata.hook`
 *   (the host's tool-use id and transcript path differ on every call). Arguments are bound in full.
 * Every kind also binds the action, the resource (type, environment, external id, provider) and risk level,
 * so e.g. the same tool aimed at production is never covered by a grant made for staging.
 */
export type GrantKind = "command" | "path" | "action";

export interface GrantPattern {
  kind: GrantKind;
  /** SHA-256 hex of everything the grant binds (agent and run included). */
  key: string;
  /** `command`: the normalized command line; `argument`: where it was (`$.command`); `cwd`: where it runs. */
  command?: string;
  argument?: string;
  cwd?: string | null;
  /** `path`: the resolved paths, sorted. */
  paths?: string[];
}

/** Arguments of shell tools that describe the call rather than change what runs (Claude, Codex, Copilot, VS Code). */
const SHELL_NOISE = new Set(["description", "explanation", "justification", "timeout", "timeout_ms", "run_in_background", "isBackground"]);
/** Arguments of shell tools that say where the command runs: bound resolved. */
const SHELL_DIRS = ["workdir", "cwd", "directory"];

export function grantPatternOf(request: GuardRequest, homeDir: string | undefined): GrantPattern {
  const metadata = request.metadata ?? {};
  const cwd = typeof metadata["cwd"] === "string" ? metadata["cwd"] : undefined;
  const bound = requestIdentity(request);
  const args = request.arguments;
  const resourceType = request.resource?.type;
  if (resourceType === "shell_command") {
    const commands = extractShellCommands(args, { "resource.type": resourceType } as Facts);
    const command = commands.length === 1 ? normalizeCommand(commands[0]!) : undefined;
    const record = args !== null && typeof args === "object" && !Array.isArray(args) ? (args as Record<string, unknown>) : undefined;
    const argument = command === undefined || record === undefined ? undefined : Object.keys(record).find((k) => typeof record[k] === "string" && normalizeCommand(record[k] as string) === command);
    if (command !== undefined && (record === undefined || argument !== undefined)) {
      const rest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(record ?? {})) {
        if (k === argument || SHELL_NOISE.has(k)) continue;
        rest[k] = SHELL_DIRS.includes(k) && typeof v === "string" ? resolvePath(v, cwd, homeDir) : v;
      }
      const where = cwd === undefined ? null : resolvePath(cwd, undefined, homeDir);
      return { kind: "command", key: canonicalHash({ ...bound, command, cwd: where, rest }), command, argument: argument === undefined ? "$" : `$.${argument}`, cwd: where };
    }
  }
  if (resourceType === "file") {
    const paths = [...new Set(extractPaths(args).map((p) => resolvePath(p, cwd, homeDir)))].sort();
    if (paths.length > 0) return { kind: "path", key: canonicalHash({ ...bound, paths }), paths };
  }
  const { hook: _noise, ...rest } = metadata;
  return { kind: "action", key: canonicalHash({ ...bound, arguments: args ?? null, metadata: rest }) };
}
