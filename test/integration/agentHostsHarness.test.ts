import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CLAUDE_BIN,
  ClaudeResultSchema,
  CODEX_BIN,
  codexEnv,
  codexEvents,
  claudeEnv,
  skipUnlessInstalled,
  startClaude,
  startCodex,
  stopAllClis,
  trustCodexHooks,
  writeCodexConfig,
} from "../support/agentClis";
import { ClaudePostToolUseSchema, ClaudePreToolUseSchema, CodexPostToolUseSchema, CodexPreToolUseSchema, recordedPayloads } from "../support/hostPayloads";
import { hooksRunning, makeHostSandbox, type HostSandbox } from "../support/hostSandbox";
import { lastToolResults, startScriptedAnthropic, type ScriptedAnthropic } from "../support/scriptedAnthropic";
import { functionOutputs, startScriptedResponses, type ScriptedResponses } from "../support/scriptedResponses";

/**
 * The harness itself, with a throwaway recording hook (test/hosts/recordingHook.sh) instead of ours: the real
 * Claude Code and Codex CLIs run headless against a scripted model on 127.0.0.1 (the only stand-in), fire
 * their hooks with the payloads the adapter parses, stop a tool on a deny answer, and hand the deny reason to
 * the model. These are the host facts `apie hook` is built on (HOOKS.md §2, §4), checked on the installed
 * versions; agentHostsClaudeCode/Codex.test.ts then run our own hook in the same harness.
 */
const RECORDING_HOOK = path.resolve(__dirname, "../hosts/recordingHook.sh");

describe("agent hosts: the harness (real CLIs, scripted model, recording hook)", function () {
  this.timeout(120_000);
  let box: HostSandbox;
  afterEach(async () => {
    await stopAllClis();
    box?.remove();
  });

  describe("Claude Code", function () {
    let model: ScriptedAnthropic;
    before(skipUnlessInstalled(CLAUDE_BIN));
    beforeEach(async () => {
      box = makeHostSandbox("claude-harness");
      mkdirSync(path.join(box.project, ".claude"));
      writeFileSync(path.join(box.project, ".claude/settings.local.json"), JSON.stringify(hooksRunning(RECORDING_HOOK)));
      // Turn 1: a Bash call; turn 2 (after its tool_result): the final answer.
      model = await startScriptedAnthropic((req) => (lastToolResults(req).length > 0 ? { text: "done" } : { toolUse: { name: "Bash", input: { command: "echo hi > marker", description: "write marker" } } }));
    });
    afterEach(() => model.close());

    const run = async (extra: Record<string, string> = {}) => {
      const { done } = startClaude("write the marker", { cwd: box.project, env: claudeEnv(box.home, model.baseUrl, { RECORD_DIR: box.records, ...extra }) });
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      return ClaudeResultSchema.parse(JSON.parse(result.stdout));
    };

    it("runs the tool; PreToolUse and PostToolUse fire with the documented payload", async () => {
      const result = await run();
      assert.equal(result.is_error, false);
      assert.equal(readFileSync(path.join(box.project, "marker"), "utf8"), "hi\n");
      const [pre, post, ...rest] = recordedPayloads(box.records);
      assert.equal(rest.length, 0);
      const p = ClaudePreToolUseSchema.parse(pre);
      assert.deepEqual([p.tool_name, p.tool_input.command, p.cwd, p.session_id], ["Bash", "echo hi > marker", box.project, result.session_id]);
      const q = ClaudePostToolUseSchema.parse(post);
      assert.equal(q.tool_use_id, p.tool_use_id);
      // Only the model endpoint was called: no telemetry or other traffic reached the stand-in.
      assert.deepEqual(new Set(model.requests.map((r) => r.path)), new Set(["/v1/messages"]));
    });

    it("a deny answer stops the tool and the model receives the reason in the tool_result", async () => {
      const result = await run({ DENY_MATCH: "echo hi", DENY_REASON: "no markers today" });
      assert.equal(existsSync(path.join(box.project, "marker")), false);
      assert.deepEqual(result.permission_denials?.map((d) => d.tool_name), ["Bash"]);
      const answered = model.messages().flatMap(lastToolResults);
      assert.equal(answered.length, 1);
      assert.equal(answered[0]!.is_error, true);
      assert.match(answered[0]!.content, /no markers today/);
      // No PostToolUse for a call that never ran.
      assert.deepEqual(recordedPayloads(box.records).map((p) => p.hook_event_name), ["PreToolUse"]);
    });
  });

  describe("Codex", function () {
    let model: ScriptedResponses;
    before(skipUnlessInstalled(CODEX_BIN));
    beforeEach(async () => {
      box = makeHostSandbox("codex-harness");
      model = await startScriptedResponses((req) => (functionOutputs(req).length > 0 ? { text: "done" } : { functionCall: { name: "exec_command", arguments: { cmd: "echo hi > marker" } } }));
      writeCodexConfig(box.codexHome, model.baseUrl);
      writeFileSync(path.join(box.codexHome, "hooks.json"), JSON.stringify(hooksRunning(RECORDING_HOOK)));
    });
    afterEach(() => model.close());

    const run = async (extra: Record<string, string> = {}) => {
      const { done } = startCodex("write the marker", { cwd: box.project, env: codexEnv(box.home, box.codexHome, { RECORD_DIR: box.records, ...extra }) });
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      return codexEvents(result.stdout);
    };

    it("skips a hook nobody trusted: the command runs, the hook never does (Codex's trust step is real)", async () => {
      await run();
      assert.equal(readFileSync(path.join(box.project, "marker"), "utf8"), "hi\n");
      assert.deepEqual(recordedPayloads(box.records), []);
    });

    it("runs a trusted hook (trusted_hash in config.toml, written headless): PreToolUse and PostToolUse with the documented payload", async () => {
      trustCodexHooks(box.codexHome);
      const events = await run();
      assert.equal(readFileSync(path.join(box.project, "marker"), "utf8"), "hi\n");
      const [pre, post, ...rest] = recordedPayloads(box.records);
      assert.equal(rest.length, 0);
      const p = CodexPreToolUseSchema.parse(pre);
      // Codex names its exec_command tool `Bash` for hooks, with `{command}` as input.
      assert.deepEqual([p.tool_name, p.tool_input, p.cwd], ["Bash", { command: "echo hi > marker" }, box.project]);
      assert.equal(p.session_id, events.find((e) => e.type === "thread.started")?.thread_id);
      assert.equal(CodexPostToolUseSchema.parse(post).tool_use_id, p.tool_use_id);
    });

    it("a deny answer stops the command and the model receives the reason in the function_call_output", async () => {
      trustCodexHooks(box.codexHome);
      await run({ DENY_MATCH: "echo hi", DENY_REASON: "no markers today" });
      assert.equal(existsSync(path.join(box.project, "marker")), false);
      const outputs = model.responses().flatMap(functionOutputs);
      assert.equal(outputs.length, 1);
      assert.match(outputs[0]!.output, /Command blocked by PreToolUse hook: no markers today/);
      assert.deepEqual(recordedPayloads(box.records).map((p) => p.hook_event_name), ["PreToolUse"]);
    });
  });
});
