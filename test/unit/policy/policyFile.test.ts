import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadPolicy } from "../../../sidecar/guard/policyLoader";
import { declareCapabilities, enableTemplate } from "../../../sidecar/policy/policyFile";

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

describe("apie.policy.json edits: enable a template never loosens the file", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-policyfile-"));
    file = path.join(dir, "apie.policy.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves a template already on byte for byte: its decision and approvalTimeoutMs stay (today: rewritten to true)", async () => {
    const text = `{\n  // reviewed\n  "templates": { "prod-shell": { "decision": "block", "approvalTimeoutMs": 60000 }, "prod-deploys": true }\n}\n`;
    writeFileSync(file, text);
    assert.equal(await enableTemplate(file, "prod-shell", undefined), false);
    assert.equal(await enableTemplate(file, "prod-deploys", undefined), false);
    assert.equal(readFileSync(file, "utf8"), text);
  });

  it("turns a disabled template on keeping its settings; turns an absent one on at its default", async () => {
    writeFileSync(file, `{\n  "templates": { "prod-shell": { "enabled": false, "decision": "block", "approvalTimeoutMs": 60000 } }\n}\n`);
    assert.equal(await enableTemplate(file, "prod-shell", undefined), true);
    assert.equal(await enableTemplate(file, "prod-deploys", undefined), true);
    const loaded = loadPolicy(readFileSync(file, "utf8"), file);
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.document.templates, { "prod-shell": { enabled: true, decision: "block", approvalTimeoutMs: 60000 }, "prod-deploys": true });
  });

  it("an explicit decision (the CLI's --decision, a human's choice) is set, keeping the other settings", async () => {
    writeFileSync(file, `{ "templates": { "prod-shell": { "decision": "block", "approvalTimeoutMs": 60000 }, "prod-deploys": false } }`);
    await enableTemplate(file, "prod-shell", "require_approval");
    await enableTemplate(file, "prod-deploys", "block");
    const loaded = loadPolicy(readFileSync(file, "utf8"), file);
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.document.templates, { "prod-shell": { decision: "require_approval", approvalTimeoutMs: 60000 }, "prod-deploys": { decision: "block" } });
  });
});
