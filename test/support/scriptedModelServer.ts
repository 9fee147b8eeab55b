import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { close, listen } from "./standInServer";

/**
 * The shared plumbing of the scripted model endpoints (scriptedAnthropic.ts, scriptedResponses.ts): a real HTTP
 * server on 127.0.0.1 that reads each request whole, records it (method, path, parsed JSON body) so a test can
 * assert what the model RECEIVED, and hands it to a route. Unknown routes answer 404 and are recorded too, so a
 * CLI calling something the stand-in does not know shows up in `requests` instead of hanging.
 *
 * This is the one stand-in of the agent-host tests: everything else (the CLI, its hook, our sidecar) is real.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export type Route = (req: RecordedRequest, res: ServerResponse) => void;

export interface ScriptedServer {
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Upper bound on a recorded request body: a model request with a whole transcript stays well below it. */
const MAX_BODY = 16 * 1024 * 1024;

export async function startScriptedServer(route: (path: string, method: string) => Route | undefined): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((text) => {
        const path = (req.url ?? "/").split("?")[0]!;
        const recorded: RecordedRequest = { method: req.method ?? "GET", path, body: parseJson(text) };
        requests.push(recorded);
        const handler = route(path, recorded.method);
        if (!handler) return sendJson(res, 404, { error: { type: "not_found_error", message: `scripted model: no route ${recorded.method} ${path}` } });
        try {
          handler(recorded, res);
        } catch (err) {
          // A request the script cannot serve (bad shape, script exhausted) fails loudly to the CLI and stays
          // recorded; the test then fails on what the model received, not on a hang.
          sendJson(res, 400, { error: { type: "invalid_request_error", message: `scripted model: ${(err as Error).message}` } });
        }
      })
      .catch((err: Error) => sendJson(res, 413, { error: { type: "invalid_request_error", message: err.message } }));
  });
  const baseUrl = await listen(server);
  return { baseUrl, requests, close: () => close(server) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Writes a whole server-sent-event stream: one `event:`/`data:` pair per event, then ends the response. */
export function sendSse(res: ServerResponse, events: ReadonlyArray<{ event: string; data: unknown }>): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const e of events) res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("scripted model: request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
