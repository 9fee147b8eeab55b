import { z } from "zod";
import { DecisionSchema } from "../../guard/policySchema";
import { isTemplateKey, TEMPLATE_CATALOG, TEMPLATE_KEYS } from "../../guard/templateCatalog";
import { loadPolicy, formatPolicyError } from "../../guard/policyLoader";
import { parseCommandArgs, UsageError } from "../args";
import { enableTemplate, readPolicyText } from "../../policy/policyFile";
import type { Io } from "../io";

export const guardrailsUsage = `Usage:
  apie guardrails list                         templates, their default decisions and what they match
  apie guardrails enable KEY [--decision D]    turn a template on in apie.policy.json
Options:
  --policy FILE     policy file (default: apie.policy.json)
  --decision D      allow | warn | require_approval | block (default: the template's own)`;

const EnableArgs = z.object({
  policy: z.string().default("apie.policy.json"),
  decision: DecisionSchema.optional(),
  positionals: z.tuple([z.literal("enable"), z.string({ error: "missing template KEY" })]),
});

export async function guardrailsCommand(argv: readonly string[], io: Io): Promise<number> {
  const sub = argv[0];
  if (sub === "list") {
    for (const t of TEMPLATE_CATALOG) io.out(`${t.key.padEnd(36)} ${t.defaultDecision.padEnd(17)} ${t.name}\n    ${t.description}\n`);
    return 0;
  }
  if (sub !== "enable") throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand "${sub}"`);
  const args = parseCommandArgs(argv, { policy: { type: "string" }, decision: { type: "string" } }, EnableArgs);
  const key = args.positionals[1];
  if (!isTemplateKey(key)) throw new UsageError(`unknown template key "${key}" (known: ${TEMPLATE_KEYS.join(", ")})`);
  const changed = await enableTemplate(args.policy, key, args.decision);
  const result = loadPolicy((await readPolicyText(args.policy)) ?? "", args.policy);
  if (!result.ok) {
    io.err(`enabled ${key}, but ${args.policy} has errors:\n${result.errors.map(formatPolicyError).join("\n")}\n`);
    return 1;
  }
  if (!changed) io.out(`${key} is already enabled in ${args.policy}; its settings are unchanged\n`);
  else io.out(`enabled ${key} in ${args.policy} (${args.decision ?? "default decision"})\n`);
  return 0;
}
