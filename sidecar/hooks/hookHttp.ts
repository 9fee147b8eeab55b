import { connect } from "node:net";

/**
 * The hook's channel to the sidecar: one JSON request at a time, no keep-alive (a hook
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

/**
 * `budgetMs`: how long the whole answer may take. `aliveMs` (POST): how long the sidecar may take to show it
 * is alive — the request is sent with `expect: 100-continue`, and node:http answers `100 Continue` as soon as
 * its event loop has read the request's head, before any route runs; only then is the body sent, and the
 * answer may take the rest of `budgetMs`. So a stopped or hung sidecar is detected within `aliveMs`, while a
 * live one that takes longer to decide (a block is answered once its record is synced; a loaded machine) is
 * not mistaken for a dead one.
 */
export interface GuardLink {
  post(urlPath: string, body: unknown, budgetMs: number, signal?: AbortSignal, aliveMs?: number): Promise<LinkReply>;
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

/**
 * HTTP/1.1 by hand over node:net, one request per connection (`connection: close`): the hook needs none of
 * node:http (agents, keep-alive, streaming bodies) and loading it costs a hook process more CPU than the
 * request itself on the 2-core test machine — one small JSON request to a sidecar on 127.0.0.1 whose answers
 * always carry content-length (server/http.ts). Chunked answers are read too. Only `http:` base URLs: the
 * sidecar never serves https.
 */
export function httpLink(baseUrl: string, key: string): GuardLink {
  const send = (method: "GET" | "POST", urlPath: string, body: unknown, budgetMs: number, signal?: AbortSignal, aliveMs?: number): Promise<LinkReply> =>
    new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(urlPath, baseUrl);
      } catch {
        reject(new LinkDown(`not a URL: ${baseUrl}`));
        return;
      }
      if (url.protocol !== "http:") {
        reject(new LinkDown(`${url.protocol} is not supported: the sidecar serves http on 127.0.0.1`));
        return;
      }
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
      let awaitingContinue = payload !== undefined && aliveMs !== undefined;
      const head =
        `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${key}\r\naccept: application/json\r\nconnection: close\r\n` +
        (payload === undefined ? "" : `content-type: application/json\r\ncontent-length: ${payload.length}\r\n`) +
        (awaitingContinue ? "expect: 100-continue\r\n" : "") +
        "\r\n";
      const started = Date.now();
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 80) });
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        socket.destroy();
        outcome();
      };
      const timeout = (ms: number, what: string) => setTimeout(() => finish(() => reject(new LinkDown(what))), ms);
      let timer = awaitingContinue ? timeout(Math.min(aliveMs!, budgetMs), `no answer within ${aliveMs} ms`) : timeout(budgetMs, `no answer within ${budgetMs} ms`);
      const onAbort = (): void => finish(() => reject(new LinkDown("cancelled", true)));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.setNoDelay(true);
      // write, not end: node:http closes a half-closed connection whose answer is not ready yet (a block is
      // answered after its record is synced, an approval wait after minutes), so the request would go unanswered.
      socket.on("connect", () => socket.write(payload === undefined || awaitingContinue ? head : Buffer.concat([Buffer.from(head, "latin1"), payload])));
      socket.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) return finish(() => reject(new LinkDown(`the answer is larger than ${MAX_REPLY_BYTES} bytes`)));
        chunks.push(chunk);
        const data = Buffer.concat(chunks);
        if (awaitingContinue && isContinue(data)) {
          // Alive: send the body; the answer has the rest of the budget.
          awaitingContinue = false;
          chunks.length = 0;
          clearTimeout(timer);
          timer = timeout(Math.max(0, budgetMs - (Date.now() - started)), `accepted, but no answer within ${budgetMs} ms`);
          socket.write(payload!);
          return;
        }
        const reply = parseResponse(data, false);
        if (reply !== undefined) finish(() => resolve(reply));
      });
      socket.on("end", () => {
        const reply = parseResponse(Buffer.concat(chunks), true);
        finish(() => (reply === undefined ? reject(new LinkDown("the connection closed before a whole answer")) : resolve(reply)));
      });
      // A server that answered and closed before taking the whole body (an early 413) makes the write fail:
      // its answer, if it arrived whole, is still the answer.
      socket.on("error", (error: NodeJS.ErrnoException) => {
        const reply = chunks.length === 0 ? undefined : parseResponse(Buffer.concat(chunks), false);
        finish(() => (reply !== undefined ? resolve(reply) : reject(new LinkDown(error.code ?? error.message))));
      });
    });
  return {
    post: (urlPath, body, budgetMs, signal, aliveMs) => send("POST", urlPath, body, budgetMs, signal, aliveMs),
    get: (urlPath, budgetMs, signal) => send("GET", urlPath, undefined, budgetMs, signal),
  };
}

/**
 * A whole HTTP/1.1 response in `data`, or undefined while it is incomplete (`ended`: the server closed the
 * connection, so what arrived is all there is). Exported for its unit test.
 */
export function parseResponse(data: Buffer, ended: boolean): LinkReply | undefined {
  const split = data.indexOf("\r\n\r\n");
  if (split < 0) return ended ? { status: 0, json: undefined } : undefined;
  const lines = data.subarray(0, split).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (status === null) return { status: 0, json: undefined };
  const code = Number(status[1]);
  // An interim 1xx head (100 Continue) is not the answer: the answer follows it.
  if (code < 200) return parseResponse(data.subarray(split + 4), ended);
  const headers = new Map(lines.slice(1).map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
  let rest = data.subarray(split + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    const body = dechunk(rest);
    if (body === undefined) return ended ? { status: code, json: undefined } : undefined;
    rest = body;
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!(rest.length >= length)) return ended ? { status: code, json: undefined } : undefined;
    rest = rest.subarray(0, length);
  } else if (!ended) {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(rest.toString("utf8"));
  } catch {
    json = undefined;
  }
  return { status: code, json };
}

/** Whether `data` is exactly one whole `100 Continue` head (node:http sends it alone, before the answer). */
function isContinue(data: Buffer): boolean {
  return /^HTTP\/1\.[01] 100 /.test(data.subarray(0, 13).toString("latin1")) && data.indexOf("\r\n\r\n") === data.length - 4;
}

/** A chunked body, or undefined until its last (zero-size) chunk has arrived. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(data.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size < 0) return Buffer.alloc(0);
    if (size === 0) return Buffer.concat(parts);
    if (data.length < eol + 2 + size + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
