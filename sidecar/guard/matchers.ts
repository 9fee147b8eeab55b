import picomatch from "picomatch";
import type { Bound, Matcher, MatcherObject, Scalar } from "./policySchema";
import { isRiskLevel, RISK_RANK } from "./types";

/**
 * Turns the matchers of apie.policy.json into predicates, once, at load time. A predicate receives the value
 * and whether it is present at all (so `exists: false` and `not` can match an absent field).
 */
export type ValuePredicate = (value: unknown, present: boolean) => boolean;

/** A policy problem found while compiling; `path` is relative to the matcher being compiled. */
export class MatcherCompileError extends Error {
  constructor(
    message: string,
    readonly path: readonly (string | number)[],
  ) {
    super(message);
  }
}

/** Regexes from the policy run on agent-supplied text; cap what they see so a slow pattern can't stall the guard. */
const MAX_REGEX_INPUT = 64 * 1024;

export function compileMatcher(matcher: Matcher): ValuePredicate {
  if (Array.isArray(matcher)) return inList(matcher);
  if (matcher === null || typeof matcher !== "object") return equalsScalar(matcher);
  return compileOperators(matcher);
}

function equalsScalar(expected: Scalar): ValuePredicate {
  return (value, present) => present && value === expected;
}

function inList(list: readonly Scalar[]): ValuePredicate {
  const set = new Set<unknown>(list);
  return (value, present) => present && set.has(value);
}

function compileOperators(m: MatcherObject): ValuePredicate {
  const checks: ValuePredicate[] = [];
  if (m.equals !== undefined) checks.push(equalsScalar(m.equals));
  if (m.in !== undefined) checks.push(inList(m.in));
  if (m.glob !== undefined) checks.push(globPredicate(m.glob));
  if (m.regex !== undefined) checks.push(regexPredicate(m.regex, m.flags ?? ""));
  for (const op of ["gt", "gte", "lt", "lte"] as const) {
    const bound = m[op];
    if (bound !== undefined) checks.push(comparePredicate(op, bound));
  }
  if (m.exists !== undefined) {
    const wanted = m.exists;
    checks.push((_value, present) => present === wanted);
  }
  if (m.not !== undefined) {
    let inner: ValuePredicate;
    try {
      inner = compileMatcher(m.not);
    } catch (error) {
      throw nest(error, "not");
    }
    checks.push((value, present) => !inner(value, present));
  }
  if (checks.length === 1) return checks[0]!;
  return (value, present) => {
    for (const check of checks) if (!check(value, present)) return false;
    return true;
  };
}

function globPredicate(glob: string): ValuePredicate {
  let re: RegExp;
  try {
    re = picomatch.makeRe(glob, { dot: true });
  } catch (error) {
    throw new MatcherCompileError(`invalid glob ${JSON.stringify(glob)}: ${(error as Error).message}`, ["glob"]);
  }
  return (value, present) => present && typeof value === "string" && re.test(value);
}

function regexPredicate(source: string, flags: string): ValuePredicate {
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (error) {
    throw new MatcherCompileError(`invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`, ["regex"]);
  }
  return (value, present) => {
    if (!present || typeof value !== "string") return false;
    return re.test(value.length > MAX_REGEX_INPUT ? value.slice(0, MAX_REGEX_INPUT) : value);
  };
}

type CompareOp = "gt" | "gte" | "lt" | "lte";

function comparePredicate(op: CompareOp, bound: Bound): ValuePredicate {
  const holds = COMPARE[op];
  if (typeof bound === "number") {
    return (value, present) => present && typeof value === "number" && holds(value, bound);
  }
  // A risk-level bound compares risk levels by rank: {"gte": "high"} matches high and critical.
  const rank = RISK_RANK[bound];
  return (value, present) => present && isRiskLevel(value) && holds(RISK_RANK[value], rank);
}

const COMPARE: Record<CompareOp, (a: number, b: number) => boolean> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
};

function nest(error: unknown, segment: string | number): unknown {
  if (error instanceof MatcherCompileError) return new MatcherCompileError(error.message, [segment, ...error.path]);
  return error;
}
