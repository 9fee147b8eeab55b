import path from "node:path";
import { z } from "zod";
import { DEFAULT_STATE_DIR } from "../../protocol/discovery";
import { startSidecar } from "../../server/sidecar";
import { parseCommandArgs } from "../args";
import type { Io } from "../io";

export const sidecarUsage = `Usage:
  apie sidecar [--workspace DIR] [--port N] [--state-dir DIR] [--request-timeout-ms N]
Runs the local Apie sidecar on 127.0.0.1 (the Apie v1 HTTP API; point agents at it with APIE_BASE_URL and
APIE_API_KEY). When ready it prints one JSON line {"baseUrl","apiKey","adminKey","pid"} on stdout and writes
the same to DIR/.apie/sidecar.json (mode 0600). Logs go to stderr. SIGTERM/SIGINT stop it cleanly.
Options:
  --workspace DIR   folder holding apie.policy.json (default: current directory)
  --port N          port on 127.0.0.1; 0 = any free port (default 0)
  --state-dir DIR   discovery file and state (default: WORKSPACE/.apie)
  --request-timeout-ms N
                    how long a client may take to send one whole request, headers and body, before it is
                    answered 408 and its connection closed (default 30000; long-polls are not affected)`;

const SidecarArgs = z.object({
  workspace: z.string().default("."),
  port: z.coerce.number().int().min(0).max(65535).default(0),
  "state-dir": z.string().optional(),
  "request-timeout-ms": z.coerce.number().int().min(100).max(3_600_000).optional(),
  positionals: z.tuple([]),
});

export async function sidecarCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, { workspace: { type: "string" }, port: { type: "string" }, "state-dir": { type: "string" }, "request-timeout-ms": { type: "string" } }, SidecarArgs);
  const workspace = path.resolve(args.workspace);
  const log = (line: string) => io.err(`[apie sidecar] ${line}\n`);
  // Signals are watched before anything starts, so a SIGTERM that races the ready line still shuts down
  // cleanly (exit 0, discovery file removed) instead of killing the process with the default handler.
  let stopSignal: string | undefined;
  let onStop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stopSignal ??= signal;
      onStop!();
    });
  }
  const sidecar = await startSidecar({ workspace, port: args.port, stateDir: path.resolve(args["state-dir"] ?? path.join(workspace, DEFAULT_STATE_DIR)),
    requestTimeoutMs: args["request-timeout-ms"],
    log,
  });
  if (stopSignal === undefined) {
    io.out(JSON.stringify(sidecar.discovery) + "\n");
    log(`listening on ${sidecar.discovery.baseUrl} (workspace ${workspace})`);
  }
  await stopped;
  log(`${stopSignal}: shutting down`);
  await sidecar.close();
  return 0;
}
