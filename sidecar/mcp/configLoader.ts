import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { findNodeAtLocation, getNodeValue, parseTree, type Node } from "jsonc-parser";
import picomatch from "picomatch";
import type { z } from "zod";
import { MCP_CONFIG_FILE } from "../protocol/workspaceFiles";
import {
  closest,
  duplicateKeyErrors,
  errorAtPath,
  formatFieldPath,
  formatJsonFileError,
  keyNodeAt,
  locator,
  parseJsonTree,
  schemaIssueErrors,
  sortByPosition,
  type JsonFileError,
  type Locate,
} from "../guard/jsonDocument";
import { McpConfigFileSchema, type McpConfigFile, type McpServerConfig, type Upstream } from "./configSchema";
import { McpConfigError, resolveServerConfig } from "./resolveConfig";

/**
 * Reads apie.mcp.json into the server settings the proxy runs with, or into errors that each name the file,
 * line, column and field (the same shape as apie.policy.json's errors, so the CLI prints them alike and the
 * editor shows them as diagnostics). Checks, in order: JSON syntax; duplicate keys; the zod schema (unknown
 * fields get a did-you-mean); then semantics: legacy `releaseMode`, colliding server names, tool globs, and
 * resolving every server (inheritance, required fields). Whether the upstream command exists is a separate,
 * async check ({@link checkUpstreamCommand}).
 *
 * Paths in the file are relative to the file's folder: `upstream.cwd` (default: that folder) and an
 * `upstream.command` that contains a slash. The resolved configs carry both as absolute paths.
 */


export interface McpConfigIssue extends JsonFileError {
  /** error: the proxy refuses the file; warning: it runs, but probably not as meant. */
  severity: "error" | "warning";
}

export type McpConfigLoadResult =
  | {
      ok: true;
      file: string;
      text: string;
      document: McpConfigFile;
      /** Every server the file defines (or the one selected), inheritance and defaults applied. */
      servers: McpServerConfig[];
      warnings: McpConfigIssue[];
    }
  | { ok: false; file: string; text: string; errors: McpConfigIssue[]; warnings: McpConfigIssue[] };

export interface McpConfigLoadOptions {
  /** Resolve only this server (`--server NAME`). */
  server?: string | undefined;
  /**
   * Resolve exactly one server, as the proxy does: `server`, else the top-level serverName; a file with
   * `servers` and neither is an error. Without this (the editor, `apie doctor`), every server is resolved.
   */
  selectOne?: boolean;
}

/** Same form as apie.policy.json errors: `file:line:column: field: message`. */
export const formatMcpConfigError: (e: JsonFileError) => string = formatJsonFileError;

/** Thrown by {@link loadMcpServerConfig}: the message is the first error, formatted; `errors` has them all. */
export class McpConfigFileError extends Error {
  override readonly name = "McpConfigFileError";
  constructor(readonly errors: readonly McpConfigIssue[]) {
    super(errors.length > 0 ? formatMcpConfigError(errors[0]!) : "invalid apie.mcp.json");
  }
}

export async function loadMcpConfigFile(file: string, options: McpConfigLoadOptions = {}): Promise<McpConfigLoadResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? "no such file" : `cannot read it (${code ?? (error as Error).message})`;
    return { ok: false, file, text: "", errors: [{ ...locator("", file)(0, 0, "", message), severity: "error" }], warnings: [] };
  }
  return loadMcpConfigText(text, file, options);
}

/**
 * The one server the proxy runs: `serverName` (from `--server`), else the file's serverName. Throws
 * {@link McpConfigFileError} (message: the first error as `file:line:column: field: message`).
 */
export async function loadMcpServerConfig(file: string, serverName?: string): Promise<McpServerConfig> {
  const result = await loadMcpConfigFile(file, { server: serverName, selectOne: true });
  if (!result.ok) throw new McpConfigFileError(result.errors);
  return result.servers[0]!;
}

export function loadMcpConfigText(text: string, file: string = MCP_CONFIG_FILE, options: McpConfigLoadOptions = {}): McpConfigLoadResult {
  const locate = locator(text, file);
  const asError = (e: JsonFileError): McpConfigIssue => ({ ...e, severity: "error" });
  const asWarning = (e: JsonFileError): McpConfigIssue => ({ ...e, severity: "warning" });
  const { root, errors: syntaxErrors } = parseJsonTree(text, locate);
  if (root === undefined) return { ok: false, file, text, errors: syntaxErrors.map(asError), warnings: [] };

  const errors = duplicateKeyErrors(root, locate).map(asError);
  const raw: unknown = getNodeValue(root);
  const semantic = semanticChecks(raw, root, locate);
  errors.push(...semantic.errors.map(asError));
  const warnings = sortByPosition(semantic.warnings.map(asWarning));
  const parsed = McpConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issueOptions = { unknownKeyMessage, unionBranch: (p: readonly (string | number)[], b: readonly (readonly z.core.$ZodIssue[])[]) => upstreamBranch(root, p, b) };
    errors.push(...parsed.error.issues.flatMap((issue) => schemaIssueErrors(issue, root, locate, issueOptions)).map(asError));
    return { ok: false, file, text, errors: dedupe(sortByPosition(errors)), warnings };
  }
  const doc = parsed.data;

  const servers: McpServerConfig[] = [];
  const resolve = (serverName: string | undefined) => {
    try {
      servers.push(absolutePaths(resolveServerConfig(doc, serverName), path.dirname(path.resolve(file))));
    } catch (error) {
      if (!(error instanceof McpConfigError)) throw error;
      errors.push(asError(locateConfigError(error, doc, root, locate)));
    }
  };
  const names = Object.keys(doc.servers ?? {});
  if (options.selectOne || options.server !== undefined || names.length === 0) {
    resolve(options.server);
  } else {
    // The top-level serverName picks the default server: it must be one of them.
    if (doc.serverName !== undefined) {
      try {
        resolveServerConfig(doc);
      } catch (error) {
        if (!(error instanceof McpConfigError)) throw error;
        errors.push(asError(locateConfigError(error, doc, root, locate)));
      }
    }
    for (const name of names) resolve(name);
  }
  if (errors.length > 0) return { ok: false, file, text, errors: dedupe(sortByPosition(errors)), warnings };
  return { ok: true, file, text, document: doc, servers, warnings };
}

// ---------------------------------------------------------------------------------------------------------
// Unknown fields and unions

function unknownKeyMessage(at: readonly (string | number)[], key: string): string {
  const known = knownKeysAt(McpConfigFileSchema, at);
  const upstreamKeys = knownKeysAt(McpConfigFileSchema, ["upstream"]);
  if (key === "mcpServers" && at.length === 0) {
    return `unknown field "mcpServers": apie.mcp.json lists upstream servers under "servers", each with "upstream": {"command": …, "args": […]}`;
  }
  if (known.includes("upstream") && upstreamKeys.includes(key)) {
    return `unknown field "${key}" here; it belongs inside "upstream": {"${key}": …}`;
  }
  const suggestion = suggest(key, known.filter((k) => k !== "$schema"));
  return `unknown field "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
}

/** `agent_key` → agentKey (same letters, other case or separators), else the nearest by edit distance. */
function suggest(key: string, candidates: readonly string[]): string | undefined {
  const normal = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const same = candidates.find((c) => normal(c) === normal(key));
  if (same !== undefined) return same;
  const lower = candidates.map((c) => c.toLowerCase());
  const hit = closest(key.toLowerCase(), lower);
  return hit === undefined ? undefined : candidates[lower.indexOf(hit)];
}

type SchemaDef = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] };
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The field names the schema allows in the object at `at` (for did-you-mean). */
function knownKeysAt(schema: z.ZodType, at: readonly (string | number)[]): string[] {
  let current: z.ZodType[] = [schema];
  for (const segment of [...at, undefined]) {
    const next: z.ZodType[] = [];
    const keys = new Set<string>();
    const visit = (s: z.ZodType): void => {
      const def = defOf(s);
      if ((def.type === "optional" || def.type === "nullable" || def.type === "default") && def.innerType) return visit(def.innerType);
      if (def.type === "union") return def.options?.forEach(visit);
      if (segment === undefined) {
        if (def.type === "object") Object.keys(def.shape ?? {}).forEach((k) => keys.add(k));
        return;
      }
      if (def.type === "object" && typeof segment === "string" && def.shape?.[segment]) next.push(def.shape[segment]);
      if (def.type === "record" && def.valueType) next.push(def.valueType);
    };
    current.forEach(visit);
    if (segment === undefined) return [...keys];
    current = next;
  }
  return [];
}

/** Which branch of the upstream union to report: the one the user evidently meant (command or url). */
function upstreamBranch(root: Node, at: readonly (string | number)[], branches: readonly (readonly z.core.$ZodIssue[])[]): number | string | undefined {
  if (at.at(-1) !== "upstream" || branches.length !== 2) return undefined;
  const node = findNodeAtLocation(root, at as (string | number)[]);
  const shape = 'an object: {"command": "npx", "args": […]} to start a program, or {"url": "http://…"} for a Streamable HTTP server';
  if (node?.type !== "object") return `expected ${shape}`;
  const keys = new Set((node.children ?? []).map((p) => String(p.children?.[0]?.value)));
  if (keys.has("command") && keys.has("url")) return 'give either "command" (a program to start) or "url" (an HTTP server), not both';
  if (keys.has("url")) return 1;
  if (keys.has("command")) return 0;
  return `missing "command" or "url": expected ${shape}`;
}

// ---------------------------------------------------------------------------------------------------------
// Semantic checks on a schema-valid document

type Path = (string | number)[];

/** A loosely read server object: semantic checks also run on files the schema rejects. */
interface LooseEntry {
  mode?: unknown;
  releaseMode?: unknown;
  serverName?: unknown;
  tools?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The objects that hold server settings: the top level and each `servers` entry, with their paths. */
function serverObjects(raw: unknown): { at: Path; entry: LooseEntry }[] {
  if (!isObject(raw)) return [];
  const servers = isObject(raw.servers) ? Object.entries(raw.servers).filter((e): e is [string, Record<string, unknown>] => isObject(e[1])) : [];
  return [{ at: [], entry: raw }, ...servers.map(([name, entry]) => ({ at: ["servers", name] as Path, entry }))];
}

function semanticChecks(raw: unknown, root: Node, locate: Locate): { errors: JsonFileError[]; warnings: JsonFileError[] } {
  const errors: JsonFileError[] = [];
  const warnings: JsonFileError[] = [];
  for (const { at, entry } of serverObjects(raw)) {
    // Legacy releaseMode: same messages as resolveServerConfig (duplicates are dropped), but reported for
    // every object that sets it, also a top level that no server inherits from.
    const { releaseMode, mode } = entry;
    if (releaseMode === "guard") {
      errors.push(errorAtPath(root, [...at, "releaseMode"], 'releaseMode "guard" is no longer supported: use mode: "enforce"', locate));
    } else if (typeof releaseMode === "string" && releaseMode !== "monitor" && releaseMode !== "enforce") {
      errors.push(errorAtPath(root, [...at, "releaseMode"], `releaseMode "${releaseMode}" is not a mode: use mode: "monitor" or "enforce"`, locate));
    } else if (typeof releaseMode === "string" && typeof mode === "string" && mode !== releaseMode) {
      warnings.push(errorAtPath(root, [...at, "releaseMode"], `ignored: mode "${mode}" is set too and wins; remove releaseMode`, locate));
    }
    for (const pattern of isObject(entry.tools) ? Object.keys(entry.tools) : []) {
      const problem = toolPatternProblem(pattern);
      if (problem === undefined) continue;
      const keyNode = keyNodeAt(root, [...at, "tools"], pattern);
      const field = formatFieldPath([...at, "tools", pattern]);
      errors.push(keyNode ? locate(keyNode.offset, keyNode.length, field, problem) : errorAtPath(root, [...at, "tools", pattern], problem, locate));
    }
  }
  errors.push(...serverNameCollisions(raw, root, locate));
  return { errors, warnings };
}

/**
 * Server names that differ only in case (`GitHub` and `github`), or two entries whose tools would share a
 * namespace: tool names like `github.create_issue` could no longer tell the servers apart.
 */
function serverNameCollisions(raw: unknown, root: Node, locate: Locate): JsonFileError[] {
  const errors: JsonFileError[] = [];
  const byKey = new Map<string, string>();
  const byNamespace = new Map<string, string>();
  for (const { at, entry } of serverObjects(raw)) {
    const name = at[1];
    if (typeof name !== "string") continue;
    const folded = name.toLowerCase();
    const earlier = byKey.get(folded);
    if (earlier !== undefined) {
      const keyNode = keyNodeAt(root, ["servers"], name);
      const field = formatFieldPath(["servers", name]);
      const message = `server "${name}" collides with "${earlier}" (server names are compared without case); rename one`;
      errors.push(keyNode ? locate(keyNode.offset, keyNode.length, field, message) : errorAtPath(root, ["servers", name], message, locate));
      continue;
    }
    byKey.set(folded, name);
    const ownName = typeof entry.serverName === "string" ? entry.serverName : undefined;
    const namespace = (ownName ?? name).toLowerCase();
    const sameNamespace = byNamespace.get(namespace);
    if (sameNamespace !== undefined) {
      const where = ownName !== undefined ? ["servers", name, "serverName"] : ["servers", name];
      errors.push(errorAtPath(root, where, `server "${name}" uses the tool namespace "${ownName ?? name}" of server "${sameNamespace}"; tool names must tell them apart`, locate));
    } else {
      byNamespace.set(namespace, name);
    }
  }
  return errors;
}

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/**
 * The matcher for a `tools` key: exact name, or a glob (picomatch: `*`, `?`, `[ab]`, `{a,b}`). The proxy
 * and the loader share it, so a pattern the loader accepts is the pattern the proxy matches.
 * Throws on a pattern {@link toolPatternProblem} rejects.
 */
export function compileToolPattern(pattern: string): (toolName: string) => boolean {
  const problem = toolPatternProblem(pattern);
  if (problem !== undefined) throw new Error(problem);
  if (!GLOB_CHARS.test(pattern)) return (name) => name === pattern;
  const re = picomatch.makeRe(pattern, { dot: true });
  return (name) => re.test(name);
}

/** Why a `tools` key is not a usable tool name or glob; undefined when it is. */
export function toolPatternProblem(pattern: string): string | undefined {
  if (pattern.trim() === "") return "empty tool name or glob";
  if (pattern !== pattern.trim()) return `tool glob "${pattern}" has leading or trailing spaces`;
  let braces = 0;
  let parens = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      if (i === pattern.length - 1) return `invalid tool glob "${pattern}": ends with a lone backslash`;
      i++;
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) return `invalid tool glob "${pattern}": "[" at ${i + 1} is never closed with "]"`;
      i = close;
    } else if (c === "{") braces++;
    else if (c === "}") {
      if (--braces < 0) return `invalid tool glob "${pattern}": "}" at ${i + 1} has no "{"`;
    } else if (c === "(") parens++;
    else if (c === ")") {
      if (--parens < 0) return `invalid tool glob "${pattern}": ")" at ${i + 1} has no "("`;
    }
  }
  if (braces > 0) return `invalid tool glob "${pattern}": "{" is never closed with "}"`;
  if (parens > 0) return `invalid tool glob "${pattern}": "(" is never closed with ")"`;
  if (!GLOB_CHARS.test(pattern)) return undefined;
  let re: RegExp;
  try {
    re = picomatch.makeRe(pattern, { dot: true });
  } catch (error) {
    return `invalid tool glob "${pattern}": ${(error as Error).message}`;
  }
  if (re.source === "$^") return `invalid tool glob "${pattern}": it can never match`;
  return undefined;
}

/** Where a resolveServerConfig error points: `servers.<name>.<field>`, or the top-level field it inherited. */
function locateConfigError(error: McpConfigError, doc: McpConfigFile, root: Node, locate: Locate): JsonFileError {
  const at = fieldPath(error.field, Object.keys(doc.servers ?? {}));
  if (at.length > 2 && at[0] === "servers" && findNodeAtLocation(root, at) === undefined) {
    const inherited = at.slice(2);
    if (findNodeAtLocation(root, inherited) !== undefined) return errorAtPath(root, inherited, error.message, locate);
  }
  return errorAtPath(root, at, error.message, locate);
}

/** `servers.my.server.agentKey` → ["servers", "my.server", "agentKey"] (server names may contain dots). */
function fieldPath(field: string, serverNames: readonly string[]): Path {
  if (field === "") return [];
  if (field.startsWith("servers.")) {
    const name = [...serverNames].sort((a, b) => b.length - a.length).find((n) => field === `servers.${n}` || field.startsWith(`servers.${n}.`));
    if (name !== undefined) {
      const rest = field.slice(`servers.${name}`.length + 1);
      return ["servers", name, ...(rest ? rest.split(".") : [])];
    }
  }
  return field.split(".");
}

function dedupe(errors: McpConfigIssue[]): McpConfigIssue[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.offset}:${e.length}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function absolutePaths(config: McpServerConfig, folder: string): McpServerConfig {
  if (!("command" in config.upstream)) return config;
  const upstream = config.upstream;
  const cwd = path.resolve(folder, upstream.cwd ?? ".");
  const command = hasPathSeparator(upstream.command) ? path.resolve(folder, upstream.command) : upstream.command;
  return { ...config, upstream: { ...upstream, command, cwd } };
}

function hasPathSeparator(command: string): boolean {
  return command.includes("/") || (process.platform === "win32" && command.includes("\\"));
}

// ---------------------------------------------------------------------------------------------------------
// Upstream command on PATH

export interface UpstreamCheckOptions {
  /** The environment whose PATH is searched (default process.env); an upstream's own `env.PATH` wins. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Warnings, at the `upstream.command` (or `upstream.cwd`) of every object that sets one, for a command that
 * is not on PATH or, given as a path, does not exist relative to the config file's folder; and for a cwd that
 * is not a folder. Works on any load result that got past JSON syntax (the editor checks broken files too).
 */
export async function checkUpstreamCommand(result: Pick<McpConfigLoadResult, "file" | "text">, options: UpstreamCheckOptions = {}): Promise<McpConfigIssue[]> {
  const root = parseTree(result.text, [], { disallowComments: true, allowTrailingComma: false });
  if (root === undefined) return [];
  const locate = locator(result.text, result.file);
  const folder = path.dirname(path.resolve(result.file));
  const env = options.env ?? process.env;
  const objects: Path[] = [[]];
  const serversNode = findNodeAtLocation(root, ["servers"]);
  if (serversNode?.type === "object") for (const p of serversNode.children ?? []) if (typeof p.children?.[0]?.value === "string") objects.push(["servers", p.children[0].value]);

  const warnings: McpConfigIssue[] = [];
  await Promise.all(
    objects.map(async (at) => {
      const upstreamNode = findNodeAtLocation(root, [...at, "upstream"]);
      if (upstreamNode?.type !== "object") return;
      const upstream = getNodeValue(upstreamNode) as Partial<Record<keyof Extract<Upstream, { command: string }>, unknown>>;
      const warn = (field: string, message: string) => warnings.push({ ...errorAtPath(root, [...at, "upstream", field], message, locate), severity: "warning" });
      if (typeof upstream.cwd === "string") {
        const cwd = path.resolve(folder, upstream.cwd);
        const info = await stat(cwd).catch(() => undefined);
        if (!info?.isDirectory()) warn("cwd", `upstream.cwd "${upstream.cwd}" is not a folder (${cwd})`);
      }
      if (typeof upstream.command !== "string" || upstream.command === "") return;
      const upstreamEnv = typeof upstream.env === "object" && upstream.env !== null ? (upstream.env as Record<string, unknown>) : {};
      const pathValue = typeof upstreamEnv.PATH === "string" ? upstreamEnv.PATH : env.PATH ?? env.Path ?? "";
      const problem = await commandProblem(upstream.command, folder, pathValue, env);
      if (problem !== undefined) warn("command", problem);
    }),
  );
  return sortByPosition(warnings);
}

/** Why `command` cannot be started; undefined when it can. */
export async function commandProblem(command: string, folder: string, pathValue: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (hasPathSeparator(command) || path.isAbsolute(command)) {
    const file = path.resolve(folder, command);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) return `upstream command "${command}" does not exist (${file})`;
    if (!info.isFile()) return `upstream command "${command}" is not a file (${file})`;
    if (!(await isExecutable(file))) return `upstream command "${command}" is not executable (${file}); chmod +x it or start it through its interpreter`;
    return undefined;
  }
  if ((await findOnPath(command, pathValue, env)) !== undefined) return undefined;
  return `upstream command "${command}" was not found on PATH; install it, or give its full path`;
}

/** The first executable called `command` in the PATH folders (with PATHEXT on Windows). */
export async function findOnPath(command: string, pathValue: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const extensions = process.platform === "win32" ? ["", ...(env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";").filter(Boolean)] : [""];
  for (const dir of pathValue.split(path.delimiter)) {
    if (dir === "") continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, command + ext);
      const info = await stat(candidate).catch(() => undefined);
      if (info?.isFile() && (await isExecutable(candidate))) return candidate;
    }
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  if (process.platform === "win32") return true;
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}
