import { readFile } from "node:fs/promises";
import { Agent, request, type IncomingMessage } from "node:http";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_STATE_DIR, DISCOVERY_FILE } from "../protocol/discovery";
import { firstIssue } from "../protocol/issues";
import { DiscoverySchema, type Discovery } from "../protocol/v1";
import { isAlive } from "../server/stateDirLock";

export { isAlive };

/**
 * How `apie` commands find and talk to a running sidecar:
 * 1. `APIE_BASE_URL` plus a key from the environment (what the editor injects into its terminals, and what CI
 *    sets): `APIE_ADMIN_KEY` for commands that need admin rights, else `APIE_API_KEY`;
 * 2. else the discovery file `<state dir>/sidecar.json` that `apie sidecar` writes (default `./.apie`), whose
 *    pid must still be alive.
 * Every failure is a {@link SidecarError} whose message says what to do; commands let it reach main.ts,
 * which prints it and exits 1.
 */

export const DEFAULT_TIMEOUT_MS = 5000;

/** admin: resolving approvals, listing them, changing the mode. agent: everything an agent may do. */
export type Rights = "admin" | "agent";

export interface SidecarLocation {
  baseUrl: string;
  key: string;
  /** Which key `key` is. */
  keyKind: Rights;
  /** Where it came from, for messages: "APIE_BASE_URL" or the discovery file's path. */
  source: string;
  /** The sidecar's pid, when known (discovery file). */
  pid: number | undefined;
}

export class SidecarError extends Error {
  override readonly name = "SidecarError";
  constructor(
    message: string,
    /** HTTP status of a refused request; undefined when the sidecar was not reached. */
    readonly status?: number,
    /** The server's error code (`already_resolved`, `unknown_approval`, `admin_required`, …). */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface LocateOptions {
  need: Rights;
  /** Directory holding sidecar.json; default ./.apie. */
  stateDir?: string | undefined;
  /** What the command does, for the "… needs the admin key" message ("approving an approval"). */
  purpose?: string;
  env?: NodeJS.ProcessEnv;
}

export async function locateSidecar(options: LocateOptions): Promise<SidecarLocation> {
  const env = options.env ?? process.env;
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const baseUrl = env.APIE_BASE_URL?.trim();
  if (baseUrl) {
    try {
      new URL(baseUrl);
    } catch {
      throw new SidecarError(`APIE_BASE_URL is not a URL: "${baseUrl}"`);
    }
    const adminKey = env.APIE_ADMIN_KEY?.trim();
    const apiKey = env.APIE_API_KEY?.trim();
    if (options.need === "admin") {
      if (adminKey) return { baseUrl, key: adminKey, keyKind: "admin", source: "APIE_BASE_URL", pid: undefined };
      // The editor's terminals carry the agent key only; the discovery file of the same sidecar has the admin key.
      const discovered = await readDiscovery(stateDir).catch(() => undefined);
      if (discovered !== undefined && sameUrl(discovered.discovery.baseUrl, baseUrl) && isAlive(discovered.discovery.pid)) {
        return { baseUrl, key: discovered.discovery.adminKey, keyKind: "admin", source: discovered.file, pid: discovered.discovery.pid };
      }
      throw new SidecarError(
        `${options.purpose ?? "this command"} needs the sidecar's admin key: set APIE_ADMIN_KEY (the "adminKey" that \`apie sidecar\` ` +
          `prints, also in its ${DISCOVERY_FILE})` +
          (apiKey ? "; APIE_API_KEY is the agent key, which can never resolve or list approvals" : ""),
      );
    }
    const key = apiKey || adminKey;
    if (!key) throw new SidecarError("APIE_BASE_URL is set but no key is: set APIE_API_KEY (or APIE_ADMIN_KEY)");
    return { baseUrl, key, keyKind: apiKey ? "agent" : "admin", source: "APIE_BASE_URL", pid: undefined };
  }

  const found = await readDiscovery(stateDir);
  if (found === undefined) {
    throw new SidecarError(
      `no running sidecar found: APIE_BASE_URL is not set and ${path.join(stateDir, DISCOVERY_FILE)} does not exist; ` +
        "start one with `apie sidecar` (or run this in the folder it serves, or pass --state-dir DIR)",
    );
  }
  const { file, discovery } = found;
  if (!isAlive(discovery.pid)) {
    throw new SidecarError(`the sidecar recorded in ${file} (pid ${discovery.pid}) is not running; start it with \`apie sidecar\``);
  }
  const admin = options.need === "admin";
  return { baseUrl: discovery.baseUrl, key: admin ? discovery.adminKey : discovery.apiKey, keyKind: options.need, source: file, pid: discovery.pid };
}

/** The discovery file, validated; undefined when it does not exist. */
export async function readDiscovery(stateDir: string): Promise<{ file: string; discovery: Discovery } | undefined> {
  const file = path.join(stateDir, DISCOVERY_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new SidecarError(`cannot read ${file}: ${code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SidecarError(`${file} is not JSON; delete it and start the sidecar again with \`apie sidecar\``);
  }
  const parsed = DiscoverySchema.safeParse(json);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new SidecarError(`${file} is not a sidecar discovery file (${field || "file"}: ${message}); start the sidecar again with \`apie sidecar\``);
  }
  return { file, discovery: parsed.data };
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) });

/**
 * A small JSON client for one sidecar: node:http with a keep-alive agent (commands make several calls),
 * a deadline on every request, the server's `{"error": {code, message}}` turned into a {@link SidecarError}
 * carrying that message and the HTTP status.
 */
export class SidecarClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    readonly location: SidecarLocation,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  get<T = unknown>(urlPath: string): Promise<T> {
    return this.send("GET", urlPath, undefined) as Promise<T>;
  }

  post<T = unknown>(urlPath: string, body: unknown = {}): Promise<T> {
    return this.send("POST", urlPath, JSON.stringify(body)) as Promise<T>;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: "GET" | "POST", urlPath: string, payload: string | undefined): Promise<unknown> {
    const { baseUrl, key } = this.location;
    const url = new URL(urlPath, baseUrl);
    const what = `${method} ${url.pathname}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: "application/json", authorization: `Bearer ${key}` };
      if (payload !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      let timedOut = false;
      const req = request(url, { method, headers, agent: this.agent }, (res) => {
        readAll(res).then(
          (text) => {
            clearTimeout(timer);
            try {
              resolve(this.interpret(what, res.statusCode ?? 0, text));
            } catch (error) {
              reject(error);
            }
          },
          () => {
            clearTimeout(timer);
            reject(new SidecarError(timedOut ? this.timeoutMessage(what) : `the sidecar at ${baseUrl} closed the connection during ${what}`));
          },
        );
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, this.timeoutMs);
      req.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new SidecarError(timedOut ? this.timeoutMessage(what) : this.transportMessage(error)));
      });
      req.end(payload);
    });
  }

  private interpret(what: string, status: number, text: string): unknown {
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300) {
      if (json === undefined) throw new SidecarError(`${what}: the sidecar answered HTTP ${status} without a JSON body`, status);
      return json;
    }
    const body = ErrorBodySchema.safeParse(json);
    if (!body.success) throw new SidecarError(`${what}: HTTP ${status} from ${this.location.baseUrl} (not a sidecar error body)`, status);
    const { code, message } = body.data.error;
    if (status === 401) {
      const from = this.location.source === "APIE_BASE_URL" ? (this.location.keyKind === "admin" ? "APIE_ADMIN_KEY" : "APIE_API_KEY") : `the key in ${this.location.source}`;
      throw new SidecarError(`the sidecar at ${this.location.baseUrl} refused ${from}: ${message} (a sidecar makes new keys each time it starts)`, status, code);
    }
    throw new SidecarError(message, status, code);
  }

  private timeoutMessage(what: string): string {
    return `the sidecar at ${this.location.baseUrl} did not answer ${what} within ${this.timeoutMs / 1000} s`;
  }

  private transportMessage(error: NodeJS.ErrnoException): string {
    const { baseUrl, source } = this.location;
    const from = source === "APIE_BASE_URL" ? "APIE_BASE_URL" : source;
    switch (error.code) {
      case "ECONNREFUSED":
        return this.location.pid !== undefined
          ? `the sidecar recorded in ${source} (pid ${this.location.pid}) does not answer at ${baseUrl} (connection refused); if it stopped, start it with \`apie sidecar\``
          : `cannot reach the sidecar at ${baseUrl} (from ${from}): connection refused — is it running? start it with \`apie sidecar\``;
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return `cannot reach the sidecar at ${baseUrl} (from ${from}): unknown host`;
      case "ECONNRESET":
      case "EPIPE":
        return `the sidecar at ${baseUrl} (from ${from}) dropped the connection; is something else listening on that port?`;
      default:
        return `cannot reach the sidecar at ${baseUrl} (from ${from}): ${error.code ?? error.message}`;
    }
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("aborted", () => reject(new Error("aborted")));
    res.on("error", reject);
  });
}

/** Locate the sidecar and open a client; the caller closes it. */
export async function openSidecar(options: LocateOptions & { timeoutMs?: number }): Promise<SidecarClient> {
  return new SidecarClient(await locateSidecar(options), options.timeoutMs);
}

/** Run `fn` with a client, closing it afterwards. */
export async function withSidecar<T>(options: LocateOptions & { timeoutMs?: number }, fn: (client: SidecarClient) => Promise<T>): Promise<T> {
  const client = await openSidecar(options);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
