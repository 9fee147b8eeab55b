/**
 * The small JSON path dialect argument rules use: `$`, `.name`, `["name"]`, `[0]`, `[*]`, `.*` and `..name`
 * (recursive descent). Paths are compiled once when the policy loads; selecting is allocation-light and
 * bounded (depth and result count), because arguments come from agents and may be hostile.
 */

type Step =
  | { kind: "prop"; name: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "descend"; name: string };

export interface CompiledPath {
  readonly source: string;
  readonly steps: readonly Step[];
}

export class JsonPathError extends Error {}

/**
 * How deep `..name` descends: past any depth a request may nest (protocol/v1 MAX_NESTING_DEPTH = 64, deeper
 * bodies never reach the engine), so nesting cannot hide an argument from a guardrail; still bounded.
 */
const MAX_DEPTH = 65;
const MAX_RESULTS = 256;
const IDENT = /^[A-Za-z_$][\w$-]*/;

export function compileJsonPath(source: string): CompiledPath {
  if (!source.startsWith("$")) throw new JsonPathError(`JSON path must start with "$": ${source}`);
  const steps: Step[] = [];
  let i = 1;
  while (i < source.length) {
    const rest = source.slice(i);
    if (rest.startsWith("..")) {
      const m = IDENT.exec(rest.slice(2));
      if (!m) throw new JsonPathError(`expected a name after ".." at offset ${i} in ${source}`);
      steps.push({ kind: "descend", name: m[0] });
      i += 2 + m[0].length;
    } else if (rest.startsWith(".*")) {
      steps.push({ kind: "wildcard" });
      i += 2;
    } else if (rest.startsWith(".")) {
      const m = IDENT.exec(rest.slice(1));
      if (!m) throw new JsonPathError(`expected a name after "." at offset ${i} in ${source}`);
      steps.push({ kind: "prop", name: m[0] });
      i += 1 + m[0].length;
    } else if (rest.startsWith("[")) {
      const close = findBracketEnd(source, i);
      const inner = source.slice(i + 1, close).trim();
      steps.push(parseBracket(inner, source));
      i = close + 1;
    } else {
      throw new JsonPathError(`unexpected "${rest[0]}" at offset ${i} in ${source}`);
    }
  }
  return { source, steps };
}

function findBracketEnd(source: string, open: number): number {
  let quote: string | null = null;
  for (let j = open + 1; j < source.length; j++) {
    const c = source[j];
    if (quote) {
      if (c === "\\") j++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "]") return j;
  }
  throw new JsonPathError(`unclosed "[" at offset ${open} in ${source}`);
}

function parseBracket(inner: string, source: string): Step {
  if (inner === "*") return { kind: "wildcard" };
  if (/^\d+$/.test(inner)) return { kind: "index", index: Number(inner) };
  const quoted = /^(["'])((?:\\.|(?!\1).)*)\1$/.exec(inner);
  if (quoted) return { kind: "prop", name: quoted[2]!.replace(/\\(.)/g, "$1") };
  throw new JsonPathError(`invalid bracket "[${inner}]" in ${source}`);
}

/** Every value the path selects in `root` (at most MAX_RESULTS). An empty array means "absent". */
export function selectJsonPath(path: CompiledPath, root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of path.steps) {
    const next: unknown[] = [];
    for (const value of current) {
      applyStep(step, value, next);
      if (next.length >= MAX_RESULTS) break;
    }
    if (next.length === 0) return next;
    current = next;
  }
  return current;
}

function applyStep(step: Step, value: unknown, out: unknown[]): void {
  if (value === null || typeof value !== "object") return;
  switch (step.kind) {
    case "prop": {
      if (!Array.isArray(value) && Object.hasOwn(value, step.name)) {
        out.push((value as Record<string, unknown>)[step.name]);
      }
      return;
    }
    case "index": {
      if (Array.isArray(value) && step.index < value.length) out.push(value[step.index]);
      return;
    }
    case "wildcard": {
      for (const child of Array.isArray(value) ? value : Object.values(value)) {
        out.push(child);
        if (out.length >= MAX_RESULTS) return;
      }
      return;
    }
    case "descend":
      descend(step.name, value, out, 0);
      return;
  }
}

function descend(name: string, value: unknown, out: unknown[], depth: number): void {
  if (depth > MAX_DEPTH || out.length >= MAX_RESULTS || value === null || typeof value !== "object") return;
  if (!Array.isArray(value) && Object.hasOwn(value, name)) out.push((value as Record<string, unknown>)[name]);
  for (const child of Array.isArray(value) ? value : Object.values(value)) descend(name, child, out, depth + 1);
}
