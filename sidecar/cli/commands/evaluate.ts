import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { GuardEngine } from "../../guard/engine";
import { hostPathContext } from "../../guard/hostPaths";
import { formatPolicyError } from "../../guard/policyLoader";
import { ModeSchema } from "../../guard/policySchema";
import { GuardRequestSchema } from "../../guard/requestSchema";
import { firstIssue } from "../../protocol/issues";
import type { GuardDecision } from "../../guard/types";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { readPolicyText } from "../../policy/policyFile";

export const evaluateUsage = `Usage:
  apie evaluate [--policy FILE] [--mode monitor|enforce] REQUEST_JSON|-
Decides one tool call with the local engine (no sidecar) and prints the decision as JSON.
REQUEST_JSON: {"agentKey":"a","tool":{"name":"deploy.release"},"resource":{"environment":"production"}}
Exit codes: 0 proceed or warn, 3 blocked, 4 waits for approval, 1 bad policy, 2 usage.`;

const EvaluateArgs = z.object({
  policy: z.string().default("apie.policy.json"),
  mode: ModeSchema.optional(),
  positionals: z.tuple([z.string({ error: "missing REQUEST_JSON (or - for stdin)" })]),
});

export const EXIT_BY_ACTION: Record<GuardDecision["enforcement_action"], number> = {
  proceed: 0,
  warn: 0,
  block: 3,
  wait_for_approval: 4,
};

/**
 * Build an engine from a policy file on disk; a missing file means the defaults. The workspace is the policy
 * file's directory (outside-workspace-writes); no run has read a secret (no sidecar, no history).
 */
export async function engineFromPolicyFile(file: string, io: Io): Promise<GuardEngine | undefined> {
  const engine = new GuardEngine({ paths: hostPathContext(path.dirname(path.resolve(file))) });
  const text = await readPolicyText(file);
  if (text === undefined) return engine;
  const errors = engine.loadPolicyText(text, file);
  if (errors.length === 0) return engine;
  io.err(errors.map(formatPolicyError).join("\n") + "\n");
  return undefined;
}

export async function evaluateCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, { policy: { type: "string" }, mode: { type: "string" } }, EvaluateArgs);
  const source = args.positionals[0] === "-" ? readFileSync(0, "utf8") : args.positionals[0];
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw new UsageError(`REQUEST_JSON is not JSON: ${(error as Error).message}`);
  }
  const request = GuardRequestSchema.safeParse(json);
  if (!request.success) {
    const { field, message } = firstIssue(request.error);
    throw new UsageError(`REQUEST_JSON.${field}: ${message}`);
  }
  const engine = await engineFromPolicyFile(args.policy, io);
  if (engine === undefined) return 1;
  engine.setWorkspaceMode(args.mode);
  const decision = engine.evaluate(request.data);
  io.out(JSON.stringify(decision, null, 2) + "\n");
  return EXIT_BY_ACTION[decision.enforcement_action];
}
