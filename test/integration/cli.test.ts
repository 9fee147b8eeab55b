import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** Runs the built CLI (dist/cli.js) as a real process, the way a user's shell does. */
const CLI = path.resolve(__dirname, "../../dist/cli.js");

function apie(args: string[], cwd: string, input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("apie CLI (built, real process)", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "apie-cli-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("guardrails enable creates apie.policy.json, then edits it in place keeping other content", () => {
    let r = apie(["guardrails", "enable", "prod-deploys"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, "apie.policy.json"), "utf8")), { version: 1, templates: { "prod-deploys": true } });
    r = apie(["guardrails", "enable", "prod-shell", "--decision", "require_approval"], dir);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(path.join(dir, "apie.policy.json"), "utf8");
    assert.deepEqual(JSON.parse(text).templates, { "prod-deploys": true, "prod-shell": { decision: "require_approval" } });
    assert.equal(apie(["policy", "check"], dir).code, 0);
    // Enabling it again without --decision keeps what the file says (never back to the default).
    r = apie(["guardrails", "enable", "prod-shell"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /prod-shell is already enabled/);
    assert.equal(readFileSync(path.join(dir, "apie.policy.json"), "utf8"), text);
  });

  it("guardrails enable refuses unknown keys and bad decisions with exit 2", () => {
    let r = apie(["guardrails", "enable", "prod-secret"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown template key "prod-secret"/);
    r = apie(["guardrails", "enable", "prod-secrets", "--decision", "deny"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--decision/);
  });

  it("policy check prints FILE:LINE:COL: field: message and exits 1", () => {
    writeFileSync(path.join(dir, "apie.policy.json"), '{\n  "templates": {\n    "prod-deploy": true\n  }\n}\n');
    const r = apie(["policy", "check"], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^apie\.policy\.json:3:5: templates\["prod-deploy"\]: unknown template key "prod-deploy"; did you mean "prod-deploys"\?/);
  });

  it("evaluate prints the decision and exits 3 when enforce blocks", () => {
    writeFileSync(path.join(dir, "apie.policy.json"), JSON.stringify({ templates: { "prod-shell": true } }));
    const request = JSON.stringify({ agentKey: "a", tool: { name: "run_in_terminal" }, arguments: { command: "ls && rm -rf /" } });
    const blocked = apie(["evaluate", "--mode", "enforce", request], dir);
    assert.equal(blocked.code, 3, blocked.stderr);
    const decision = JSON.parse(blocked.stdout);
    assert.equal(decision.effective_decision, "block");
    assert.equal(decision.matched_guardrails[0].key, "prod-shell");
    const monitored = apie(["evaluate", "-"], dir, request);
    assert.equal(monitored.code, 0);
    assert.equal(JSON.parse(monitored.stdout).annotation, "would_block");
  });

  it("evaluate names the bad field of a request", () => {
    const r = apie(["evaluate", JSON.stringify({ agentKey: "a", tool: { riskLevel: "extreme" } })], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /REQUEST_JSON\.tool\.riskLevel/);
  });

  it("demo runs Apie's five scenarios through every template", () => {
    const r = apie(["demo", "--mode", "enforce"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deploy\.release\s+require_approval\s+\[prod-deploys\]/);
    assert.match(r.stdout, /shell\.rm_rf\s+block\s+\[prod-shell\]/);
    assert.match(r.stdout, /run_in_terminal: npm test\s+allow/);
  });

  it("unknown commands and --help", () => {
    assert.equal(apie(["frobnicate"], dir).code, 2);
    const help = apie(["guardrails", "--help"], dir);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /apie guardrails enable KEY/);
  });
});
