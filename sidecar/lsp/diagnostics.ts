import { DiagnosticSeverity, type Diagnostic } from "vscode-languageserver/node";
import type { JsonFileError } from "../guard/jsonDocument";
import { loadPolicy } from "../guard/policyLoader";
import { checkUpstreamCommand, loadMcpConfigText } from "../mcp/configLoader";
import type { ConfigFile } from "./configFiles";
import { invalidRegexErrors } from "./policyRegexes";
import { rangeOf, type PositionSource } from "./ranges";

/** One problem in a config file, positioned like the loaders' errors (offset/length). */
export interface ConfigProblem extends JsonFileError {
  severity: "error" | "warning";
}

/** Diagnostics carry this source; code actions only look at diagnostics from it. */
export const DIAGNOSTIC_SOURCE = "apie";

/**
 * apie.policy.json: everything the sidecar's loader refuses (syntax, duplicate keys, schema with did-you-mean
 * for template keys, guardrail key collisions, the first compile error), plus every invalid regex.
 */
export function policyProblems(text: string, file: string): ConfigProblem[] {
  const result = loadPolicy(text, file);
  const errors = result.ok ? [] : result.errors;
  return dedupe([...errors, ...invalidRegexErrors(text, file)].map((e) => ({ ...e, severity: "error" as const })));
}

/**
 * apie.mcp.json: what `apie mcp` would refuse (syntax, schema, legacy releaseMode, colliding server names,
 * tool globs, unresolvable servers) as errors, and what it would run but probably not as meant as warnings.
 * With `onDisk`, also warns about an upstream command that is not on PATH (or not there) and a bad cwd.
 */
export async function mcpProblems(text: string, config: Pick<ConfigFile, "file" | "onDisk">): Promise<ConfigProblem[]> {
  const result = loadMcpConfigText(text, config.file);
  const problems: ConfigProblem[] = [...(result.ok ? [] : result.errors), ...result.warnings];
  if (config.onDisk) problems.push(...(await checkUpstreamCommand({ file: config.file, text })));
  return dedupe(problems);
}

export function problemsOf(config: ConfigFile, text: string): Promise<ConfigProblem[]> {
  return config.kind === "policy" ? Promise.resolve(policyProblems(text, config.file)) : mcpProblems(text, config);
}

/** The problem as the editor shows it: `field: message` (the CLI's form), at the loader's offset/length. */
export function toDiagnostic(doc: PositionSource, problem: ConfigProblem): Diagnostic {
  return {
    range: rangeOf(doc, problem.offset, problem.length),
    severity: problem.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: DIAGNOSTIC_SOURCE,
    message: problem.field ? `${problem.field}: ${problem.message}` : problem.message,
  };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.offset}:${p.length}:${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.offset - b.offset);
}
