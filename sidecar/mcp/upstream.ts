import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Upstream } from "./configSchema";
import { StdioUpstream } from "./stdioUpstream";

/**
 * The transport toward the upstream MCP server:
 * - `{command, args, env, cwd}` → `StdioUpstream`: the server is our child process; its stderr is
 *   ours (inherited), its environment ours plus `env` — minus the Apie keys, which are the proxy's alone;
 *   it exits when its stdin closes (SIGTERM, then SIGKILL, if it does not);
 * - `{url, headers}` → `StreamableHTTPClientTransport`: `headers` go with every request; the session id
 *   and, once the initialize answer passed, the protocol version header are the transport's business;
 *   closing ends the session (DELETE) first.
 */

/** Variables the upstream never inherits: they give access to the sidecar under the proxy's identity. */
const PRIVATE_ENV = ["APIE_API_KEY", "APIE_ADMIN_KEY"];

export function createUpstream(upstream: Upstream, env: NodeJS.ProcessEnv = process.env): Transport {
  if ("url" in upstream) return new HttpUpstream(new URL(upstream.url), upstream.headers ?? {});
  const inherited: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && !PRIVATE_ENV.includes(key)) inherited[key] = value;
  return new StdioUpstream({ command: upstream.command, args: upstream.args ?? [], env: { ...inherited, ...upstream.env }, cwd: upstream.cwd || undefined });
}

/** For messages: `npx -y @modelcontextprotocol/server-filesystem /tmp`, or the URL. */
export function describeUpstream(upstream: Upstream): string {
  if ("url" in upstream) return upstream.url;
  return [upstream.command, ...(upstream.args ?? [])].join(" ");
}

/** Streamable HTTP upstream whose close() also ends the server-side session. */
class HttpUpstream extends StreamableHTTPClientTransport {
  constructor(url: URL, headers: Record<string, string>) {
    super(url, { requestInit: { headers } });
  }

  override async close(): Promise<void> {
    if (this.sessionId !== undefined) {
      const ended = this.terminateSession().catch(() => undefined);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    }
    await super.close();
  }
}
