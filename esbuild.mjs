// Bundles every entry point into dist/, then writes the JSON Schemas generated from the zod schemas.
//   node esbuild.mjs               development build (sourcemaps)
//   node esbuild.mjs --production  minified, no sources in maps
//   node esbuild.mjs --watch       rebuild on change
// Types are checked separately by `tsc --noEmit` (npm run typecheck); esbuild only strips them.
import * as esbuild from "esbuild";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");

/** Node-side bundles. The extension bundle (vscode external) joins this list with the extension. */
const entries = [
  // --optimize-for-size: V8 grows the heap less eagerly. The sidecar is long-lived and I/O-bound, and with it
  // RSS after 100 000 ingested events stays ~70 MB instead of ~105 MB (bench/footprint.bench.ts launches it
  // with these same flags, read from this line). `env -S` splits the flags (coreutils ≥ 8.30, macOS, BSD).
  { in: "sidecar/cli/main.ts", out: "cli", banner: "#!/usr/bin/env -S node --optimize-for-size", executable: true },
  { in: "sidecar/guard/index.ts", out: "guard" },
  { in: "sidecar/sdk/index.ts", out: "sdk" },
];

/**
 * zod re-exports all of its ~50 error-message locales (`z.locales`), which esbuild cannot tree-shake through
 * `export * as`. We only ever use English (zod's default), so `locales/index.js` becomes just `en`: the
 * bundles lose ~400 KB each, and the sidecar starts faster and smaller.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: args.importer.replace(/\/v4\/(classic|core)\/[^/]+$/, "/v4/locales/index.js"), namespace: "zod-locales" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path.replace(/index\.js$/, "en.js"))};`,
      resolveDir: process.cwd(),
    }));
  },
};

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
      plugins: [zodEnglishOnly],
    }),
  ),
);

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  await Promise.all(entries.filter((e) => e.executable).map((e) => chmod(`dist/${e.out}.js`, 0o755)));
  await writeSchemas();
}

async function writeSchemas() {
  const require = createRequire(import.meta.url);
  const { policyJsonSchema } = require("./dist/guard.js");
  await mkdir("media/schemas", { recursive: true });
  await writeFile("media/schemas/apie.policy.schema.json", JSON.stringify(policyJsonSchema(), null, 2) + "\n");
}
