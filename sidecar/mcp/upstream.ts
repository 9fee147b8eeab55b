import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isInitializedNotification, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Upstream } from "./configSchema";
import { ModernFetch } from "./modernFetch";
import type { ToolParamHeaders } from "./paramHeaders";
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

/**
 * Streamable HTTP upstream whose close() also ends the server-side session, and which holds every message
 * sent after `notifications/initialized` until the standalone GET stream is open.
 *
 * Why: after the 202 to `notifications/initialized` the SDK opens the GET stream (on which the server sends
 * the requests and notifications related to no request: sampling, elicitation, roots) without waiting for
 * it, while the proxy forwards the client's next request at once. A server that answers that request by
 * sending a request of its own on the standalone stream lost it whenever the request won the race (about
 * half the fresh sessions, issue 14). The SDK server registers the stream before it answers the GET, so the
 * GET's answer (200, or 405 from a server without one, or a failure) is the moment the stream is usable.
 */
class HttpUpstream extends StreamableHTTPClientTransport {
  private readonly watch: StandaloneStreamWatch;
  /** Set while `notifications/initialized` is in flight and its GET stream not yet answered. */
  private held: Promise<void> | undefined;

  /** `modern`: session-less requests of the modern revisions go through ModernFetch, with these tools' headers. */
  constructor(url: URL, headers: Record<string, string>, options: { modern?: ToolParamHeaders } = {}) {
    const watch = new StandaloneStreamWatch(options.modern);
    super(url, { requestInit: { headers }, fetch: watch.fetch });
    this.watch = watch;
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.held !== undefined) await this.held;
    if (!isInitializedNotification(message)) return super.send(message, options);
    const sent = (async () => {
      this.watch.expectStandaloneStream();
      await super.send(message, options);
      await this.watch.standaloneStreamAnswered();
    })();
    const held = sent.catch(() => undefined).finally(() => {
      if (this.held === held) this.held = undefined;
    });
    this.held = held;
    return sent;
  }

  override async close(): Promise<void> {
    if (this.sessionId !== undefined) {
      const ended = this.terminateSession().catch(() => undefined);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    }
    await super.close();
  }
}

/** How long a held message waits for the GET stream at most: a safety bound, the GET normally answers at once. */
const STANDALONE_STREAM_WAIT_MS = 10_000;

/**
 * The `fetch` of an {@link HttpUpstream}: sees the 202 to `notifications/initialized` (after which the SDK
 * opens the standalone stream with a GET) and the answer to that GET.
 */
class StandaloneStreamWatch {
  /** Set for the session-less requests of the modern revisions (see ModernFetch). */
  private readonly modern: ModernFetch | undefined;

  constructor(params: ToolParamHeaders | undefined) {
    this.modern = params === undefined ? undefined : new ModernFetch(params);
  }

  private expecting = false;
  private answered: Promise<void> | undefined;
  private settle: (() => void) | undefined;

  expectStandaloneStream(): void {
    this.expecting = true;
    this.answered = undefined;
  }

  /** Resolves once the GET that follows the 202 is answered; at once when the server answered otherwise. */
  standaloneStreamAnswered(): Promise<void> {
    this.expecting = false;
    const answered = this.answered;
    if (answered === undefined) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, STANDALONE_STREAM_WAIT_MS)));
    return Promise.race([answered, bound]).finally(() => clearTimeout(timer));
  }

  readonly fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? "GET";
    if (method === "GET") {
      const settle = this.settle;
      this.settle = undefined;
      return fetch(input, init).finally(() => settle?.());
    }
    if (this.modern !== undefined) return this.modern.fetch(input, init);
    const response = await fetch(input, init);
    if (this.expecting && method === "POST" && response.status === 202 && isInitializedBody(init?.body)) {
      this.expecting = false;
      this.answered = new Promise<void>((resolve) => (this.settle = resolve));
    }
    return response;
  };
}

/** The transport toward the upstream for session-less requests of the modern revisions (see ModernFetch). */
export function createStatelessUpstream(upstream: Upstream, params: ToolParamHeaders, env: NodeJS.ProcessEnv = process.env): Transport {
  if ("url" in upstream) return new HttpUpstream(new URL(upstream.url), upstream.headers ?? {}, { modern: params });
  return createUpstream(upstream, env);
}

function isInitializedBody(body: unknown): boolean {
  if (typeof body !== "string") return false;
  try {
    return isInitializedNotification(JSON.parse(body));
  } catch {
    return false;
  }
}
