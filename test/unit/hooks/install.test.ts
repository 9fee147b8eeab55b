import { strict as assert } from "node:assert";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "jsonc-parser";
import { HOOK_HOSTS, type HookHost } from "../../../sidecar/hooks/hosts";
import { HookConfigError, hooksStatus, HOST_HOOK_CONFIGS, installHooks, planInstall, uninstallHooks } from "../../../sidecar/hooks/install";
import { FORMATS, HOOK_EVENT_KINDS } from "../../../sidecar/hooks/install/hostConfigs";
import { END_HOOK_TIMEOUT_SECONDS } from "../../../sidecar/hooks/install/installer";
import { EXISTING_FILES, FOREIGN_COMMAND } from "./installFixtures";

type Json = Record<string, any>;

/** Every handler under an event, flattening Claude/Codex/Gemini matcher groups. */
function handlersOf(doc: Json, event: string): Json[] {
  return ((doc.hooks?.[event] ?? []) as Json[]).flatMap((e) => (Array.isArray(e.hooks) ? (e.hooks as Json[]) : [e]));
}
const commandOf = (h: Json) => (h.command ?? h.bash) as string;
const ours = (doc: Json, event: string) => handlersOf(doc, event).filter((h) => commandOf(h)?.includes("apie-hook"));

describe("apie hooks install / uninstall: each host's file edited in place", () => {
  let root: string;
  let home: string;
  let workspace: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "apie-hooks-install-"));
    home = path.join(root, "home");
    workspace = path.join(root, "ws");
    mkdirSync(home);
    mkdirSync(workspace);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  for (const host of HOOK_HOSTS) {
    const config = HOST_HOOK_CONFIGS[host];
    for (const scope of ["user", "workspace"] as const) {
      it(`${host} (${scope}): adds our pre and post entries next to Rampart's, keeps comments; twice = same bytes; uninstall gives the file back byte for byte`, async () => {
        const file = planInstall(host, scope, { workspace, home }).file;
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, EXISTING_FILES[host]);
        const first = await installHooks({ host, scope, workspace, home });
        assert.equal(first.changed, true);
        assert.equal(first.created, false);
        const text = readFileSync(file, "utf8");
        // Comments and the other guard's hooks stay.
        for (const comment of EXISTING_FILES[host].match(/\/\/.*|\/\*.*?\*\//g) ?? []) assert.ok(text.includes(comment), `lost comment ${comment}`);
        const doc = parse(text) as Json;
        assert.ok(
          Object.keys(doc.hooks).some((event) => handlersOf(doc, event).some((h) => commandOf(h) === FOREIGN_COMMAND[host])),
          "the other hook is gone",
        );
        for (const kind of HOOK_EVENT_KINDS) {
          for (const event of config.events[kind]) {
            const found = ours(doc, event);
            assert.equal(found.length, 1, `${event}: ${JSON.stringify(doc.hooks[event])}`);
            // The session end only tells the sidecar: a short timeout, never the approval-sized one.
            const timeout = kind === "end" ? END_HOOK_TIMEOUT_SECONDS : 900;
            assert.match(commandOf(found[0]!), new RegExp(`apie-hook"? --host ${config.commandHost} --event ${kind} --timeout ${timeout}\\b`));
          }
        }
        const second = await installHooks({ host, scope, workspace, home });
        assert.equal(second.changed, false);
        assert.equal(readFileSync(file, "utf8"), text);

        const removed = await uninstallHooks({ host, scope, workspace, home });
        assert.equal(removed.removed, config.events.pre.length + config.events.post.length + config.events.end.length);
        assert.equal(removed.deleted, false);
        assert.equal(readFileSync(file, "utf8"), EXISTING_FILES[host]);
      });
    }

    it(`${host}: a new file holds exactly the host's format; uninstall deletes the file it created`, async () => {
      const result = await installHooks({ host, workspace, home });
      assert.equal(result.created, true);
      assert.equal(result.scope, config.defaultScope);
      const doc = JSON.parse(readFileSync(result.file, "utf8")) as Json;
      const spec = FORMATS[config.format];
      for (const [key, value] of Object.entries(spec.newFile)) assert.deepEqual(doc[key], value);
      for (const kind of HOOK_EVENT_KINDS) {
        for (const event of config.events[kind]) {
          const entries = doc.hooks[event] as Json[];
          assert.equal(entries.length, 1);
          if (spec.matcher !== undefined) assert.deepEqual(Object.keys(entries[0]!), ["matcher", "hooks"]);
          if (spec.matcher !== undefined) assert.equal(entries[0]!.matcher, spec.matcher);
          const handler = handlersOf(doc, event)[0]!;
          const seconds = kind === "end" ? END_HOOK_TIMEOUT_SECONDS : 900;
          assert.equal(handler[spec.timeout.field], spec.timeout.unit === "ms" ? seconds * 1000 : seconds);
        }
      }
      assert.deepEqual(Object.keys(doc.hooks), [...config.events.pre, ...config.events.post, ...config.events.end]);
      const removed = await uninstallHooks({ host, workspace, home });
      assert.equal(removed.deleted, true);
      assert.equal(existsSync(result.file), false);
    });
  }

  it("writes each host's own fields: Claude/Codex statusMessage, Copilot bash+powershell+timeoutSec (and timeout, VS Code's name), Cursor failClosed, Gemini milliseconds, VS Code native", async () => {
    const file = async (host: HookHost) => JSON.parse(readFileSync((await installHooks({ host, scope: "user", workspace, home, timeoutSeconds: 600 })).file, "utf8")) as Json;
    const launcher = path.join(home, ".apie/bin/apie-hook");
    const cmd = (host: string, event: string) => `${launcher} --host ${host} --event ${event} --timeout 600`;
    const claude = await file("claude-code");
    assert.deepEqual(claude.hooks.PreToolUse, [{ matcher: "*", hooks: [{ type: "command", command: cmd("claude-code", "pre"), timeout: 600, statusMessage: "apie: checking policy" }] }]);
    assert.deepEqual(handlersOf(claude, "PostToolUseFailure")[0]!.command, cmd("claude-code", "post"));
    const end = (host: string) => `${launcher} --host ${host} --event end --timeout ${END_HOOK_TIMEOUT_SECONDS}`;
    assert.deepEqual(claude.hooks.SessionEnd, [{ matcher: "*", hooks: [{ type: "command", command: end("claude-code"), timeout: END_HOOK_TIMEOUT_SECONDS, statusMessage: "apie: checking policy" }] }]);
    const codex = await file("codex");
    assert.deepEqual(codex.hooks.PostToolUse, [{ matcher: "*", hooks: [{ type: "command", command: cmd("codex", "post"), timeout: 600, statusMessage: "apie: checking policy" }] }]);
    // Codex's session end is SessionEnd; its Stop (one per turn) is never ours.
    assert.equal(handlersOf(codex, "SessionEnd")[0]!.command, end("codex"));
    assert.equal(codex.hooks.Stop, undefined);
    const copilot = await file("copilot-cli");
    assert.equal(copilot.version, 1);
    assert.deepEqual(copilot.hooks.PreToolUse, [{ type: "command", bash: cmd("copilot-cli", "pre"), powershell: "Write-Output '{}'", timeoutSec: 600, timeout: 600 }]);
    const cursor = await file("cursor");
    assert.deepEqual(cursor, {
      version: 1,
      hooks: {
        preToolUse: [{ type: "command", command: cmd("cursor", "pre"), timeout: 600, failClosed: true }],
        postToolUse: [{ type: "command", command: cmd("cursor", "post"), timeout: 600, failClosed: true }],
        sessionEnd: [{ type: "command", command: end("cursor"), timeout: END_HOOK_TIMEOUT_SECONDS, failClosed: true }],
      },
    });
    const gemini = await file("gemini-cli");
    assert.deepEqual(gemini.hooks.BeforeTool, [{ matcher: ".*", hooks: [{ name: "apie", type: "command", command: cmd("gemini-cli", "pre"), timeout: 600_000 }] }]);
    assert.deepEqual(gemini.hooks.SessionEnd, [{ matcher: ".*", hooks: [{ name: "apie", type: "command", command: end("gemini-cli"), timeout: END_HOOK_TIMEOUT_SECONDS * 1000 }] }]);
    // VS Code's agent reads the same ~/.copilot/hooks/apie.json: one shared entry, Copilot's format.
    const vscode = await file("vscode");
    assert.deepEqual(vscode, copilot);
    assert.equal(copilot.hooks.SessionEnd[0].bash, end("copilot-cli"));
    assert.equal(planInstall("vscode", "user", { workspace, home }).file, path.join(home, ".copilot/hooks/apie.json"));
    assert.equal(planInstall("copilot-cli", "workspace", { workspace, home }).file, path.join(workspace, ".github/hooks/apie.json"));
  });

  it("VS Code's agent and Copilot CLI share one entry (both read ~/.copilot/hooks): installing both never doubles a hook; removing either removes it", async () => {
    await installHooks({ host: "vscode", workspace, home });
    const second = await installHooks({ host: "copilot-cli", workspace, home });
    assert.equal(second.changed, false);
    const doc = JSON.parse(readFileSync(second.file, "utf8")) as Json;
    assert.equal(ours(doc, "PreToolUse").length, 1);
    assert.equal(ours(doc, "PostToolUse").length, 1);
    const status = await hooksStatus({ workspace, home, env: {} });
    assert.deepEqual(status.hosts.filter((h) => h.installed).map((h) => h.host), ["vscode", "copilot-cli"]);
    const removed = await uninstallHooks({ host: "vscode", workspace, home });
    assert.equal(removed.deleted, true);
    assert.equal((await hooksStatus({ workspace, home, env: {} })).hosts.some((h) => h.installed), false);
  });

  it("a new timeout rewrites our entry in place, once; duplicates of ours are folded into one", async () => {
    const file = path.join(home, ".claude/settings.json");
    mkdirSync(path.dirname(file));
    const dup = { matcher: "*", hooks: [{ type: "command", command: `${home}/.apie/bin/apie-hook --host claude-code --event pre --timeout 30` }] };
    writeFileSync(file, JSON.stringify({ hooks: { PreToolUse: [dup, { matcher: "Bash", hooks: [{ type: "command", command: "./mine.sh" }] }, dup] } }, null, 2));
    await installHooks({ host: "claude-code", scope: "user", workspace, home, timeoutSeconds: 120 });
    const doc = JSON.parse(readFileSync(file, "utf8")) as Json;
    assert.deepEqual(
      handlersOf(doc, "PreToolUse").map((h) => [h.command, h.timeout]),
      [
        [`${home}/.apie/bin/apie-hook --host claude-code --event pre --timeout 120`, 120],
        ["./mine.sh", undefined],
      ],
    );
  });

  it("uninstall removes only the named host's entries (another host's entries of ours stay)", async () => {
    // VS Code reads Claude-format files too (chat.useClaudeHooks): someone may have put both in one file.
    const file = path.join(home, ".claude/settings.json");
    mkdirSync(path.dirname(file));
    writeFileSync(file, JSON.stringify({ hooks: { PreToolUse: [{ matcher: "*", hooks: [{ type: "command", command: `${home}/.apie/bin/apie-hook --host vscode --event pre` }] }] } }));
    await installHooks({ host: "claude-code", scope: "user", workspace, home });
    await uninstallHooks({ host: "claude-code", scope: "user", workspace, home });
    const doc = JSON.parse(readFileSync(file, "utf8")) as Json;
    assert.deepEqual(Object.keys(doc.hooks), ["PreToolUse"]);
    assert.match(handlersOf(doc, "PreToolUse")[0]!.command, /--host vscode/);
  });

  it("a file we did not create is kept when removing our hooks empties it", async () => {
    const file = path.join(home, ".cursor/hooks.json");
    mkdirSync(path.dirname(file));
    writeFileSync(file, `{ "version": 1 }\n`);
    await installHooks({ host: "cursor", workspace, home });
    const removed = await uninstallHooks({ host: "cursor", workspace, home });
    assert.equal(removed.deleted, false);
    assert.equal(readFileSync(file, "utf8"), `{ "version": 1 }\n`);
  });

  it("refuses a file that does not parse or has an unexpected shape, and leaves it untouched", async () => {
    const file = path.join(home, ".claude/settings.json");
    mkdirSync(path.dirname(file));
    for (const broken of [`{ "hooks": { "PreToolUse": [ }`, `{ "hooks": [] }`, `{ "hooks": { "PreToolUse": {} } }`, `[1, 2]`]) {
      writeFileSync(file, broken);
      await assert.rejects(installHooks({ host: "claude-code", scope: "user", workspace, home }), (e: Error) => e instanceof HookConfigError && e.message.includes(file));
      await assert.rejects(uninstallHooks({ host: "claude-code", scope: "user", workspace, home }), HookConfigError);
      assert.equal(readFileSync(file, "utf8"), broken);
    }
  });

  it("never widens a file's mode, and writes through a symlink (the link stays a link)", async () => {
    const real = path.join(root, "dotfiles-claude-settings.json");
    writeFileSync(real, `{ "model": "opus" }\n`);
    chmodSync(real, 0o600);
    mkdirSync(path.join(home, ".claude"));
    const link = path.join(home, ".claude/settings.json");
    symlinkSync(real, link);
    await installHooks({ host: "claude-code", scope: "user", workspace, home });
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(statSync(real).mode & 0o777, 0o600);
    assert.equal(ours(parse(readFileSync(real, "utf8")) as Json, "PreToolUse").length, 1);
    await uninstallHooks({ host: "claude-code", scope: "user", workspace, home });
    assert.equal(readFileSync(real, "utf8"), `{ "model": "opus" }\n`);
    assert.equal(statSync(real).mode & 0o777, 0o600);
  });

  it("rejects a timeout that is not whole seconds in range", async () => {
    await assert.rejects(installHooks({ host: "codex", workspace, home, timeoutSeconds: 0 }), /timeout/);
    await assert.rejects(installHooks({ host: "codex", workspace, home, timeoutSeconds: 1.5 }), /timeout/);
    assert.equal(existsSync(path.join(home, ".codex/hooks.json")), false);
  });
});
