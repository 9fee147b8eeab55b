import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The README is the marketplace page (what it does, screenshots, quick start, features) and starts with the two
 * commands that work on a fresh machine; the reference lives in docs/. Every relative link and image of both
 * resolves, so a moved section never leaves a dead link behind.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const docs = readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);

/** Markdown links and images outside code: `[text](target)` / `![alt](target)`, without a scheme. */
function relativeTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z+.-]*:/i.test(t) && !t.startsWith("#"));
}

describe("README and docs", () => {
  it("the README opens with the install-and-run command and the test command", () => {
    const firstBlock = /^# .+\n\n```bash\n([\s\S]*?)```/.exec(readme);
    assert.ok(firstBlock, "the README's first block after the title is the commands");
    const commands = firstBlock[1]!.split("\n").filter(Boolean).map((l) => l.replace(/\s+#.*$/, ""));
    assert.deepEqual(commands, ["npm ci && npm run build && node examples/demo.mjs", "npm test"]);
  });

  it("the README is a marketplace page: short, with screenshots, a quick start, and the reference linked from docs/", () => {
    assert.ok(readme.length < 12_000, `README is ${readme.length} bytes: the reference belongs in docs/`);
    assert.ok(relativeTargets(readme).filter((t) => t.startsWith("media/screenshots/")).length >= 3, "at least three screenshots");
    assert.match(readme, /^## Quick start$/m);
    for (const doc of docs) assert.ok(relativeTargets(readme).includes(doc), `${doc} is not linked from the README`);
    assert.ok(relativeTargets(readme).includes("docs/performance.md"), "the performance page is linked");
  });

  for (const file of ["README.md", ...docs]) {
    it(`every relative link and image in ${file} resolves`, () => {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      const dead = relativeTargets(text).filter((t) => !existsSync(path.resolve(ROOT, path.dirname(file), decodeURI(t.split("#")[0]!))));
      assert.deepEqual(dead, []);
    });
  }
});
