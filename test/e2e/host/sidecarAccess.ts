import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * How the e2e tests reach the editor's sidecar, shared by the UI runner (test/e2e/run.ts, Node 20) and the
 * in-host suite (compiled into the extension host): polling, the discovery file, v1 API calls.
 */

/** Polls `probe` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `.apie/sidecar.json`: how agents (and these tests) find the window's sidecar. */
export interface Discovery {
  baseUrl: string;
  apiKey: string;
  adminKey: string;
  pid: number;
}

/** Waits for the discovery file to hold a complete JSON line (the sidecar writes it once it listens). */
export function readDiscovery(workspace: string, timeoutMs = 30_000): Promise<Discovery> {
  const file = path.join(workspace, ".apie/sidecar.json");
  return waitFor(
    `${file} (a complete JSON line)`,
    () => {
      try {
        const text = readFileSync(file, "utf8");
        return text.endsWith("\n") ? (JSON.parse(text) as Discovery) : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** A v1 API call with the agent key, as an agent makes it (`key`: another, e.g. the admin key). */
export async function api(d: Discovery, method: string, route: string, body?: unknown, key = d.apiKey): Promise<any> {
  const res = await fetch(d.baseUrl + route, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
