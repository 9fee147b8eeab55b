import { strict as assert } from "node:assert";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyEdits } from "jsonc-parser";
import { TextDocument } from "vscode-languageserver-textdocument";
import { DiagnosticSeverity } from "vscode-languageserver/node";
import { loadPolicy } from "../../../sidecar/guard/policyLoader";
import { loadMcpConfigText } from "../../../sidecar/mcp/configLoader";
import { quickFixesFor, type QuickFix } from "../../../sidecar/lsp/codeActions";
import { mcpProblems, policyProblems, toDiagnostic, type ConfigProblem } from "../../../sidecar/lsp/diagnostics";
import { hoverAt } from "../../../sidecar/lsp/hovers";
import { describeAt } from "../../../sidecar/lsp/schemaDocs";
import { PolicySchema } from "../../../sidecar/guard/policySchema";

const json = (value: unknown) => JSON.stringify(value, null, 2);
const apply = (text: string, fix: QuickFix) => applyEdits(text, fix.changes.map((c) => ({ offset: c.offset, length: c.length, content: c.newText })));
const fixFor = (text: string, problem: ConfigProblem) => quickFixesFor(text, { offset: problem.offset, length: problem.length, message: problem.message });
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split("\n").length - 1;

describe("lsp: apie.policy.json", () => {
  it("reports the loader's errors as diagnostics at the right line, field first", () => {
    const text = json({ mode: "enforce", templates: { "prod-deplys": true } });
    const problems = policyProblems(text, "/ws/apie.policy.json");
    assert.equal(problems.length, 1);
    const diagnostic = toDiagnostic(TextDocument.create("file:///ws/apie.policy.json", "json", 1, text), problems[0]!);
    assert.equal(diagnostic.severity, DiagnosticSeverity.Error);
    assert.equal(diagnostic.source, "apie");
    assert.equal(diagnostic.range.start.line, lineOf(text, '"prod-deplys"'));
    assert.equal(diagnostic.range.end.character - diagnostic.range.start.character, '"prod-deplys"'.length);
    assert.match(diagnostic.message as string, /^templates\["prod-deplys"\]: unknown template key "prod-deplys"; did you mean "prod-deploys"\?/);
  });

  it("reports every invalid regex, also while other errors stop the loader from compiling", () => {
    const text = json({
      mode: "sometimes",
      guardrails: [
        { key: "a", decision: "block", match: { "tool.name": { regex: "deploy(" } } },
        { key: "b", decision: "block", match: { arguments: { "$.cmd": { not: { regex: "[z-a]", flags: "i" } } } } },
        { key: "c", decision: "block", match: { "tool.name": { regex: "^ok$" } } },
      ],
    });
    const problems = policyProblems(text, "apie.policy.json");
    const regexProblems = problems.filter((p) => p.message.startsWith("invalid regex"));
    assert.equal(regexProblems.length, 2);
    assert.equal(regexProblems[0]!.field, 'guardrails[0].match["tool.name"].regex');
    assert.equal(regexProblems[1]!.field, 'guardrails[1].match.arguments["$.cmd"].not.regex');
    assert.ok(problems.some((p) => p.field === "mode"));
  });

  it("does not repeat the loader's own regex error", () => {
    const text = json({ guardrails: [{ key: "a", decision: "block", match: { "tool.name": { regex: "deploy(" } } }] });
    const loader = loadPolicy(text);
    assert.equal(loader.ok, false);
    assert.equal(policyProblems(text, "apie.policy.json").length, 1);
  });

  it("has no problems for a valid policy", () => {
    assert.deepEqual(policyProblems(json({ mode: "enforce", templates: { "prod-deploys": true } }), "apie.policy.json"), []);
  });

  it("quick-fixes an unknown template key with the loader's suggestion", () => {
    const text = json({ templates: { "prod-deplys": true, "prod-secrets": { decision: "warn" } } });
    const [problem] = policyProblems(text, "apie.policy.json");
    const fixes = fixFor(text, problem!);
    assert.equal(fixes.length, 1);
    assert.equal(fixes[0]!.title, 'Change to "prod-deploys"');
    const fixed = apply(text, fixes[0]!);
    assert.equal(loadPolicy(fixed).ok, true);
    assert.deepEqual(JSON.parse(fixed), { templates: { "prod-deploys": true, "prod-secrets": { decision: "warn" } } });
  });

  it("offers no fix for a diagnostic the text has moved away from", () => {
    const text = json({ templates: { "prod-deplys": true } });
    const [problem] = policyProblems(text, "apie.policy.json");
    const edited = text.replace('"prod-deplys"', '"prod-deplys-x"');
    assert.deepEqual(fixFor(edited, problem!), []);
  });

  it("offers no rename onto a key that is already there", () => {
    const text = json({ templates: { "prod-deploys": true, "prod-deplys": false } });
    const [problem] = policyProblems(text, "apie.policy.json");
    assert.deepEqual(fixFor(text, problem!), []);
  });

  it("hovers a template key (or its value) with the catalog entry, a field with its description", () => {
    const text = json({ mode: "enforce", templates: { "prod-deploys": true, "prod-secrets": { decision: "warn" } } });
    const keyHover = hoverAt("policy", text, text.indexOf('"prod-deploys"') + 3)!;
    assert.match(keyHover.markdown, /\*\*Production deploys\*\* \(`prod-deploys`\)/);
    assert.match(keyHover.markdown, /Default decision: `require_approval`/);
    assert.match(keyHover.markdown, /deployment_event/);
    assert.equal(text.slice(keyHover.offset, keyHover.offset + keyHover.length), '"prod-deploys"');
    assert.match(hoverAt("policy", text, text.indexOf("true"))!.markdown, /Production deploys/);
    assert.match(hoverAt("policy", text, text.indexOf('"mode"') + 1)!.markdown, /^`mode`: Workspace mode/);
    assert.match(hoverAt("policy", text, text.indexOf('"decision"') + 1)!.markdown, /Override the template's default decision/);
    assert.equal(hoverAt("policy", text, text.indexOf('"enforce"') + 1), undefined);
    assert.equal(hoverAt("policy", "{ not json", 3), undefined);
  });

  it("hovers the coding-agent templates (issue 12) and takes them without a problem", () => {
    const text = json({ templates: { "outside-workspace-writes": true, "secret-then-network": { decision: "block" } } });
    assert.deepEqual(policyProblems(text, "apie.policy.json"), []);
    const outside = hoverAt("policy", text, text.indexOf('"outside-workspace-writes"') + 3)!;
    assert.match(outside.markdown, /\*\*Writes outside the workspace\*\*[\s\S]*Default decision: `require_approval`[\s\S]*os\.tmpdir\(\)/);
    const network = hoverAt("policy", text, text.indexOf('"secret-then-network"') + 3)!;
    assert.match(network.markdown, /\*\*Network after a secret read\*\*[\s\S]*Default decision: `require_approval`[\s\S]*names the decision/);
  });

  it("finds zod descriptions through optionals, arrays, records, unions and lazy fields", () => {
    assert.match(describeAt(PolicySchema, ["guardrails", 0, "key"])!, /Stable identifier/);
    assert.match(describeAt(PolicySchema, ["guardrails", 0, "match", "arguments", "$.x", "not", "regex"])!, /regular expression/);
    assert.match(describeAt(PolicySchema, ["capabilities", "agent", 0, "tool", "name"])!, /globs allowed/);
    assert.equal(describeAt(PolicySchema, ["nope"]), undefined);
  });
});

describe("lsp: apie.mcp.json", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "apie-lsp-mcp-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const offDisk = { file: "apie.mcp.json", onDisk: false };

  it("reports legacy releaseMode guard as an error, and quick-fixes it to mode enforce", async () => {
    const text = json({ agentKey: "a", serverName: "fs", releaseMode: "guard", upstream: { command: "node" } });
    const problems = await mcpProblems(text, offDisk);
    const legacy = problems.find((p) => p.field === "releaseMode")!;
    assert.equal(legacy.severity, "error");
    assert.match(legacy.message, /use mode: "enforce"/);
    const [fix] = fixFor(text, legacy);
    assert.equal(fix!.title, 'Replace with "mode": "enforce"');
    const fixed = apply(text, fix!);
    assert.deepEqual(JSON.parse(fixed), { agentKey: "a", serverName: "fs", mode: "enforce", upstream: { command: "node" } });
    assert.equal(loadMcpConfigText(fixed).ok, true);
  });

  it("fixes releaseMode guard next to an existing mode: sets mode, removes releaseMode", async () => {
    for (const doc of [
      { agentKey: "a", serverName: "fs", mode: "monitor", releaseMode: "guard", upstream: { command: "node" } },
      { agentKey: "a", serverName: "fs", releaseMode: "guard", mode: "monitor", upstream: { command: "node" } },
      { agentKey: "a", serverName: "fs", upstream: { command: "node" }, mode: "monitor", releaseMode: "guard" },
    ]) {
      const text = json(doc);
      const legacy = (await mcpProblems(text, offDisk)).find((p) => p.field === "releaseMode")!;
      const fixed = apply(text, fixFor(text, legacy)[0]!);
      assert.deepEqual(JSON.parse(fixed), { agentKey: "a", serverName: "fs", mode: "enforce", upstream: { command: "node" } });
    }
  });

  it("reports colliding server names", async () => {
    const text = json({ agentKey: "a", servers: { GitHub: { upstream: { command: "node" } }, github: { upstream: { command: "node" } } } });
    const problems = await mcpProblems(text, offDisk);
    assert.ok(problems.some((p) => p.severity === "error" && /collides with "GitHub"/.test(p.message)), JSON.stringify(problems));
  });

  it("warns about an upstream command that is not on PATH or not there, only for files on disk", async () => {
    const text = json({ agentKey: "a", servers: { one: { upstream: { command: "apie-no-such-command-xyz" } }, two: { upstream: { command: "./bin/server" } } } });
    const file = path.join(dir, "apie.mcp.json");
    const problems = await mcpProblems(text, { file, onDisk: true });
    const warnings = problems.filter((p) => p.severity === "warning");
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!.message, /not found on PATH/);
    assert.match(warnings[1]!.message, /does not exist/);
    assert.deepEqual((await mcpProblems(text, offDisk)).filter((p) => p.severity === "warning"), []);
    writeFileSync(path.join(dir, "server"), "#!/bin/sh\n");
    chmodSync(path.join(dir, "server"), 0o755);
    const local = json({ agentKey: "a", serverName: "s", upstream: { command: "./server" } });
    assert.deepEqual(await mcpProblems(local, { file, onDisk: true }), []);
  });

  it("quick-fixes an unknown field with the loader's suggestion", async () => {
    const text = json({ agent_key: "a", serverName: "fs", upstream: { command: "node" } });
    const unknown = (await mcpProblems(text, offDisk)).find((p) => /did you mean/.test(p.message))!;
    const fixed = apply(text, fixFor(text, unknown)[0]!);
    assert.deepEqual(Object.keys(JSON.parse(fixed)), ["agentKey", "serverName", "upstream"]);
  });

  it("hovers field names with their descriptions, inside servers too", () => {
    const text = json({ servers: { github: { agentKey: "a", upstream: { command: "npx" } } } });
    assert.match(hoverAt("mcp", text, text.indexOf('"agentKey"') + 2)!.markdown, /^`agentKey`: Agent key the proxied tool calls/);
    assert.match(hoverAt("mcp", text, text.indexOf('"command"') + 2)!.markdown, /looked up on PATH/);
    assert.match(hoverAt("mcp", text, text.indexOf('"servers"') + 2)!.markdown, /--server NAME/);
  });
});
