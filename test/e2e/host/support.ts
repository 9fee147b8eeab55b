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

export { api, readDiscovery, waitFor, type Discovery } from "./sidecarAccess";
