import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadPolicy } from "../../../sidecar/guard/policyLoader";
import { declareCapabilities } from "../../../sidecar/policy/policyFile";

describe("apie.policy.json edits: declare capabilities", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "apie-policyfile-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("adds an agent's capabilities, replacing earlier entries for the same tools only, and keeps the rest of the file", async () => {
    const file = path.join(dir, "apie.policy.json");
    writeFileSync(file, `{\n  "templates": { "prod-deploys": true },\n  "capabilities": {\n    "bot": [\n      { "tool": { "name": "a" }, "actions": ["read"], "resources": ["doc"] },\n      { "tool": { "name": "b" }, "actions": ["read"], "resources": ["doc"] }\n    ]\n  }\n}\n`);
    await declareCapabilities(file, "bot", [
      { tool: { name: "b" }, actions: ["write"], resources: ["doc"] },
      { tool: { name: "c" }, actions: ["execute"], resources: ["deployment_event"], environments: ["production"] },
    ]);
    const text = readFileSync(file, "utf8");
    const loaded = loadPolicy(text, file);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
    assert.deepEqual(loaded.document.capabilities?.bot?.map((c) => [c.tool.name, c.actions]), [["a", ["read"]], ["b", ["write"]], ["c", ["execute"]]]);
    assert.deepEqual(loaded.document.templates, { "prod-deploys": true });
  });

  it("creates the file when there is none", async () => {
    const file = path.join(dir, "apie.policy.json");
    await declareCapabilities(file, "bot", [{ tool: { name: "x" }, actions: ["read"], resources: ["doc"] }]);
    const loaded = loadPolicy(readFileSync(file, "utf8"), file);
    assert.ok(loaded.ok);
    assert.equal(loaded.document.capabilities?.bot?.length, 1);
  });
});
