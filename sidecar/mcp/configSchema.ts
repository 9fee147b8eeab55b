import { z } from "zod";
import { ModeSchema, RiskLevelSchema } from "../guard/policySchema";
import { ident } from "../protocol/wire";

/**
 * apie.mcp.json, Apie's documented format (apie-sh/docs `mcp/proxy.mdx`, `reference/configuration.mdx`):
 * one upstream server at the top level, or several under `servers` (chosen with `--server`), each entry
 * inheriting the top-level fields it does not set. Our additions: HTTP upstreams (`url`, `headers`),
 * per-tool metadata (`tools`), `guardFailureMode` and `refusal`.
 */

export const StdioUpstreamSchema = z.strictObject({
  command: z.string().min(1).describe("Program that starts the upstream MCP server (looked up on PATH)."),
  args: z.array(z.string()).optional().describe("Arguments of the command."),
  env: z.record(z.string(), z.string()).optional().describe("Extra environment variables for the upstream process."),
  cwd: z.string().optional().describe("Working directory of the upstream process (default: the config file's folder)."),
});

export const HttpUpstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe("Streamable HTTP endpoint of the upstream MCP server."),
  headers: z.record(z.string(), z.string()).optional().describe("Headers sent with every request (e.g. Authorization)."),
});

export const UpstreamSchema = z.union([StdioUpstreamSchema, HttpUpstreamSchema]);
export type Upstream = z.infer<typeof UpstreamSchema>;

/*
 * A value the proxy puts in every guard request and report it sends (agent key, environment, a tool's action
 * and resource) is the sidecar's own `ident` (protocol/wire.ts), bounded as the evaluate body bounds it: a
 * config the sidecar would refuse call after call is refused at load, naming the field. Unbounded, such a
 * value made the proxy's own plain allows run while the sidecar refused their reports: calls ran whose
 * decisions were never journaled.
 */

/** The most HTTP sessions one proxy may be told to serve at once (the file's `maxSessions`, `--max-sessions`). */
export const MAX_HTTP_SESSIONS = 10_000;

/** What the proxy tells the guard about a tool, where the tool's name alone says too little. */
export const ToolMetadataSchema = z.strictObject({
  action: z.strictObject({ type: ident().min(1), name: ident().optional() }).optional(),
  resource: z
    .strictObject({ type: ident().min(1), environment: ident().optional(), externalId: ident().optional() })
    .optional(),
  riskLevel: RiskLevelSchema.optional(),
});
export type ToolMetadata = z.infer<typeof ToolMetadataSchema>;

const serverFields = {
  agentKey: ident().min(1).optional().describe("Agent key the proxied tool calls are reported under."),
  agentName: ident().optional(),
  serverName: ident().min(1).optional().describe("Namespace of the tools: `filesystem.read_file`."),
  mode: ModeSchema.optional().describe("monitor (default): every call proceeds and is logged; enforce: blocks and approvals apply."),
  releaseMode: z.string().optional().describe('Legacy. "guard" is rejected: use mode: "enforce".'),
  environment: ident().optional().describe("Environment of the resources the tools touch (e.g. production)."),
  upstream: UpstreamSchema.optional(),
  redactKeys: z.array(z.string()).optional().describe("Argument keys whose values never reach the log."),
  approvalTimeoutMs: z.int().positive().optional().describe("How long a call waits for a human in enforce mode (default 300000)."),
  sessionIdleTimeoutMs: z
    .int()
    .positive()
    .optional()
    .describe("With --transport http: a session with no request for this long (ms) is closed with its upstream (default 1800000, 30 min; --session-idle-timeout overrides)."),
  maxSessions: z
    .int()
    .min(1)
    .max(MAX_HTTP_SESSIONS)
    .optional()
    .describe("With --transport http: sessions open at once, each with its own upstream (default 64; --max-sessions overrides). Past it, the idlest session no client holds on to is closed; with every one in use, an initialize gets 503."),
  guardFailureMode: z
    .enum(["fail_open", "fail_closed", "throw"])
    .optional()
    .describe("When the sidecar is unreachable: fail_open (default) forwards, fail_closed refuses (-32001), throw answers with an error naming the cause."),
  refusal: z
    .enum(["jsonrpc_error", "tool_error"])
    .optional()
    .describe("How a refused call is answered: a JSON-RPC error -32001/-32002 (default), or a tool result with isError: true."),
  tools: z
    .record(z.string(), ToolMetadataSchema)
    .optional()
    .describe("Per-tool metadata by tool name or glob (`write_*`): action, resource, riskLevel."),
};

export const McpServerEntrySchema = z.strictObject(serverFields);
export type McpServerEntry = z.infer<typeof McpServerEntrySchema>;

export const McpConfigFileSchema = z.strictObject({
  $schema: z.string().optional(),
  ...serverFields,
  servers: z.record(z.string().min(1), McpServerEntrySchema).optional().describe("Several upstream servers, chosen with --server NAME."),
});
export type McpConfigFile = z.infer<typeof McpConfigFileSchema>;

/** One server's settings after inheritance and defaults: what the proxy runs with. */
export interface McpServerConfig {
  serverName: string;
  agentKey: string;
  agentName: string | undefined;
  mode: "monitor" | "enforce";
  environment: string | undefined;
  upstream: Upstream;
  redactKeys: string[];
  approvalTimeoutMs: number;
  guardFailureMode: "fail_open" | "fail_closed" | "throw";
  refusal: "jsonrpc_error" | "tool_error";
  /** In file order; the first pattern that matches a tool name wins. */
  tools: { pattern: string; metadata: ToolMetadata }[];
  /** With --transport http, when the file sets them (else the proxy's defaults). */
  sessionIdleTimeoutMs?: number;
  maxSessions?: number;
}

export const DEFAULT_MCP_APPROVAL_TIMEOUT_MS = 300_000;
