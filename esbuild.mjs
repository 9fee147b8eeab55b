// Bundles every entry point into dist/, then writes the JSON Schemas generated from the zod schemas.
//   node esbuild.mjs               development build (sourcemaps)
//   node esbuild.mjs --production  minified, no sources in maps
//   node esbuild.mjs --watch       rebuild on change
// Types are checked separately by `tsc --noEmit` (npm run typecheck); esbuild only strips them.
import * as esbuild from "esbuild";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");

/** Node-side bundles. The extension bundle (vscode external) joins this list with the extension. */
const entries = [
  { in: "sidecar/cli/main.ts", out: "cli", banner: "#!/usr/bin/env node" },
  { in: "sidecar/guard/index.ts", out: "guard" },
];

const contexts = await Promise.all(
  entries.map((entry) =>
    esbuild.context({
      entryPoints: [{ in: entry.in, out: entry.out }],
      outdir: "dist",
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      sourcemap: production ? false : "linked",
      sourcesContent: false,
      minify: production,
      external: ["vscode"],
      // jsonc-parser's "main" is a UMD build whose dynamic requires esbuild cannot follow; its ESM build bundles.
      mainFields: ["module", "main"],
      banner: entry.banner ? { js: entry.banner } : undefined,
      logLevel: "warning",
    }),
  ),
);

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  await writeSchemas();
}

async function writeSchemas() {
  const require = createRequire(import.meta.url);
  const { policyJsonSchema } = require("./dist/guard.js");
  await mkdir("media/schemas", { recursive: true });
  await writeFile("media/schemas/apie.policy.schema.json", JSON.stringify(policyJsonSchema(), null, 2) + "\n");
}
