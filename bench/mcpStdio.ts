import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

/** What the stdio MCP benches share: the upstream, the pass-through floor, the official client calling `echo`. */

export const EVERYTHING = path.resolve(__dirname, "../node_modules/@modelcontextprotocol/server-everything/dist/index.js");
/** The floor for any stdio MCP proxy: a process that copies lines both ways and does nothing else. */
export const PASS_THROUGH = path.resolve(__dirname, "fixtures/passThrough.cjs");

export interface EchoClient {
  call(): Promise<void>;
  close(): Promise<void>;
  /** The process the client spawned: the upstream itself, the pass-through, or the proxy. */
  pid: number;
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; undefined elsewhere). Unlike
 * latency, it hardly moves with the machine's load: on a shared machine it is the steadier measure of what
 * each hop costs.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

export async function connectEcho(command: string, args: string[], env?: Record<string, string>): Promise<EchoClient> {
  const transport = new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...env }, stderr: "ignore" });
  const client = new Client({ name: "apie-bench", version: "1.0.0" });
  await client.connect(transport);
  return {
    pid: (transport as unknown as { pid: number | null }).pid ?? 0,
    async call() {
      const result = await client.callTool({ name: "echo", arguments: { message: "how do I rotate keys" } });
      if (result.isError) throw new Error(`echo failed: ${JSON.stringify(result)}`);
    },
    close: () => client.close(),
  };
}
