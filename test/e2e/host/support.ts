// Helpers of the extension-host tests (they run inside code-server's extension host, Node 24).
import { readFileSync } from "node:fs";
import path from "node:path";

/** Starts every line the suite prints; the runner (test/e2e/hostRun.ts) shows those and hides the workbench's. */
export const HOST_MARK = "[apie-host]";

/** What test/e2e/hostRun.ts passes through code-server's environment (the extension host inherits it). */
export interface HostConfig {
  /** The repository (the extension under development): dist/sdk.js and test/e2e/host/agent.mjs live there. */
  root: string;
  /** A Node for the SDK agent: the runner's own (20, CI's); the extension host's is code-server's 24. */
  node: string;
  /** Where index.ts writes the results as JSON. */
  results?: string;
}

export function hostConfig(): HostConfig {
  const given = JSON.parse(process.env.E2E_HOST ?? "{}") as Partial<HostConfig>;
  return { root: given.root ?? path.resolve(__dirname, "../../.."), node: given.node ?? process.execPath, ...(given.results ? { results: given.results } : {}) };
}

export function say(text: string): void {
  for (const line of text.split("\n")) console.log(`${HOST_MARK} ${line}`);
}

let currentTest = "";
const notes = new Map<string, string[]>();

export function setCurrentTest(title: string): void {
  currentTest = title;
}

/** A figure the test measured (timings, ids): printed under the test's line and kept in the results file. */
export function note(text: string): void {
  notes.set(currentTest, [...(notes.get(currentTest) ?? []), text]);
  say(`      · ${text}`);
}

export function notesOf(title: string): string[] {
  return notes.get(title) ?? [];
}

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

/** A v1 API call with the agent key, as an agent makes it. */
export async function api(d: Discovery, method: string, route: string, body?: unknown): Promise<any> {
  const res = await fetch(d.baseUrl + route, {
    method,
    headers: { authorization: `Bearer ${d.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
