import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

/** What the stdio MCP benches share: the upstream, the pass-through floor, the official client calling `echo`. */

export const EVERYTHING = path.resolve(__dirname, "../node_modules/@modelcontextprotocol/server-everything/dist/index.js");
/** The floor for any stdio MCP proxy: a process that copies lines both ways and does nothing else. */
export const PASS_THROUGH = path.resolve(__dirname, "fixtures/passThrough.cjs");

/**
 * How the paths take turns (stats.ts sampleInterleaved). Rounds: a multiple of 4 paths' balanced orders.
 * Calls per turn: 2 500, ~0.5 s, a burst far longer than an agent's between two model turns; the proxy's
 * reports go in the idle after it (ReportOutbox: once the calls pause), not in the next path's turn. A stream
 * that never pauses reports within every second, on the calls' time: MCP_BENCH_PER_ROUND=15000 (~3 s turns)
 * measures that case.
 */
export const TURNS = {
  rounds: Number(process.env.MCP_BENCH_ROUNDS ?? 12),
  perRound: Number(process.env.MCP_BENCH_PER_ROUND ?? 2_500),
  pauseMs: 400,
};

/** The templates every stdio bench's sidecar enables (the ones whose checks run on every call's arguments). */
export const BENCH_TEMPLATES = { "prod-deploys": true, "prod-shell": true, "secret-in-arguments": true };

/** apie.mcp.json for a proxy to server-everything over stdio. */
export function echoProxyConfig(serverName: string, mode: "monitor" | "enforce"): object {
  return { agentKey: "bench-mcp", serverName, mode, upstream: { command: process.execPath, args: [EVERYTHING, "stdio"] } };
}

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

/** The two paths every stdio bench measures against: server-everything directly, and through the pass-through. */
export async function connectBaselines(): Promise<[EchoClient, EchoClient]> {
  return [await connectEcho(process.execPath, [EVERYTHING, "stdio"]), await connectEcho(process.execPath, [PASS_THROUGH, process.execPath, EVERYTHING, "stdio"])];
}

/** CPU per call between two cpuMs readings, for display. */
export function cpuPerCall(before: number | undefined, after: number | undefined, calls: number): string {
  return before === undefined || after === undefined ? "n/a" : `${Math.round(((after - before) * 1000) / calls)} µs`;
}
