import path from "node:path";
import { COMMAND_KEYS } from "../../sidecar/guard/argumentKeys";
import type { CallRequest } from "./toolCalls";

/**
 * A tool call named the way its host names it: the tool, then its essence — `Bash · npm test`,
 * `Edit · src/app.ts`, `Read · ~/.ssh/id_rsa`, `WebFetch · example.com`, `deploy.release · production`,
 * `github.create_issue · apie-sh/apie`. The essence is read from the (already redacted) arguments by the
 * names the hosts give them (sidecar/hooks/dialects.ts: Claude Code, Codex, Copilot, VS Code, Gemini CLI,
 * Cursor), else from the resource (an SDK call); one line, cut to a readable length.
 */

/** Where paths are shown from: inside the workspace relative to it, under the home folder as `~/…`. */
export interface Places {
  workspace?: string | undefined;
  home?: string | undefined;
}

const MAX_ESSENCE = 60;

/** One file: Claude `file_path` / `notebook_path`, VS Code `filePath`, Copilot `path`, Gemini `absolute_path`, Cursor `target_file`. */
const PATH_KEYS = ["file_path", "filePath", "notebook_path", "absolute_path", "target_file", "path", "file", "dir_path", "directory"];
/** Several files: Codex `apply_patch` ({patch, paths}), Gemini `read_many_files`. */
const PATHS_KEYS = ["paths", "file_paths", "filePaths"];
const URL_KEYS = ["url", "uri", "urls"];
/** What a search looks for: Grep/Glob `pattern`, WebSearch `query`, VS Code `includePattern`. */
const QUERY_KEYS = ["pattern", "query", "includePattern", "glob"];

export function toolName(request: Pick<CallRequest, "tool" | "action">): string {
  return request.tool.name ?? request.action.name ?? request.action.type ?? "tool call";
}

export function callLabel(request: CallRequest, places: Places = {}): string {
  const essence = callEssence(request, places);
  return essence === undefined ? toolName(request) : `${toolName(request)} · ${essence}`;
}

export function callEssence(request: CallRequest, places: Places = {}): string | undefined {
  const args = isObject(request.arguments) ? request.arguments : {};
  // Command line: the guard's COMMAND_KEYS (Claude/Copilot/Gemini/Cursor/VS Code `command`, Codex `cmd` or `command`, a string or argv).
  const command = commandText(pick(args, COMMAND_KEYS));
  if (command !== undefined) return cut(command);
  const one = pick(args, PATH_KEYS);
  if (typeof one === "string" && one.trim() !== "") return cut(displayPath(one, places));
  const many = pick(args, PATHS_KEYS);
  const paths = Array.isArray(many) ? many.filter((p): p is string => typeof p === "string") : [];
  if (paths.length > 0) return cut(displayPath(paths[0]!, places)) + (paths.length > 1 ? ` +${paths.length - 1}` : "");
  const urls = pick(args, URL_KEYS);
  const url = Array.isArray(urls) ? urls.find((u): u is string => typeof u === "string") : urls;
  if (typeof url === "string" && url.trim() !== "") return cut(hostOf(url));
  const query = pick(args, QUERY_KEYS);
  if (typeof query === "string" && query.trim() !== "") return cut(query);
  const resource = request.resource.external_id ?? request.resource.environment;
  if (resource) return cut(resource);
  // An MCP tool or an SDK tool with its own argument names: its first short text argument.
  for (const key in args) {
    const v = args[key];
    if (typeof v === "string" && v.length <= 200 && v.trim() !== "") return cut(v);
  }
  return undefined;
}

/** A path as a person reads it here: workspace-relative, `~/…` under the home folder, else as given. */
export function displayPath(p: string, places: Places): string {
  const { workspace, home } = places;
  if (workspace && path.isAbsolute(p)) {
    const rel = path.relative(workspace, p);
    if (rel === "") return ".";
    if (!rel.startsWith("..") && !path.isAbsolute(rel)) return rel;
  }
  if (home && path.isAbsolute(p)) {
    const rel = path.relative(home, p);
    if (rel === "") return "~";
    if (!rel.startsWith("..") && !path.isAbsolute(rel)) return `~/${rel}`;
  }
  return p;
}

/** A command as one line: an argv joined, a `bash -lc "…"` wrapper (Codex) unwrapped. */
function commandText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string") || value.length === 0) return undefined;
  const argv = value as string[];
  if (argv.length >= 3 && /(^|\/)(ba|z)?sh$/.test(argv[0]!) && /^-l?c$/.test(argv[1]!)) return argv.slice(2).join(" ");
  return argv.join(" ");
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return u.host || url;
  } catch {
    return url;
  }
}

function pick(args: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const key of keys) if (args[key] !== undefined && args[key] !== null) return args[key];
  return undefined;
}

function cut(text: string): string {
  const flat = /\s/.test(text) ? text.replace(/\s+/g, " ").trim() : text;
  return flat.length > MAX_ESSENCE ? `${flat.slice(0, MAX_ESSENCE - 1)}…` : flat;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
