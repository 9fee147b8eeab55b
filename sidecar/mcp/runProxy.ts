import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ApieLogger } from "../sdk/types";
import { StdioClientSide } from "./clientSide";
import type { McpServerConfig } from "./configSchema";
import { HttpClientSide, type HttpSession } from "./httpClientSide";
import { ToolParamHeaders } from "./paramHeaders";
import { McpProxy, type ProxyEnd, type ToolCallHandler } from "./proxy";
import { SidecarLink } from "./sidecarLink";
import { ToolCallGuard } from "./toolCallGuard";
import { ToolCatalog } from "./toolCatalog";
import { ToolMetadataTable } from "./toolMetadata";
import { StatelessClientSide } from "./statelessClientSide";
import { createStatelessUpstream, createUpstream, describeUpstream } from "./upstream";

/**
 * `apie mcp proxy`, composed: one sidecar link (one `Apie` client, one run) and one guard for the process;
 * one pump per client session — over stdio exactly one, over HTTP one per `initialize`, each with its own
 * upstream. Resolves with the exit code:
 * - stdio: 0 when the host closes stdin (or SIGTERM/SIGINT); 1 when the upstream exits or cannot start
 *   (pending calls got an error first; stderr says why);
 * - http: runs until SIGTERM/SIGINT, then 0. An upstream that exits ends only its session (the host's next
 *   request gets 404 and it initializes again, which starts a new upstream).
 */

export interface ProxyRunOptions {
  config: McpServerConfig;
  transport: "stdio" | "http";
  /** For `--transport http`; 0 = any free port. */
  port: number;
  /** For `--transport http`: idle sessions close after this long (default 30 min). */
  sessionIdleTimeoutMs?: number | undefined;
  /** For `--transport http`: sessions open at once (default 64). */
  maxSessions?: number | undefined;
  runId: string | undefined;
  /** Where to look for `.apie/sidecar.json`. */
  stateDirs: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Log lines (stderr). */
  log: (line: string) => void;
  /** The ready line of `--transport http` (`{"url": …, "pid": …}`); stdout, which is not an MCP channel then. */
  announce: (line: string) => void;
}

export async function runProxy(options: ProxyRunOptions): Promise<number> {
  const { config } = options;
  const logger: ApieLogger = { warn: (message) => options.log(`[apie mcp] ${message}`) };
  const upstreamLabel = describeUpstream(config.upstream);
  const metadata = new ToolMetadataTable(config.tools);
  const catalog = new ToolCatalog(config.serverName, metadata, logger);
  // What the tools' schemas ask to see mirrored into Mcp-Param-* headers (paramHeaders.ts): learned from every
  // tools/list answer relayed, written toward a modern HTTP upstream, checked on a modern host's calls.
  const paramHeaders = new ToolParamHeaders();
  const link = new SidecarLink({ config, runId: options.runId, stateDirs: options.stateDirs, env: options.env, logger, upstreamLabel });
  link.onConnected((connection) => catalog.connected(connection));
  link.start();
  const guard = new ToolCallGuard({ config, metadata, catalog, link, logger });
  const handler: ToolCallHandler = {
    decideNow: (request) => guard.decideNow(request),
    decide: (request, ctx) => guard.decide(request, ctx),
    settled: (ticket, response) => guard.settled(ticket, response),
    toolsListed: (result) => {
      catalog.listed(result);
      paramHeaders.learn(result);
    },
  };
  // Session-less requests of the modern revisions (HTTP) share one pump, whose HTTP upstream gets their headers.
  const upstreamFor = (client: Transport) =>
    client instanceof StatelessClientSide ? createStatelessUpstream(config.upstream, paramHeaders, options.env) : createUpstream(config.upstream, options.env);
  const newProxy = (client: Transport) => new McpProxy(client, upstreamFor(client), handler, { upstreamLabel, logger });
  const stop = stopSignal();
  try {
    if (options.transport === "stdio") {
      const code = await serveStdio(newProxy(new StdioClientSide(process.stdin, process.stdout, logger)), stop.signalled, logger, upstreamLabel);
      await link.close(code === 0 ? "completed" : "failed");
      return code;
    }
    await serveHttp(options, newProxy, paramHeaders, stop.signalled, logger);
    await link.close("completed");
    return 0;
  } finally {
    stop.dispose();
  }
}

async function serveStdio(proxy: McpProxy, signalled: Promise<string>, logger: ApieLogger, upstreamLabel: string): Promise<number> {
  // Nothing but MCP messages may reach stdout: a stray console.log anywhere would corrupt the channel.
  console.log = console.error;
  try {
    await proxy.start();
  } catch (error) {
    logger.warn(`cannot start the upstream MCP server ${upstreamLabel}: ${(error as Error).message}`);
    await proxy.close();
    return 1;
  }
  logger.warn(`proxying ${upstreamLabel} over stdio`);
  const end = await Promise.race([proxy.done, signalled.then((signal): ProxyEnd => (logger.warn(`${signal}: shutting down`), { reason: "client_closed" }))]);
  await proxy.close();
  if (end.reason === "upstream_closed") {
    logger.warn(`${end.message}; stopping (exit 1)`);
    return 1;
  }
  return 0;
}

async function serveHttp(options: ProxyRunOptions, newProxy: (client: Transport) => McpProxy, paramHeaders: ToolParamHeaders, signalled: Promise<string>, logger: ApieLogger): Promise<void> {
  const label = describeUpstream(options.config.upstream);
  const side = await HttpClientSide.listen({
    port: options.port,
    logger,
    idleTimeoutMs: options.sessionIdleTimeoutMs,
    maxSessions: options.maxSessions,
    paramHeaders,
    openSession: async (transport): Promise<HttpSession> => {
      const proxy = newProxy(transport);
      try {
        await proxy.start();
      } catch (error) {
        await proxy.close();
        logger.warn(`cannot start the upstream MCP server ${label}: ${(error as Error).message}`);
        throw error;
      }
      void proxy.done.then((end) => {
        if (end.reason === "upstream_closed") logger.warn(`${end.message}; its session is closed`);
      });
      return { done: proxy.done, close: (reason) => proxy.close(reason), requesterGone: (id, reason) => proxy.requesterGone(id, reason) };
    },
  });
  logger.warn(`proxying ${label} at ${side.url}`);
  options.announce(JSON.stringify({ url: side.url, pid: process.pid }));
  const signal = await signalled;
  logger.warn(`${signal}: shutting down`);
  await side.close();
}

/** SIGTERM/SIGINT, watched from the start so a signal during startup still shuts down cleanly. */
function stopSignal(): { signalled: Promise<string>; dispose(): void } {
  let fire!: (signal: string) => void;
  const signalled = new Promise<string>((resolve) => (fire = resolve));
  const handlers = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const handler = () => fire(signal);
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return { signalled, dispose: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)) };
}
