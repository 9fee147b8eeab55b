import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { HOOK_HOSTS } from "../../../sidecar/hooks/hosts";
import { hookCommand, HOST_HOOK_CONFIGS, launcherPath, readLauncher, writeLauncher } from "../../../sidecar/hooks/install";
import { parseLauncher } from "../../../sidecar/hooks/install/launcher";

/** A stand-in for dist/hook.js: prints its arguments and one env var as JSON. */
const ECHO_HOOK = `process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), electron: process.env.ELECTRON_RUN_AS_NODE ?? null }));\n`;

function sh(command: string, home: string) {
  const r = spawnSync("/bin/sh", ["-c", command], { env: { PATH: process.env.PATH, HOME: home }, encoding: "utf8", input: "{}" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("hook launcher ~/.apie/bin/apie-hook and the commands host configs run", () => {
  let root: string;
  let home: string;
  let hookScript: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "apie-hooks-launcher-"));
    home = path.join(root, "home dir"); // a space: every path is quoted
    mkdirSync(home);
    hookScript = path.join(root, "it's dist", "hook.js"); // and a quote
    mkdirSync(path.dirname(hookScript));
    writeFileSync(hookScript, ECHO_HOOK);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("is written 0755 and atomically, runs node on dist/hook.js with the arguments, and is rewritten only when its target changes", async () => {
    const first = await writeLauncher({ node: process.execPath, hookScript }, home);
    assert.equal(first.path, path.join(home, ".apie/bin/apie-hook"));
    assert.equal(first.changed, true);
    assert.equal(statSync(first.path).mode & 0o777, 0o755);
    assert.deepEqual(parseLauncher(readFileSync(first.path, "utf8")), { node: process.execPath, hookScript, electronRunAsNode: false });
    const r = spawnSync(first.path, ["--host", "claude-code", "--event", "pre"], { encoding: "utf8", env: { PATH: process.env.PATH } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { argv: ["--host", "claude-code", "--event", "pre"], electron: null });
    assert.equal((await writeLauncher({ node: process.execPath, hookScript }, home)).changed, false);
    // The extension runs it with its Electron binary as node.
    assert.equal((await writeLauncher({ node: process.execPath, hookScript, electronRunAsNode: true }, home)).changed, true);
    assert.equal(JSON.parse(spawnSync(first.path, [], { encoding: "utf8" }).stdout).electron, "1");
    const state = await readLauncher(home);
    assert.equal(state.resolves, true);
    assert.equal(state.target?.electronRunAsNode, true);
  });

  it("whose target is gone answers {} (no opinion) with exit 0 and says why on stderr; status says it does not resolve", async () => {
    const { path: launcher } = await writeLauncher({ node: process.execPath, hookScript }, home);
    rmSync(hookScript);
    const r = spawnSync(launcher, ["--host", "copilot-cli"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "{}\n");
    assert.match(r.stderr, /hook adapter .* is gone/);
    const state = await readLauncher(home);
    assert.equal(state.resolves, false);
    assert.match(state.problem!, /hook adapter .* is missing/);
    assert.equal((await readLauncher(path.join(root, "nobody"))).exists, false);
    chmodSync(launcher, 0o644);
    writeFileSync(hookScript, ECHO_HOOK);
    assert.match((await readLauncher(home)).problem!, /not executable/);
  });

  describe("workspace-scope commands (the file may travel to machines without Apie)", () => {
    for (const host of HOOK_HOSTS) {
      it(`${host}: without a launcher prints the host's no-opinion answer and exits 0; with one, runs it`, async () => {
        const command = hookCommand(host, "pre", 900, "workspace", home);
        assert.ok(!command.includes(home), "a workspace command must not hold this machine's home");
        const missing = sh(command, home);
        assert.equal(missing.code, 0);
        const noOpinion = HOST_HOOK_CONFIGS[host].noOpinion;
        assert.equal(missing.stdout, noOpinion === "" ? "" : `${noOpinion}\n`);
        assert.equal(missing.stderr, "");
        await writeLauncher({ node: process.execPath, hookScript }, home);
        const present = sh(command, home);
        assert.equal(present.code, 0, present.stderr);
        assert.deepEqual(JSON.parse(present.stdout).argv, ["--host", HOST_HOOK_CONFIGS[host].commandHost, "--event", "pre", "--timeout", "900"]);
      });
    }

    it("also under bash (Copilot's `bash` field)", () => {
      const r = spawnSync("bash", ["-c", hookCommand("copilot-cli", "post", 30, "workspace", home)], { env: { PATH: process.env.PATH, HOME: home }, encoding: "utf8" });
      assert.equal(r.status, 0);
      assert.equal(r.stdout, "{}\n");
    });
  });

  it("user-scope commands run this home's launcher by absolute path", async () => {
    const command = hookCommand("codex", "post", 600, "user", home);
    assert.equal(command, `'${launcherPath(home)}' --host codex --event post --timeout 600`);
    await writeLauncher({ node: process.execPath, hookScript }, home);
    const r = sh(command, path.join(root, "elsewhere"));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).argv, ["--host", "codex", "--event", "post", "--timeout", "600"]);
  });
});
