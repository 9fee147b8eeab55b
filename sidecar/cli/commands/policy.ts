import { z } from "zod";
import { formatPolicyError, loadPolicy } from "../../guard/policyLoader";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { readPolicyText } from "../../policy/policyFile";

export const policyUsage = `Usage:
  apie policy check [--policy FILE]    validate apie.policy.json; errors as FILE:LINE:COL: field: message
Exit codes: 0 valid, 1 invalid or missing.`;

const CheckArgs = z.object({
  policy: z.string().default("apie.policy.json"),
  positionals: z.tuple([z.literal("check")]),
});

export async function policyCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] !== "check") throw new UsageError(argv[0] === undefined ? "missing subcommand" : `unknown subcommand "${argv[0]}"`);
  const args = parseCommandArgs(argv, { policy: { type: "string" } }, CheckArgs);
  const text = await readPolicyText(args.policy);
  if (text === undefined) {
    io.err(`${args.policy}: not found\n`);
    return 1;
  }
  const result = loadPolicy(text, args.policy);
  if (!result.ok) {
    io.err(result.errors.map(formatPolicyError).join("\n") + "\n");
    return 1;
  }
  const { policy } = result;
  const custom = policy.rules.filter((r) => r.source === "custom").length;
  io.out(`${args.policy}: valid — mode ${policy.mode}, templates [${policy.enabledTemplates.join(", ")}], ${custom} custom guardrail(s)\n`);
  return 0;
}
