import { hookMain } from "./hookProcess";

/**
 * Entry of dist/hook.js (esbuild.mjs): `node dist/hook.js --host claude-code --event pre --timeout 900`.
 * Exits 0 once the one answer is written, whatever happened (hookProcess.ts).
 */
hookMain(process.argv.slice(2)).then(
  () => process.exit(0),
  () => process.exit(0),
);
