import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { firstIssue } from "../protocol/issues";

/** A command-line problem: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parse argv with node:util, then validate the values with zod so every bad flag is named in the error
 * (`--mode: expected one of monitor|enforce`).
 */
export function parseCommandArgs<S extends z.ZodType>(
  argv: readonly string[],
  options: Options,
  schema: S,
): z.infer<S> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const result = schema.safeParse({ ...parsed.values, positionals: parsed.positionals });
  if (!result.success) {
    const { field, message } = firstIssue(result.error);
    const name = field === "" ? "arguments" : field.startsWith("positionals") ? "argument" : `--${field}`;
    throw new UsageError(`${name}: ${message}`);
  }
  return result.data;
}
