import path from "node:path";
import { z } from "zod";
import { DEFAULT_STATE_DIR } from "../../protocol/discovery";
import { verifyLog } from "../../store/auditVerify";
import { EVENT_LOG_FILE } from "../../store/eventLog";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";

export const auditUsage = `Usage:
  apie audit verify [--state-dir DIR | --file FILE] [--json]
Checks the sidecar's tamper-evident event log: every record's own hash, and that each record carries the
hash of the one before it (seq 1, 2, 3 … with no gaps). Prints the first broken record as
"line L (seq S): reason". Reads the file only; never changes it.
Options:
  --state-dir DIR   state directory holding ${EVENT_LOG_FILE} (default: ./.apie)
  --file FILE       the log file itself, instead of --state-dir
  --json            print the result as JSON on stdout
Exit codes: 0 chain intact, 1 broken chain or no log, 2 usage.`;

const VerifyArgs = z
  .object({
    "state-dir": z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    json: z.boolean().default(false),
    positionals: z.tuple([z.literal("verify")]),
  })
  .refine((a) => a["state-dir"] === undefined || a.file === undefined, { message: "give either --file or --state-dir, not both", path: ["file"] });

export async function auditCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] !== "verify") throw new UsageError(argv[0] === undefined ? "missing subcommand" : `unknown subcommand "${argv[0]}"`);
  const args = parseCommandArgs(argv, { "state-dir": { type: "string" }, file: { type: "string" }, json: { type: "boolean" } }, VerifyArgs);
  const file = args.file ?? path.join(args["state-dir"] ?? DEFAULT_STATE_DIR, EVENT_LOG_FILE);
  let result;
  try {
    result = await verifyLog(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") io.err(`${file}: no event log here (file not found)${args.file === undefined ? "; pass --state-dir DIR or --file FILE" : ""}\n`);
    else if (code === "EISDIR") io.err(`${file}: is a directory, not an event log\n`);
    else io.err(`${file}: cannot read: ${(error as Error).message}\n`);
    return 1;
  }
  if (args.json) io.out(JSON.stringify({ file, ...result }) + "\n");
  if (result.ok) {
    if (!args.json) io.out(`${file}: ok: ${result.records} records, chain intact (last hash ${result.lastHash})\n`);
    return 0;
  }
  const { line, seq, offset, reason } = result.firstBroken;
  if (!args.json) {
    io.err(
      `${file}: line ${line} (seq ${seq ?? "unreadable"}): ${reason}\n` +
        `  at byte offset ${offset}; the ${result.records} record(s) before it are intact\n`,
    );
  }
  return 1;
}
