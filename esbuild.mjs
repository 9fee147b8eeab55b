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
  // No V8 flags in the shebang on purpose: --optimize-for-size (RSS after 100k events ~70 MB instead of
  // ~100 MB) cost ~40% of the guard path's throughput here. Benches launch the sidecar with whatever flags
  // this line carries (bench/sidecarLaunch.ts), so a flag added here is measured.
  { in: "sidecar/cli/main.ts", out: "cli", banner: "#!/usr/bin/env node", executable: true },
  { in: "sidecar/guard/index.ts", out: "guard" },
  { in: "sidecar/sdk/index.ts", out: "sdk" },
  { in: "sidecar/lsp/main.ts", out: "sidecar" },
  // `apie hook`, run by coding agents once per tool call: its own small bundle (zod/mini, HTTP over node:net, the
  // dialects), so a hook starts nearly as fast as bare node (bench/hook.bench.ts).
  { in: "sidecar/hooks/main.ts", out: "hook" },
  // The extension host loads this; `vscode` stays external (it is the host's module).
  // Banner and footer stamp when the bundle starts and ends loading: activation is measured with its code loading.
  {
    in: "extension/extension.ts",
    out: "extension",
    banner: "globalThis.__apieBundleLoadStart = performance.now();",
    footer: "globalThis.__apieBundleLoadEnd = performance.now();",
    external: ["./languageClient.js", "./mcpConfig.js"],
  },
  // Libraries the extension needs only after activation, each in its own file next to it (required lazily):
  // vscode-languageclient (started right after activate returns) and the apie.mcp.json loader (zod).
  { in: "extension/languageClient.ts", out: "languageClient" },
  { in: "extension/mcpConfig.ts", out: "mcpConfig" },
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
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: args.importer.replace(/\/v4\/(classic|core|mini)\/[^/]+$/, "/v4/locales/index.js"), namespace: "zod-locales" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path.replace(/index\.js$/, "en.js"))};`,
      resolveDir: process.cwd(),
    }));
  },
};

/**
 * zod marks its packages `"sideEffects": false`, so esbuild drops the bare facade `zod/mini/index.js` and binds
 * imports straight to zod's internals. In the CLI bundle those internals are wrapped for lazy initialisation
 * (the MCP SDK, imported on demand, imports zod/v4-mini), and an eagerly evaluated importer of `zod/mini` (the
 * hook dialects, reached from `apie doctor`) then ran before zod/mini was initialised ("Class is not a
 * constructor" at startup). Declaring the facade side-effectful keeps its init call; it holds no code.
 */
const zodMiniInit = {
  name: "zod-mini-init",
  setup(build) {
    build.onResolve({ filter: /^zod\/mini$/ }, async (args) => {
      if (args.pluginData?.zodMiniInit) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { zodMiniInit: true } });
      return resolved.errors.length > 0 ? undefined : { path: resolved.path, sideEffects: true };
    });
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
      external: ["vscode", ...(entry.external ?? [])],
      // jsonc-parser's "main" is a UMD build whose dynamic requires esbuild cannot follow; its ESM build bundles.
      mainFields: ["module", "main"],
      banner: entry.banner ? { js: entry.banner } : undefined,
      footer: entry.footer ? { js: entry.footer } : undefined,
      logLevel: "warning",
      plugins: [zodEnglishOnly, zodMiniInit],
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
  const { policyJsonSchema, mcpConfigJsonSchema } = require("./dist/guard.js");
  await mkdir("media/schemas", { recursive: true });
  await writeFile("media/schemas/apie.policy.schema.json", JSON.stringify(policyJsonSchema(), null, 2) + "\n");
  await writeFile("media/schemas/apie.mcp.schema.json", JSON.stringify(mcpConfigJsonSchema(), null, 2) + "\n");
}
