import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { listFiles, PackageManager } from "@vscode/vsce";

/**
 * package.json as the marketplace listing and the VSIX's contents (`vsce ls`): what a user meets before
 * installing, and exactly what ships. `vsce package` itself (no warnings) is test/integration/packaging.test.ts.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** VS Code's category enum (the workbench's extension manifest schema, 1.137+). */
const VSCODE_CATEGORIES = ["AI", "Azure", "Chat", "Data Science", "Debuggers", "Education", "Extension Packs", "Formatters", "Keymaps", "Language Packs", "Linters", "Machine Learning", "Notebooks", "Programming Languages", "SCM Providers", "Snippets", "Testing", "Themes", "Visualization", "Other"];

/** Everything the installed extension needs, and nothing else (.vscodeignore is an allowlist). */
const SHIPS = [/^package\.json$/, /^README\.md$/, /^CHANGELOG\.md$/, /^LICENSE$/, /^dist\/[A-Za-z]+\.js$/, /^media\/(apie\.svg|icon\.png)$/, /^media\/schemas\/[\w.]+\.schema\.json$/, /^media\/screenshots\/[\w-]+\.png$/, /^media\/walkthrough\/[\w-]+\.md$/];

describe("marketplace listing", () => {
  it("has categories VS Code knows (AI among them), keywords, repository, homepage, bugs and a gallery banner", () => {
    assert.ok(manifest.categories.includes("AI"), JSON.stringify(manifest.categories));
    for (const c of manifest.categories) assert.ok(VSCODE_CATEGORIES.includes(c), `unknown category ${c}`);
    assert.ok(!manifest.categories.includes("Other"), "Other says nothing");
    assert.ok(manifest.keywords.length >= 5 && manifest.keywords.length <= 30, "the marketplace takes up to 30 keywords");
    assert.match(manifest.repository.url, /^https:\/\/github\.com\/apie-sh\/apie-vscode$/);
    assert.match(manifest.homepage, /^https:\/\/github\.com\/apie-sh\/apie-vscode/);
    assert.match(manifest.bugs.url, /^https:\/\/github\.com\/apie-sh\/apie-vscode\/issues$/);
    assert.match(manifest.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(["dark", "light"].includes(manifest.galleryBanner.theme));
    assert.doesNotMatch(manifest.scripts.package, /--allow-missing-repository/, "a repository is declared: no warning to bypass");
  });

  it("the walkthrough's steps run contributed commands, complete on them, and their media exist", () => {
    const commands = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.deepEqual(
      walkthrough.steps.map((s: { id: string }) => s.id),
      ["guardAgents", "enableTemplates", "enforce", "tryApproval"],
    );
    for (const step of walkthrough.steps) {
      const linked = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);
      assert.equal(linked.length, 1, `${step.id}: one button`);
      assert.ok(commands.has(linked[0]), `${step.id}: ${linked[0]} is not a contributed command`);
      assert.ok(step.completionEvents.includes(`onCommand:${linked[0]}`), `${step.id}: completes when its button's command runs`);
      for (const event of step.completionEvents) assert.ok(commands.has(event.replace(/^onCommand:/, "")), `${step.id}: ${event}`);
      assert.ok(existsSync(path.join(ROOT, step.media.markdown)), step.media.markdown);
    }
  });

  it("vsce ls lists only what the installed extension needs: no sources, tests, maps or node_modules", async () => {
    const files = await listFiles({ cwd: ROOT, packageManager: PackageManager.None });
    const stray = files.filter((f) => !SHIPS.some((re) => re.test(f)));
    assert.deepEqual(stray, []);
    for (const needed of ["package.json", "README.md", "LICENSE", "media/icon.png", ...manifest.contributes.walkthroughs[0].steps.map((s: { media: { markdown: string } }) => s.media.markdown)]) {
      assert.ok(files.includes(needed), `${needed} is not in the VSIX`);
    }
    // dist/ exists once built (npm test builds first): then every bundle the manifest or esbuild names ships.
    if (existsSync(path.join(ROOT, "dist", "extension.js"))) {
      for (const bundle of ["extension", "sidecar", "cli", "hook", "languageClient", "mcpConfig"]) assert.ok(files.includes(`dist/${bundle}.js`), `dist/${bundle}.js`);
    }
  });
});
