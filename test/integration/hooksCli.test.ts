import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseLauncher } from "../../sidecar/hooks/install/launcher";

/** The built CLI as a real process, with HOME a temp dir: nothing of the real user's config is touched. */
const CLI = path.resolve(__dirname, "../../dist/cli.js");

describe("apie hooks (built CLI, HOME in a temp dir)", () => {
  let root: string;
  let home: string;
  let workspace: string;
  const apie = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: workspace, env: { PATH: process.env.PATH, HOME: home }, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "apie-hooks-cli-"));
    home = path.join(root, "home");
    workspace = path.join(root, "project");
    mkdirSync(home);
    mkdirSync(workspace);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("install writes the host's file and the launcher (this node, the CLI's own dist/hook.js); twice changes nothing; status and doctor report it; uninstall deletes what it created", () => {
    let r = apie("hooks", "install", "--host", "claude-code");
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(workspace, ".claude/settings.local.json");
    assert.match(r.stdout, /Claude Code: created .*settings\.local\.json \(workspace scope/);
    const text = readFileSync(file, "utf8");
    const pre = JSON.parse(text).hooks.PreToolUse[0].hooks[0];
    assert.equal(pre.timeout, 900);
    assert.match(pre.command, /\[ -x "\$HOME\/\.apie\/bin\/apie-hook" \] && exec "\$HOME\/\.apie\/bin\/apie-hook" --host claude-code --event pre --timeout 900 \|\| echo '\{\}'/);

    const launcher = path.join(home, ".apie/bin/apie-hook");
    assert.equal(statSync(launcher).mode & 0o777, 0o755);
    assert.deepEqual(parseLauncher(readFileSync(launcher, "utf8")), { node: process.execPath, hookScript: path.resolve(__dirname, "../../dist/hook.js"), electronRunAsNode: false });

    r = apie("hooks", "install", "--host", "claude-code");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already has Apie's hooks .*unchanged/);
    assert.equal(readFileSync(file, "utf8"), text);

    // The command as the host runs it: exit 0 and one JSON answer, whatever the adapter's state.
    const run = spawnSync("/bin/sh", ["-c", pre.command], { cwd: workspace, env: { PATH: process.env.PATH, HOME: home }, input: "{}", encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotThrow(() => JSON.parse(run.stdout), run.stdout);

    r = apie("hooks", "status", "--json");
    assert.equal(r.code, 0, r.stderr);
    const claude = JSON.parse(r.stdout).hosts.find((h: { host: string }) => h.host === "claude-code");
    assert.equal(claude.installed, true);
    assert.deepEqual(
      claude.scopes.map((s: { scope: string; pre: boolean; post: boolean; end: boolean }) => [s.scope, s.pre, s.post, s.end]),
      [
        ["workspace", true, true, true],
        ["user", false, false, false],
      ],
    );
    assert.equal(claude.resolves, existsSync(path.resolve(__dirname, "../../dist/hook.js")));

    r = apie("doctor", "--json");
    const hookLine = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === "hooks claude-code");
    assert.match(hookLine.message, /installed in .*settings\.local\.json \(workspace\)/);

    r = apie("hooks", "uninstall", "--host", "claude-code");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed 4 Apie hooks from .* and deleted it/);
    assert.equal(existsSync(file), false);
  });

  it("user scope with a timeout; bad flags name the field (exit 2); a broken host file is refused (exit 1) and left as it was", () => {
    let r = apie("hooks", "install", "--host", "codex", "--timeout", "120");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /next: Codex runs new or changed hooks only after you trust them/);
    assert.equal(JSON.parse(readFileSync(path.join(home, ".codex/hooks.json"), "utf8")).hooks.PostToolUse[0].hooks[0].timeout, 120);

    r = apie("hooks", "install", "--host", "claude");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--host: expected one of vscode\|claude-code/);
    r = apie("hooks", "install", "--host", "codex", "--scope", "global");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--scope/);
    r = apie("hooks", "frob");
    assert.equal(r.code, 2);

    mkdirSync(path.join(home, ".gemini"));
    const broken = `{ "hooks": { "BeforeTool": [ }`;
    writeFileSync(path.join(home, ".gemini/settings.json"), broken);
    r = apie("hooks", "install", "--host", "gemini-cli");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /settings\.json:1:\d+: .*was not changed/);
    assert.equal(readFileSync(path.join(home, ".gemini/settings.json"), "utf8"), broken);
  });
});
