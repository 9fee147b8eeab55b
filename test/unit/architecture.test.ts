import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The layering of DESIGN.md, checked on the sources: the editor reaches the sidecar only through the protocol
 * (and the pure modules it legitimately shares: guard types and templates, the policy file editor, the hook
 * installers), never through the store or the server — not directly and not through a module it imports.
 * And sidecar/ never imports `vscode`.
 */

const ROOT = path.resolve(__dirname, "..", "..");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every module specifier of a file (imports, `import type`, re-exports, `require`, dynamic `import()`). */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((i) => i.fileName);
}

function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => existsSync(candidate));
}

/** Each source file reachable from `roots`, mapped to the chain of imports that reaches it. */
function reachable(roots: readonly string[]): Map<string, string[]> {
  const chains = new Map<string, string[]>(roots.map((f) => [f, [f]]));
  const queue = [...roots];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const spec of specifiers(file)) {
      const target = resolveRelative(file, spec);
      if (target === undefined || chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      queue.push(target);
    }
  }
  return chains;
}

const rel = (f: string): string => path.relative(ROOT, f);

describe("architecture", () => {
  it("extension/ reaches no module of sidecar/store or sidecar/server, directly or through its imports", () => {
    const chains = reachable(tsFiles(path.join(ROOT, "extension")));
    const forbidden = [...chains.entries()].filter(([file]) => /^sidecar\/(store|server)\//.test(rel(file)));
    assert.deepEqual(
      forbidden.map(([, chain]) => chain.map(rel).join(" → ")),
      [],
      "the editor talks to the sidecar through sidecar/protocol (LSP custom methods), not its internals",
    );
    // The scan itself works: it does see the sidecar modules the editor legitimately uses.
    for (const used of ["sidecar/protocol/lsp.ts", "sidecar/protocol/reportMarkdown.ts", "sidecar/hooks/install/index.ts"]) {
      assert.ok(chains.has(path.join(ROOT, used)), `${used} is reachable from extension/`);
    }
  });

  it("sidecar/ never imports vscode", () => {
    const offenders = tsFiles(path.join(ROOT, "sidecar")).filter((f) => specifiers(f).some((s) => s === "vscode" || s.startsWith("vscode/")));
    assert.deepEqual(offenders.map(rel), []);
  });

  it("the discovery contract is defined once, in sidecar/protocol, and read from there", () => {
    const sources = tsFiles(path.join(ROOT, "sidecar")).map((f) => ({ file: rel(f), text: readFileSync(f, "utf8") }));
    const definitions = sources.filter(({ text }) => /\bexport const (DISCOVERY_FILE|DEFAULT_STATE_DIR|STATE_DIR)\b/.test(text)).map((s) => s.file);
    assert.deepEqual(definitions, ["sidecar/protocol/discovery.ts"]);
    const readers = sources.filter(({ text }) => /\bDISCOVERY_FILE\b/.test(text)).map((s) => s.file);
    assert.ok(readers.includes("sidecar/mcp/sidecarLink.ts") && readers.includes("sidecar/hooks/locate.ts"), readers.join(", "));
  });

  it("sidecar/protocol is pure: no node built-ins, no store or server", () => {
    const offenders = tsFiles(path.join(ROOT, "sidecar", "protocol")).flatMap((f) =>
      specifiers(f)
        .filter((s) => s.startsWith("node:") || /\/(store|server)\//.test(s))
        .map((s) => `${rel(f)} imports ${s}`),
    );
    assert.deepEqual(offenders, []);
  });
});
