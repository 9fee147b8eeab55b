import { readFileSync } from "node:fs";
import path from "node:path";

export const CLI = process.env.SIDECAR_CLI ?? path.resolve(__dirname, "../dist/cli.js");

/**
 * `node` arguments that start the sidecar the way the installed `apie` bin does: with the V8 flags of
 * dist/cli.js's shebang (`#!/usr/bin/env -S node --flags`), so benches measure what users run.
 */
export function sidecarNodeArgs(...args: string[]): string[] {
  return cliNodeArgs(CLI, ...args);
}

/** The same for the cli.js of any build. */
export function cliNodeArgs(cli: string, ...args: string[]): string[] {
  const shebang = readFileSync(cli, "utf8").split("\n", 1)[0]!;
  const flags = /^#!\S*env -S node (.*)$/.exec(shebang)?.[1]?.split(" ").filter(Boolean) ?? [];
  return [...flags, cli, ...args];
}
