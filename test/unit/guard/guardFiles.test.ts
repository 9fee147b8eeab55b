import { strict as assert } from "node:assert";
import { guardFileOf, isDiscoveryFile } from "../../../sidecar/guard/guardFiles";
import { HOST_HOOK_CONFIGS } from "../../../sidecar/hooks/install/hostConfigs";
import { TEST_PATHS } from "./helpers";

const noArguments = () => "{}";

describe("guard-files: which files are Apie's", () => {
  it("every file `apie hooks install` writes, in the workspace and under the home directory, is one", () => {
    for (const [host, config] of Object.entries(HOST_HOOK_CONFIGS)) {
      const inWorkspace = `${TEST_PATHS.workspaceRoot}/${config.files.workspace}`;
      const inHome = `${TEST_PATHS.homeDir}/${config.files.user}`;
      assert.ok(guardFileOf(inWorkspace, TEST_PATHS, noArguments) !== undefined, `${host}: ${inWorkspace}`);
      assert.ok(guardFileOf(inHome, TEST_PATHS, noArguments) !== undefined, `${host}: ${inHome}`);
    }
  });

  /** Each path, and what guardFileOf says it is (undefined: not one of Apie's). */
  const judged = (cases: [string, string | undefined][]) => {
    for (const [path, what] of cases) assert.equal(guardFileOf(path, TEST_PATHS, noArguments), what, path);
  };

  it("the policy, the proxy config and the sidecar's state are, at the workspace root only", () => {
    judged([
      ["/work/app/apie.policy.json", "the guard's policy"],
      ["/work/app/apie.mcp.json", "the MCP proxy's config"],
      ["/work/app/.apie/events.jsonl", "the sidecar's state"],
      ["/work/app/packages/a/apie.policy.json", undefined],
      ["/work/other/apie.policy.json", undefined],
      ["/work/app", undefined],
    ]);
  });

  it("the folders holding them are, as a whole; other files in them are not", () => {
    judged([
      ["/work/app/.apie", "the folder of the sidecar's state"],
      ["/work/app/.claude", "the folder of Claude Code's settings (its hooks)"],
      ["/home/dev/.codex", "the folder of Codex's hooks"],
      ["/home/dev/.copilot/hooks", "the folder of Copilot CLI's hooks"],
      ["/work/app/.claude/commands/review.md", undefined],
      ["/work/app/.github", undefined],
      ["/work/app/.github/workflows/ci.yml", undefined],
    ]);
  });

  it("VS Code's settings are only when the change names a hook setting", () => {
    for (const file of ["/work/app/.vscode/settings.json", "/home/dev/.config/Code/User/settings.json"]) {
      assert.equal(guardFileOf(file, TEST_PATHS, () => '{"editor.tabSize":2}'), undefined, file);
      assert.equal(guardFileOf(file, TEST_PATHS, () => '{"chat.useHooks":false}'), "VS Code's hook settings", file);
    }
  });

  it("the discovery file is the keys, in any folder; a look-alike is not", () => {
    assert.ok(isDiscoveryFile("/somewhere/else/.apie/sidecar.json"));
    assert.ok(isDiscoveryFile(".apie/sidecar.json"));
    assert.ok(!isDiscoveryFile("/work/app/apie/sidecar.json"));
    assert.ok(!isDiscoveryFile("/work/app/x.apie/sidecar.json"));
    assert.equal(guardFileOf("/tmp/ws/.apie/sidecar.json", TEST_PATHS, noArguments), "the sidecar's keys");
  });

  it("with no workspace or home known, only the discovery file is recognised", () => {
    assert.equal(guardFileOf("/work/app/apie.policy.json", {}, noArguments), undefined);
    assert.equal(guardFileOf("/work/app/.apie/sidecar.json", {}, noArguments), "the sidecar's keys");
  });
});
