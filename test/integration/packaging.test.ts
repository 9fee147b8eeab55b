import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * `npm run package`'s vsce step, run for real on the built dist/: it packages with no warning (a missing
 * repository, a missing LICENSE, an unknown field would each print one). The production build before it is
 * left out (esbuild.mjs is the same either way); the VSIX goes to a temp dir.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const VSCE = path.join(ROOT, "node_modules", ".bin", "vsce");

describe("packaging (vsce package)", function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    if (!existsSync(path.join(ROOT, "dist", "extension.js"))) this.skip();
    dir = mkdtempSync(path.join(tmpdir(), "apie-vsix-"));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("packages with the flags of `npm run package` and prints no warning", () => {
    const script: string = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.package;
    const flags = script.split("vsce package")[1]!.trim().split(/\s+/).filter((f, i, all) => f !== "-o" && all[i - 1] !== "-o");
    const vsix = path.join(dir, "apie.vsix");
    const r = spawnSync(VSCE, ["package", ...flags, "-o", vsix], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, output);
    assert.ok(existsSync(vsix), output);
    assert.doesNotMatch(output, /WARNING|warn/i, output);
  });
});
