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

  it("the policy, the proxy config and the sidecar's state are, at the workspace root only", () => {
    assert.equal(guardFileOf("/work/app/apie.policy.json", TEST_PATHS, noArguments), "the guard's policy");
    assert.equal(guardFileOf("/work/app/apie.mcp.json", TEST_PATHS, noArguments), "the MCP proxy's config");
    assert.equal(guardFileOf("/work/app/.apie/events.jsonl", TEST_PATHS, noArguments), "the sidecar's state");
    assert.equal(guardFileOf("/work/app/packages/a/apie.policy.json", TEST_PATHS, noArguments), undefined);
    assert.equal(guardFileOf("/work/other/apie.policy.json", TEST_PATHS, noArguments), undefined);
    assert.equal(guardFileOf("/work/app", TEST_PATHS, noArguments), undefined);
  });

  it("the folders holding them are, as a whole; other files in them are not", () => {
    assert.equal(guardFileOf("/work/app/.apie", TEST_PATHS, noArguments), "the folder of the sidecar's state");
    assert.equal(guardFileOf("/work/app/.claude", TEST_PATHS, noArguments), "the folder of Claude Code's settings");
    assert.equal(guardFileOf("/home/dev/.codex", TEST_PATHS, noArguments), "the folder of Codex's hooks");
    assert.equal(guardFileOf("/work/app/.claude/commands/review.md", TEST_PATHS, noArguments), undefined);
    assert.equal(guardFileOf("/work/app/.github", TEST_PATHS, noArguments), undefined);
    assert.equal(guardFileOf("/work/app/.github/workflows/ci.yml", TEST_PATHS, noArguments), undefined);
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
