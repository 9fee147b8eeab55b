import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatHostStatus } from "../../../sidecar/cli/commands/hooks";
import { hooksStatus, installHooks, writeLauncher } from "../../../sidecar/hooks/install";
import { codexHooksDisabled } from "../../../sidecar/hooks/install/status";

describe("apie hooks status", () => {
  let root: string;
  let home: string;
  let workspace: string;
  let hookScript: string;
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ PATH: path.join(root, "bin"), ...extra });
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "apie-hooks-status-"));
    home = path.join(root, "home");
    workspace = path.join(root, "ws");
    hookScript = path.join(root, "hook.js");
    for (const d of [home, workspace, path.join(root, "bin")]) mkdirSync(d);
    writeFileSync(hookScript, "");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const hostOf = async (host: string, extraEnv?: NodeJS.ProcessEnv) => (await hooksStatus({ workspace, home, env: env(extraEnv) })).hosts.find((h) => h.host === host)!;

  it("nothing installed: every host listed, not installed, no 'resolves' verdict", async () => {
    const status = await hooksStatus({ workspace, home, env: env() });
    assert.equal(status.hosts.length, 6);
    for (const h of status.hosts) {
      assert.equal(h.installed, false);
      assert.equal(h.resolves, undefined);
      assert.deepEqual(h.detected, []);
    }
    assert.equal(status.launcher.exists, false);
  });

  it("installed with a working launcher: where, pre/post, timeout, resolves, and the host's next step", async () => {
    await installHooks({ host: "codex", workspace, home, timeoutSeconds: 300, launcher: { node: process.execPath, hookScript } });
    await installHooks({ host: "gemini-cli", workspace, home, scope: "workspace" });
    const codex = await hostOf("codex");
    assert.equal(codex.installed, true);
    assert.equal(codex.resolves, true);
    const user = codex.scopes.find((s) => s.scope === "user")!;
    assert.deepEqual([user.file, user.pre, user.post, user.end, user.timeoutSeconds], [path.join(home, ".codex/hooks.json"), true, true, true, 300]);
    assert.ok(codex.needs.some((n) => n.includes("/hooks")), codex.needs.join("\n"));
    const gemini = await hostOf("gemini-cli");
    const ws = gemini.scopes.find((s) => s.scope === "workspace")!;
    assert.equal(ws.timeoutSeconds, 900); // written in milliseconds, reported in seconds
    assert.ok(gemini.needs.some((n) => /confirm/.test(n)));
    assert.match(formatHostStatus(codex).join("\n"), /user\s+.*hooks\.json: pre yes, post yes, end yes, timeout 300 s[\s\S]*command resolves: yes/);
  });

  it("a launcher whose dist/hook.js is gone: installed but does not resolve, and says why", async () => {
    await installHooks({ host: "claude-code", workspace, home, launcher: { node: process.execPath, hookScript } });
    rmSync(hookScript);
    const claude = await hostOf("claude-code");
    assert.equal(claude.installed, true);
    assert.equal(claude.resolves, false);
    assert.match(claude.needs[0]!, /hook adapter .* is missing/);
  });

  it("a half install (post missing) and a command pointing at another machine's launcher are reported", async () => {
    mkdirSync(path.join(home, ".cursor"));
    writeFileSync(path.join(home, ".cursor/hooks.json"), JSON.stringify({ version: 1, hooks: { preToolUse: [{ command: "/home/someone/.apie/bin/apie-hook --host cursor --event pre --timeout 900" }] } }));
    await writeLauncher({ node: process.execPath, hookScript }, home);
    const cursor = await hostOf("cursor");
    const user = cursor.scopes.find((s) => s.scope === "user")!;
    assert.deepEqual([user.pre, user.post, user.end, user.foreignLauncher], [true, false, false, "/home/someone/.apie/bin/apie-hook"]);
    assert.equal(cursor.resolves, false);
    assert.ok(cursor.needs.some((n) => n.includes("no post-tool-use hook")));
    assert.ok(cursor.needs.some((n) => n.includes("no session-end hook")));
    assert.ok(cursor.needs.some((n) => n.includes("/home/someone/.apie/bin/apie-hook")));
  });

  it("settings that stop a host running hooks: Codex [features] hooks = false, VS Code chat.useHooks false, Claude and Copilot disableAllHooks, Gemini hooksConfig", async () => {
    mkdirSync(path.join(home, ".codex"));
    writeFileSync(path.join(home, ".codex/config.toml"), `model = "o3"\n\n[features]\n# off for now\nhooks = false\n`);
    mkdirSync(path.join(workspace, ".vscode"));
    writeFileSync(path.join(workspace, ".vscode/settings.json"), `{\n  // no hooks here\n  "chat.useHooks": false,\n}\n`);
    mkdirSync(path.join(home, ".claude"));
    writeFileSync(path.join(home, ".claude/settings.json"), `{ "disableAllHooks": true }`);
    assert.ok((await hostOf("codex")).needs.some((n) => n.includes("hooks = false")));
    assert.ok((await hostOf("vscode")).needs.some((n) => n.includes("chat.useHooks")));
    assert.ok((await hostOf("claude-code")).needs.some((n) => n.includes("disableAllHooks")));
    mkdirSync(path.join(home, ".gemini"));
    writeFileSync(path.join(home, ".gemini/settings.json"), `{ "hooksConfig": { "disabled": ["apie"] } }`);
    assert.ok((await hostOf("gemini-cli")).needs.some((n) => n.includes("skips Apie's hooks")));
    mkdirSync(path.join(workspace, ".github/copilot"), { recursive: true });
    writeFileSync(path.join(workspace, ".github/copilot/settings.json"), `{ "disableAllHooks": true }`);
    assert.ok((await hostOf("copilot-cli")).needs.some((n) => n.includes("Copilot CLI runs no hooks")));
  });

  it("Codex config.toml scan: only [features] hooks/codex_hooks = false count", () => {
    assert.equal(codexHooksDisabled(`[features]\nhooks = false\n`), true);
    assert.equal(codexHooksDisabled(`[features]\ncodex_hooks = false # old name\n`), true);
    assert.equal(codexHooksDisabled(`features.hooks = false\n`), true);
    assert.equal(codexHooksDisabled(`[features]\nhooks = true\n`), false);
    assert.equal(codexHooksDisabled(`[profiles.x]\nhooks = false\n[features]\nweb_search = true\n`), false);
    assert.equal(codexHooksDisabled(`# [features]\n# hooks = false\n`), false);
  });

  it("detects hosts: executables on PATH, folders in the home directory, running inside VS Code", async () => {
    writeFileSync(path.join(root, "bin/claude"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(path.join(root, "bin/gemini"), "not executable\n", { mode: 0o644 });
    mkdirSync(path.join(home, ".cursor"));
    assert.deepEqual((await hostOf("claude-code")).detected, [`claude on PATH (${path.join(root, "bin/claude")})`]);
    assert.deepEqual((await hostOf("gemini-cli")).detected, []);
    assert.deepEqual((await hostOf("cursor")).detected, ["~/.cursor"]);
    assert.deepEqual((await hostOf("vscode", { TERM_PROGRAM: "vscode" })).detected, ["running in VS Code"]);
  });
});
