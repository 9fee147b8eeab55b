import { request } from "node:http";

/**
 * The hook's channel to the sidecar: one JSON request at a time over node:http, no keep-alive (a hook
 * process makes one or two requests and exits; a kept-alive socket would only hold the exit up), no SDK, no
 * WebSocket. Every request has a budget: a sidecar that is down, unreachable, or stopped (SIGSTOP: the kernel
 * still accepts the connection, nobody answers) costs at most that long.
 *
 * What comes back is either a {@link LinkReply} — the sidecar answered, whatever the status — or a thrown
 * {@link LinkDown}: no answer. Only the second is "guard unavailable"; an error the sidecar answered is an
 * answer (adapter.ts denies on it, never allows).
 */
export interface LinkReply {
  status: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  json: unknown;
}

export interface GuardLink {
  post(urlPath: string, body: unknown, budgetMs: number, signal?: AbortSignal): Promise<LinkReply>;
  get(urlPath: string, budgetMs: number, signal?: AbortSignal): Promise<LinkReply>;
}

export class LinkDown extends Error {
  override readonly name = "LinkDown";
  constructor(
    message: string,
    /** The caller's signal ended the request (the host cancelled the hook). */
    readonly aborted = false,
  ) {
    super(message);
  }
}

/** A sidecar answer larger than this is not a guard answer; reading stops there. */
const MAX_REPLY_BYTES = 1024 * 1024;

export function httpLink(baseUrl: string, key: string): GuardLink {
  const send = (method: "GET" | "POST", urlPath: string, body: unknown, budgetMs: number, signal?: AbortSignal): Promise<LinkReply> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string | number> = { accept: "application/json", authorization: `Bearer ${key}`, connection: "close" };
      if (payload !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      let url: URL;
      try {
        url = new URL(urlPath, baseUrl);
      } catch {
        reject(new LinkDown(`not a URL: ${baseUrl}`));
        return;
      }
      const req = request(url, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy();
            finish(() => resolve({ status: res.statusCode ?? 0, json: undefined }));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          finish(() => resolve({ status: res.statusCode ?? 0, json }));
        });
        res.on("error", (error) => finish(() => reject(new LinkDown(`the answer broke off: ${error.message}`))));
      });
      const timer = setTimeout(() => {
        finish(() => reject(new LinkDown(`no answer within ${budgetMs} ms`)));
        req.destroy();
      }, budgetMs);
      const onAbort = (): void => {
        finish(() => reject(new LinkDown("cancelled", true)));
        req.destroy();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (error: NodeJS.ErrnoException) => finish(() => reject(new LinkDown(error.code ?? error.message))));
      req.end(payload);
    });
  return {
    post: (urlPath, body, budgetMs, signal) => send("POST", urlPath, body, budgetMs, signal),
    get: (urlPath, budgetMs, signal) => send("GET", urlPath, undefined, budgetMs, signal),
  };
}
