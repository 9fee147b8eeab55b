import path from "node:path";
import { z } from "zod";
import { MAX_HTTP_SESSIONS, type McpServerConfig, type Upstream } from "../../mcp/configSchema";
import { parseDuration } from "../../mcp/duration";
import { ident } from "../../protocol/wire";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";

export const mcpUsage = `Usage:
  apie mcp proxy [--config apie.mcp.json] [--server NAME] [--transport stdio|http] [--port N]
                 [--session-idle-timeout 30m] [--max-sessions N]
                 [--mode monitor|enforce] [--approval-timeout 10m|30s|500ms|N]
                 [--upstream-command CMD] [--upstream-arg ARG]... [--run-id ID]
Runs an MCP server behind Apie's guardrails: put this command where the host (.vscode/mcp.json, Claude
Desktop, Cursor "mcpServers") had the server's own command. Every tools/call is decided by the sidecar
(allow → forwarded; block → JSON-RPC error -32001; require_approval in enforce mode → waits for a human,
then forwarded or -32002); everything else passes through untouched. Over stdio, stdout carries MCP
messages only; logs go to stderr.
The sidecar: APIE_BASE_URL + APIE_API_KEY, else .apie/sidecar.json next to the config file or in the
current directory (looked for again while none is found; meanwhile guardFailureMode decides).
Options (flags override the file):
  --config FILE              apie.mcp.json (default: ./apie.mcp.json)
  --server NAME              which entry of "servers" to run (default: the file's serverName)
  --transport stdio|http     how the host connects (default stdio); http serves Streamable HTTP at
                             http://127.0.0.1:PORT/mcp and prints {"url","pid"} on stdout when ready
  --port N                   port for --transport http (default 0: any free port)
  --session-idle-timeout T   --transport http: a session with no request for this long is closed with its
                             upstream; the client's next request gets 404 and it initializes again (default 30m)
  --max-sessions N           --transport http: sessions open at once, each with its own upstream (default 64);
                             past it the idlest session no client holds on to is closed, else 503
  --mode monitor|enforce     monitor: everything is forwarded, would-block logged; enforce: decisions apply
  --approval-timeout T       how long a call waits for approval: 10m, 30s, 500ms, or milliseconds
  --upstream-command CMD     start this upstream server instead of the file's "upstream"
  --upstream-arg ARG         an argument of --upstream-command (repeat for several)
  --run-id ID                report the calls under this run (default: APIE_RUN_ID, else a new run)
Exit codes: 0 the host closed the connection (or SIGTERM/SIGINT); 1 the upstream exited or could not start,
or the config is invalid; 2 usage.`;

const DurationArg = z
  .string()
  .transform((text, ctx) => parseDuration(text) ?? (ctx.addIssue({ code: "custom", message: `"${text}" is not a duration (10m, 30s, 500ms, or milliseconds)` }), z.NEVER));

/** A run id goes into every guard request: bounded as the sidecar bounds it, or every call would be refused. */
const RunIdSchema = ident().min(1);

const McpProxyArgs = z
  .object({
    config: z.string().min(1).optional(),
    server: z.string().min(1).optional(),
    transport: z.enum(["stdio", "http"]).default("stdio"),
    port: z.coerce.number().int().min(0).max(65535).optional(),
    mode: z.enum(["monitor", "enforce"]).optional(),
    "approval-timeout": DurationArg.optional(),
    "session-idle-timeout": DurationArg.optional(),
    "max-sessions": z.coerce.number().int().min(1).max(MAX_HTTP_SESSIONS).optional(),
    "upstream-command": z.string().min(1).optional(),
    "upstream-arg": z.array(z.string()).optional(),
    "run-id": RunIdSchema.optional(),
    positionals: z.tuple([z.literal("proxy", { error: 'expected the subcommand "proxy"' })], { error: 'expected the subcommand "proxy"' }),
  })
  .superRefine((args, ctx) => {
    for (const flag of ["port", "session-idle-timeout", "max-sessions"] as const) {
      if (args[flag] !== undefined && args.transport !== "http") ctx.addIssue({ code: "custom", path: [flag], message: "only with --transport http" });
    }
    if (args["upstream-arg"] !== undefined && args["upstream-command"] === undefined) {
      ctx.addIssue({ code: "custom", path: ["upstream-arg"], message: "only with --upstream-command" });
    }
  });

const OPTIONS = {
  config: { type: "string" },
  server: { type: "string" },
  transport: { type: "string" },
  port: { type: "string" },
  mode: { type: "string" },
  "approval-timeout": { type: "string" },
  "session-idle-timeout": { type: "string" },
  "max-sessions": { type: "string" },
  "upstream-command": { type: "string" },
  "upstream-arg": { type: "string", multiple: true },
  "run-id": { type: "string" },
} as const;

export async function mcpCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] !== "proxy") throw new UsageError(argv[0] === undefined ? "missing subcommand (proxy)" : `unknown subcommand "${argv[0]}"`);
  const args = parseCommandArgs(argv, OPTIONS, McpProxyArgs);
  const configFile = path.resolve(args.config ?? "apie.mcp.json");
  const upstream: Upstream | undefined = args["upstream-command"] === undefined ? undefined : { command: args["upstream-command"], args: args["upstream-arg"] ?? [] };
  // The proxy's modules (MCP SDK, config loader) load only for this command: other commands start faster.
  const [{ loadProxyConfig }, { runProxy }, { stateDirsFor }] = await Promise.all([import("../../mcp/proxyConfig"), import("../../mcp/runProxy"), import("../../mcp/sidecarLink")]);
  const fromFile = await loadProxyConfig(configFile, args.server, upstream);
  const config: McpServerConfig = {
    ...fromFile,
    ...(args.mode ? { mode: args.mode } : {}),
    ...(args["approval-timeout"] ? { approvalTimeoutMs: args["approval-timeout"] } : {}),
  };
  return runProxy({
    config,
    transport: args.transport,
    port: args.port ?? 0,
    sessionIdleTimeoutMs: args["session-idle-timeout"] ?? config.sessionIdleTimeoutMs,
    maxSessions: args["max-sessions"] ?? config.maxSessions,
    runId: args["run-id"] ?? runIdFromEnv(process.env.APIE_RUN_ID),
    stateDirs: stateDirsFor(configFile),
    env: process.env,
    log: (line) => io.err(line + "\n"),
    announce: (line) => io.out(line + "\n"),
  });
}

/** `APIE_RUN_ID`, checked as `--run-id` is (empty or blank: none). */
function runIdFromEnv(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  const parsed = RunIdSchema.safeParse(trimmed);
  if (!parsed.success) throw new UsageError(`APIE_RUN_ID: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
