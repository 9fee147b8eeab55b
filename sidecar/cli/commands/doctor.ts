import { stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { formatPolicyError, loadPolicy } from "../../guard/policyLoader";
import {
  checkUpstreamCommand,
  formatMcpConfigError,
  loadMcpConfigFile,
  type McpConfigIssue,
  type McpConfigLoadResult,
} from "../../mcp/configLoader";
import { MCP_CONFIG_FILE } from "../../protocol/workspaceFiles";
import type { McpServerConfig } from "../../mcp/configSchema";
import { formatFieldPath } from "../../guard/jsonDocument";
import { readPolicyText } from "../../policy/policyFile";
import { EVENT_LOG_FILE } from "../../store/eventLog";
import { hooksStatus, type HostHookStatus } from "../../hooks/install";
import { parseCommandArgs } from "../args";
import type { Io } from "../io";
import { locateSidecar, SidecarClient, SidecarError, type SidecarLocation } from "../sidecarConnection";
import { DEFAULT_STATE_DIR } from "../../protocol/discovery";

export const DEFAULT_MCP_TIMEOUT_MS = 15_000;

export const doctorUsage = `Usage:
  apie doctor [--policy FILE] [--state-dir DIR] [--json] [--ascii]
  apie doctor --mcp [--mcp-config FILE] [--server NAME] [--mcp-timeout MS] [other options]
Checks the local Apie setup and prints one line per check: the sidecar is reachable and accepts the key,
apie.policy.json is valid (and what the sidecar made of it), the mode, pending approvals, the event log,
apie.mcp.json (when there is one) is valid, and the coding agents' hooks (one line per agent found on this
machine or with Apie's hooks installed; details: \`apie hooks status\`).
With --mcp it also starts each upstream MCP server of apie.mcp.json (or the one --server names) with the
official MCP client, lists its tools and stops it again.
The sidecar is found like every command finds it: APIE_BASE_URL + APIE_ADMIN_KEY (or APIE_API_KEY), else
.apie/sidecar.json.
Options:
  --policy FILE       policy file (default: apie.policy.json)
  --state-dir DIR     folder holding sidecar.json and ${EVENT_LOG_FILE} (default: ./.apie)
  --mcp               check apie.mcp.json and start its upstream server(s)
  --mcp-config FILE   MCP proxy config (default: apie.mcp.json next to the policy file); implies --mcp
  --server NAME       only this server of the config's servers; implies --mcp
  --mcp-timeout MS    deadline for an upstream to start and list its tools (default: ${DEFAULT_MCP_TIMEOUT_MS})
  --json              print {ok, checks: [{name, status, message, details}]} as JSON
  --ascii             [ok]/[FAIL] instead of ✓/✗
Exit codes: 0 all checks pass (warnings allowed), 1 a check failed, 2 usage.`;

const DoctorArgs = z.object({
  policy: z.string().min(1).default("apie.policy.json"),
  "state-dir": z.string().min(1).optional(),
  mcp: z.boolean().default(false),
  "mcp-config": z.string().min(1).optional(),
  server: z.string().min(1).optional(),
  "mcp-timeout": z.coerce.number().int().positive().default(DEFAULT_MCP_TIMEOUT_MS),
  json: z.boolean().default(false),
  ascii: z.boolean().default(false),
  positionals: z.tuple([]),
});

export type CheckStatus = "ok" | "warn" | "fail" | "info";

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  details?: string[];
  /** MCP checks: the upstream's tool names, for --json readers. */
  tools?: string[];
}

/** What /v1/health answers (read loosely: an older sidecar may lack fields). */
const HealthSchema = z
  .object({
    status: z.string(),
    policy: z.string().optional(),
    mode: z.string().optional(),
    uptime_ms: z.number().optional(),
    last_seq: z.number().optional(),
    pending_approvals: z.number().optional(),
    /** Not sent yet; used when the sidecar reports where its log is. */
    event_log: z.string().optional(),
  })
  .loose();
type Health = z.infer<typeof HealthSchema>;

const SYMBOLS: Record<CheckStatus, { unicode: string; ascii: string }> = {
  ok: { unicode: "✓", ascii: "[ok]  " },
  warn: { unicode: "!", ascii: "[warn]" },
  fail: { unicode: "✗", ascii: "[FAIL]" },
  info: { unicode: "-", ascii: "[info]" },
};

export async function doctorCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(
    argv,
    {
      policy: { type: "string" },
      "state-dir": { type: "string" },
      mcp: { type: "boolean" },
      "mcp-config": { type: "string" },
      server: { type: "string" },
      "mcp-timeout": { type: "string" },
      json: { type: "boolean" },
      ascii: { type: "boolean" },
    },
    DoctorArgs,
  );
  const stateDir = args["state-dir"] ?? DEFAULT_STATE_DIR;
  const mcpWanted = args.mcp || args["mcp-config"] !== undefined || args.server !== undefined;
  const mcpFile = args["mcp-config"] ?? path.join(path.dirname(args.policy), MCP_CONFIG_FILE);
  const checks: Check[] = [];
  checks.push(await policyFileCheck(args.policy));
  // The upstreams start while the sidecar is being checked.
  const mcpChecks = mcpWanted
    ? mcpFullChecks(mcpFile, args.server, args["mcp-timeout"])
    : (async () => ((await exists(mcpFile)) ? [await mcpConfigOnlyCheck(mcpFile)] : []))();
  checks.push(...(await sidecarChecks(stateDir)));
  checks.push(...(await mcpChecks));
  checks.push(...(await hookChecks(path.dirname(path.resolve(args.policy)))));

  const ok = !checks.some((c) => c.status === "fail");
  if (args.json) {
    io.out(JSON.stringify({ ok, checks }, null, 2) + "\n");
  } else {
    for (const c of checks) {
      io.out(`${args.ascii ? SYMBOLS[c.status].ascii : SYMBOLS[c.status].unicode} ${c.name}: ${c.message}\n`);
      for (const d of c.details ?? []) io.out(`    ${d}\n`);
    }
    const failed = checks.filter((c) => c.status === "fail").length;
    io.out(ok ? "all checks passed\n" : `${failed} check${failed === 1 ? "" : "s"} failed\n`);
  }
  return ok ? 0 : 1;
}

async function policyFileCheck(file: string): Promise<Check> {
  const name = "policy file";
  let text: string | undefined;
  try {
    text = await readPolicyText(file);
  } catch (error) {
    return { name, status: "fail", message: `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  if (text === undefined) return { name, status: "warn", message: `no ${file}: defaults apply (no templates); start one with \`apie guardrails enable KEY\`` };
  const result = loadPolicy(text, file);
  if (!result.ok) {
    const n = result.errors.length;
    return { name, status: "fail", message: `${file} has ${n} error${n === 1 ? "" : "s"}`, details: result.errors.slice(0, 10).map(formatPolicyError) };
  }
  const doc = result.document;
  const templates = Object.entries(doc.templates ?? {}).filter(([, v]) => v === true || (typeof v === "object" && v.enabled !== false)).length;
  const guardrails = doc.guardrails?.length ?? 0;
  const agents = Object.keys(doc.capabilities ?? {}).length;
  const parts = [`${templates} template${templates === 1 ? "" : "s"}`, `${guardrails} custom guardrail${guardrails === 1 ? "" : "s"}`];
  if (agents > 0) parts.push(`capabilities for ${agents} agent${agents === 1 ? "" : "s"}`);
  return { name, status: "ok", message: `${file} is valid (${parts.join(", ")})` };
}

async function sidecarChecks(stateDir: string): Promise<Check[]> {
  let location: SidecarLocation;
  try {
    location = await locateSidecar({ need: "admin", stateDir }).catch((error: unknown) => {
      // Without the admin key the agent key still answers most checks.
      if (error instanceof SidecarError && process.env.APIE_BASE_URL) return locateSidecar({ need: "agent", stateDir });
      throw error;
    });
  } catch (error) {
    return [{ name: "sidecar", status: "fail", message: (error as Error).message }, ...(await eventLogCheck(stateDir, undefined, undefined))];
  }
  const client = new SidecarClient(location);
  try {
    const checks: Check[] = [];
    const where = `${location.baseUrl} (from ${location.source}${location.pid !== undefined ? `, pid ${location.pid}` : ""})`;
    let health: Health;
    try {
      health = HealthSchema.parse(await client.get("/v1/health"));
    } catch (error) {
      if (error instanceof SidecarError && error.status === 401) {
        checks.push({ name: "sidecar", status: "ok", message: `reachable at ${where}` });
        checks.push({ name: "key", status: "fail", message: error.message });
      } else {
        checks.push({ name: "sidecar", status: "fail", message: (error as Error).message });
      }
      return [...checks, ...(await eventLogCheck(stateDir, location, undefined))];
    }
    const uptime = health.uptime_ms === undefined ? "" : `, up ${Math.round(health.uptime_ms / 1000)} s`;
    checks.push({ name: "sidecar", status: "ok", message: `reachable at ${where}${uptime}` });

    let pending = health.pending_approvals;
    if (location.keyKind === "admin") {
      try {
        pending = (await client.get<{ approvals: unknown[] }>("/v1/approvals?status=pending")).approvals.length;
        checks.push({ name: "key", status: "ok", message: "admin key accepted" });
      } catch (error) {
        checks.push({ name: "key", status: "fail", message: `the key is accepted but is not the admin key: ${(error as Error).message}` });
      }
    } else {
      checks.push({ name: "key", status: "warn", message: "agent key accepted; resolving approvals needs the admin key (set APIE_ADMIN_KEY)" });
    }

    checks.push(sidecarPolicyCheck(health.policy));
    checks.push(modeCheck(health.mode));
    checks.push(
      pending === undefined
        ? { name: "approvals", status: "info", message: "the sidecar did not say how many approvals are pending" }
        : pending === 0
          ? { name: "approvals", status: "ok", message: "no pending approvals" }
          : { name: "approvals", status: "warn", message: `${pending} pending approval${pending === 1 ? "" : "s"}: see \`apie approvals list\`` },
    );
    checks.push(...(await eventLogCheck(stateDir, location, health)));
    return checks;
  } finally {
    client.close();
  }
}

function sidecarPolicyCheck(state: string | undefined): Check {
  const name = "sidecar policy";
  switch (state) {
    case "ok":
      return { name, status: "ok", message: "loaded (ok)" };
    case "none":
      return { name, status: "warn", message: "the sidecar found no apie.policy.json in its workspace: no templates are on" };
    case "stale":
      return { name, status: "fail", message: "stale: the sidecar's apie.policy.json is broken, the last valid version stays in force; fix the file (`apie policy check`)" };
    case "invalid":
      return { name, status: "fail", message: "invalid: apie.policy.json has never been valid, so every template is on at its default; fix the file (`apie policy check`)" };
    default:
      return { name, status: "info", message: `the sidecar reports policy state "${state ?? "unknown"}"` };
  }
}

function modeCheck(mode: string | undefined): Check {
  if (mode === "enforce") return { name: "mode", status: "ok", message: "enforce: blocks and approvals stop calls" };
  if (mode === "monitor") return { name: "mode", status: "ok", message: 'monitor: calls are never stopped, restricted ones are logged as "would block" (an agent in enforce mode is still enforced)' };
  return { name: "mode", status: "info", message: `the sidecar reports mode "${mode ?? "unknown"}"` };
}

/**
 * The log next to the discovery file, or where the sidecar says it is. A sidecar found through APIE_BASE_URL
 * may keep its state elsewhere (the editor's workspace storage): then a missing local log is not a failure.
 */
async function eventLogCheck(stateDir: string, location: SidecarLocation | undefined, health: Health | undefined): Promise<Check[]> {
  const name = "event log";
  const fromDiscovery = location !== undefined && location.source !== "APIE_BASE_URL";
  const file = health?.event_log ?? path.join(fromDiscovery ? path.dirname(location.source) : stateDir, EVENT_LOG_FILE);
  const seq = health?.last_seq === undefined ? "" : `, last seq ${health.last_seq}`;
  try {
    const info = await stat(file);
    if (!info.isFile()) return [{ name, status: "fail", message: `${file} is not a file` }];
    return [{ name, status: "ok", message: `${file} (${info.size} bytes${seq}); check it with \`apie audit verify\`` }];
  } catch {
    if (location === undefined) return [{ name, status: "info", message: `no ${file} (no sidecar has run with state dir ${stateDir})` }];
    if (fromDiscovery || health?.event_log !== undefined) return [{ name, status: "fail", message: `${file} is missing although the sidecar is running` }];
    return [{ name, status: "info", message: `not in ${stateDir}: the sidecar at ${location.baseUrl} keeps its state elsewhere${seq ? ` (it reports${seq.slice(1)})` : ""}; pass --state-dir DIR to check it` }];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Coding agents' hooks (apie hooks status, one line per host that is installed or on this machine)

async function hookChecks(workspace: string): Promise<Check[]> {
  const status = await hooksStatus({ workspace });
  return status.hosts.filter((h) => h.installed || h.detected.length > 0).map(hookCheck);
}

export function hookCheck(h: HostHookStatus): Check {
  const name = `hooks ${h.host}`;
  if (!h.installed) return { name, status: "info", message: `${h.displayName} is on this machine (${h.detected.join(", ")}) but not guarded: \`apie hooks install --host ${h.host}\`` };
  const where = h.scopes
    .filter((s) => s.pre || s.post)
    .map((s) => `${s.file} (${s.scope}${s.pre && s.post ? "" : s.pre ? ", pre only" : ", post only"})`)
    .join(", ");
  const complete = h.scopes.every((s) => s.pre === s.post);
  return {
    name,
    status: h.resolves && complete ? "ok" : "warn",
    message: `${h.displayName}: installed in ${where}; ${h.resolves ? "the command resolves" : "the command does NOT resolve (the hooks give no opinion)"}`,
    details: h.needs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// apie.mcp.json and its upstream servers

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function configCheck(result: McpConfigLoadResult, extraWarnings: McpConfigIssue[], hint: string): Check {
  const name = "mcp config";
  const warnings = [...result.warnings, ...extraWarnings].map(formatMcpConfigError);
  if (!result.ok) {
    const details = [...result.errors.slice(0, 10).map(formatMcpConfigError), ...warnings];
    const unreadable = result.text === "" && result.errors.length === 1 ? result.errors[0]!.message : undefined;
    if (unreadable === "no such file") return { name, status: "fail", message: `no ${result.file}; create it or pass --mcp-config FILE` };
    if (unreadable?.startsWith("cannot read")) return { name, status: "fail", message: `${result.file}: ${unreadable}` };
    return { name, status: "fail", message: `${result.file} has ${plural(result.errors.length, "error")}`, details };
  }
  const servers = result.servers.map((s) => s.serverName).join(", ");
  const what = `${result.file} is valid (${result.servers.length === 1 ? "server" : "servers"}: ${servers})${hint}`;
  return warnings.length > 0 ? { name, status: "warn", message: `${what}; ${plural(warnings.length, "warning")}`, details: warnings } : { name, status: "ok", message: what };
}

/** Without --mcp: an apie.mcp.json next to the policy is validated, nothing is started. */
async function mcpConfigOnlyCheck(file: string): Promise<Check> {
  return configCheck(await loadMcpConfigFile(file), [], "; `apie doctor --mcp` also starts the upstream and lists its tools");
}

async function mcpFullChecks(file: string, server: string | undefined, timeoutMs: number): Promise<Check[]> {
  const result = await loadMcpConfigFile(file, { server });
  const commandWarnings = await checkUpstreamCommand(result);
  if (!result.ok) return [configCheck(result, commandWarnings, "")];
  // A command problem belongs to the servers that use that upstream: their own, or the inherited top-level one.
  const upstreamField = (s: McpServerConfig) => (result.document.servers?.[s.serverName]?.upstream !== undefined ? formatFieldPath(["servers", s.serverName, "upstream"]) : "upstream");
  const problemsOf = (s: McpServerConfig) => commandWarnings.filter((w) => w.field.startsWith(`${upstreamField(s)}.`));
  // Problems of servers not selected with --server are not this run's business; an unused top-level upstream's are.
  const unattributed = commandWarnings.filter((w) => !result.servers.some((s) => problemsOf(s).includes(w)) && (server === undefined || !w.field.startsWith("servers")));
  const checks: Check[] = [configCheck(result, unattributed, "")];
  checks.push(
    ...(await Promise.all(
      result.servers.map(async (s): Promise<Check> => {
        const name = `mcp upstream ${s.serverName}`;
        const problems = problemsOf(s);
        if (problems.length > 0) return { name, status: "fail", message: `not started: ${formatMcpConfigError(problems[0]!)}`, details: problems.slice(1).map(formatMcpConfigError) };
        return upstreamCheck(name, s, timeoutMs);
      }),
    )),
  );
  return checks;
}

function describeUpstream(s: McpServerConfig): string {
  const u = s.upstream;
  const text = "url" in u ? u.url : [u.command, ...(u.args ?? [])].join(" ");
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

async function upstreamCheck(name: string, s: McpServerConfig, timeoutMs: number): Promise<Check> {
  const started = Date.now();
  try {
    const { tools, server } = await listUpstreamTools(s, timeoutMs);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const who = server ? ` (${server})` : "";
    return {
      name,
      status: tools.length > 0 ? "ok" : "warn",
      message: `\`${describeUpstream(s)}\`${who} answered: ${plural(tools.length, "tool")} in ${seconds} s${tools.length === 0 ? "; nothing to proxy" : ""}`,
      details: wrap(tools, 100),
      tools,
    };
  } catch (error) {
    const { message, stderr } = error as UpstreamError;
    return { name, status: "fail", message: `\`${describeUpstream(s)}\`: ${message}`, details: stderr ? stderr.split("\n").map((l) => `stderr: ${l}`) : undefined };
  }
}

interface UpstreamError extends Error {
  stderr?: string;
}

/**
 * Starts the upstream with the official MCP client (stdio, or Streamable HTTP for `url`), lists all its
 * tools (following cursors) and closes it, all within `timeoutMs`. The SDK is imported on demand so the
 * other commands (and the sidecar) do not load it.
 */
async function listUpstreamTools(s: McpServerConfig, timeoutMs: number): Promise<{ tools: string[]; server: string | undefined }> {
  const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const u = s.upstream;
  let stderrTail = "";
  let transport: InstanceType<typeof StdioClientTransport> | InstanceType<typeof StreamableHTTPClientTransport>;
  if ("url" in u) {
    transport = new StreamableHTTPClientTransport(new URL(u.url), { requestInit: { headers: u.headers ?? {} } });
  } else {
    const stdio = new StdioClientTransport({ command: u.command, args: u.args ?? [], env: u.env, cwd: u.cwd, stderr: "pipe" });
    stdio.stderr?.on("data", (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString("utf8")).slice(-4000)));
    transport = stdio;
  }
  const client = new Client({ name: "apie-doctor", version: "0.1.0" }, { capabilities: {} });
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
    // A hung upstream may ignore its stdin closing; don't wait the SDK's grace period for it.
    const pid = "pid" in transport ? transport.pid : null;
    if (pid !== null) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }, timeoutMs);
  let phase = "starting it";
  try {
    const options = { signal: abort.signal, timeout: timeoutMs };
    await client.connect(transport, options);
    phase = "tools/list";
    const tools: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, options);
      tools.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor !== undefined && tools.length < 10_000);
    const info = client.getServerVersion();
    return { tools, server: info ? `${info.name} ${info.version}` : undefined };
  } catch (error) {
    const code = errorCode(error);
    const cause = code !== undefined && !(error as Error).message.includes(code) ? `${(error as Error).message} (${code})` : (error as Error).message;
    const message = timedOut
      ? `no answer to ${phase === "starting it" ? "initialize" : phase} within ${timeoutMs / 1000} s`
      : /ENOENT/.test(cause)
        ? `cannot start it: ${"url" in u ? cause : `command "${u.command}" not found (${cause})`}`
        : code === "ECONNREFUSED" || code === "ENOTFOUND"
          ? `cannot reach it: ${code === "ECONNREFUSED" ? "connection refused (is the server running?)" : "unknown host"}`
          : /Connection closed/i.test(cause)
          ? `the upstream closed the connection while ${phase === "starting it" ? "starting" : "listing its tools"} (did it exit?): ${cause}`
          : `failed while ${phase}: ${cause}`;
    const failure: UpstreamError = new Error(message);
    const tail = stderrTail.trim().split("\n").slice(-8).join("\n");
    if (tail) failure.stderr = tail;
    throw failure;
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => undefined);
  }
}

/** The first errno-style code in an error's cause chain (fetch wraps ECONNREFUSED in "fetch failed"). */
function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== null && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function wrap(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line !== "" && line.length + 2 + w.length > width) {
      lines.push(line + ",");
      line = w;
    } else {
      line = line === "" ? w : `${line}, ${w}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
