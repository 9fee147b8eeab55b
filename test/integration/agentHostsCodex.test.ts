import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CODEX_BIN, codexEnv, codexEvents, skipUnlessInstalled, startCodex, stopAllClis, writeCodexConfig, type CliRun } from "../support/agentClis";
import { functionOutputs, startScriptedResponses, type ResponsesTurn, type ScriptedResponses } from "../support/scriptedResponses";
import { outcomesRecorded, startAgentHostRig, type AgentHostRig } from "./agentHostRig";
import { call } from "./sidecarHttp";

/**
 * Codex, end to end (issue 12, "Real hosts"): the real `codex exec` (test/hosts/setup.sh) runs headless with its
 * own approvals and sandbox off — so only our hook can refuse a call — against a scripted Responses API (a custom
 * model provider; the only stand-in), with our hook installed by `apie hooks install --host codex` into the
 * sandbox's ~/.codex/hooks.json and trusted the way Codex's `/hooks` review records it, and a real sidecar in
 * enforce mode (prod-shell, local-secret-files).
 */
const POLICY = { version: 1, mode: "enforce", templates: { "prod-shell": true, "local-secret-files": true } };

describe("agent hosts: Codex, end to end (real CLI, real sidecar, our hook)", function () {
  this.timeout(120_000);
  let rig: AgentHostRig;
  let model: ScriptedResponses;

  before(skipUnlessInstalled(CODEX_BIN));
  beforeEach(async () => {
    rig = await startAgentHostRig("codex-e2e", "codex", POLICY);
  });
  afterEach(async () => {
    await stopAllClis();
    await model?.close();
    await rig?.stop();
  });

  async function scriptOne(call: ResponsesTurn): Promise<void> {
    model = await startScriptedResponses((req) => (functionOutputs(req).length > 0 ? { text: "done" } : call));
    // The hook's trust entries are in config.toml already (the rig): add the model provider to it.
    const config = path.join(rig.box.codexHome, "config.toml");
    const trust = readFileSync(config, "utf8");
    writeCodexConfig(rig.box.codexHome, model.baseUrl);
    writeFileSync(config, readFileSync(config, "utf8") + trust);
  }
  const shell = (cmd: string): ResponsesTurn => ({ functionCall: { name: "exec_command", arguments: { cmd } } });
  const start = (): CliRun => startCodex("please do the thing", { cwd: rig.box.project, env: codexEnv(rig.box.home, rig.box.codexHome) });
  async function finish(run: CliRun) {
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    return codexEvents(result.stdout);
  }
  function toolOutput(): string {
    const outputs = model.responses().flatMap(functionOutputs);
    assert.equal(outputs.length, 1, JSON.stringify(outputs));
    return outputs[0]!.output;
  }

  it("the session ends when `codex exec` exits (SessionEnd, not the per-turn Stop): session and run completed", async () => {
    await scriptOne(shell("echo hi > marker"));
    const events = await finish(start());
    // Codex clamps a SessionEnd hook's timeout to 3 s and reports a longer one as an error item: ours is 3 s.
    assert.deepEqual(events.filter((e) => e.item?.type === "error").map((e) => e.item.message), []);
    const t = await outcomesRecorded(rig, "codex", 1);
    const session = (await call(rig.sidecar, "GET", `/v1/sessions/${t.sessions[0]!.id}`)).body;
    assert.equal(session.status, "completed", JSON.stringify(session));
    assert.equal(session.output_summary, "Codex session ended (other)");
    assert.equal((await call(rig.sidecar, "GET", `/v1/runs/${t.runs[0]!.id}`)).body.status, "completed");
  });

  it("a plain command runs; the Runs data shows the session, the allowed call and its outcome", async () => {
    await scriptOne(shell("echo hi > marker"));
    const events = await finish(start());
    assert.equal(readFileSync(path.join(rig.box.project, "marker"), "utf8"), "hi\n");

    const t = await outcomesRecorded(rig, "codex", 1);
    assert.equal(t.sessions.length, 1);
    assert.match(t.sessions[0]!.input_summary ?? "", /^Codex · /);
    assert.equal(t.runs.length, 1);
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective, d.run_id]), [["Bash", "allow", t.runs[0]!.id]]);
    assert.deepEqual(t.outcomes, [{ type: "agent.action.completed", run_id: t.runs[0]!.id, decision_id: t.decisions[0]!.decision_id, tool_use_id: "call_scripted_1" }]);
    assert.ok(events.some((e) => e.type === "thread.started"));
  });

  it("a destructive command is blocked before it runs; the model receives the guardrail's reason", async () => {
    const keep = path.join(rig.box.project, "keep.txt");
    writeFileSync(keep, "still here\n");
    await scriptOne(shell("rm -rf ~"));
    await finish(start());
    assert.equal(readFileSync(keep, "utf8"), "still here\n");
    const output = toolOutput();
    assert.match(output, /Command blocked by PreToolUse hook: apie: blocked \[prod-shell\]/);
    const t = rig.timeline("codex");
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective]), [["Bash", "block"]]);
    assert.deepEqual(t.outcomes, []);
  });

  it("apply_patch is judged as the file write it is: a script whose text holds `rm -rf ~` is written, not blocked", async () => {
    const patch = "*** Begin Patch\n*** Add File: cleanup.sh\n+#!/bin/sh\n+rm -rf ~\n*** End Patch\n";
    await scriptOne({ customCall: { name: "apply_patch", input: patch } });
    await finish(start());
    assert.equal(readFileSync(path.join(rig.box.project, "cleanup.sh"), "utf8"), "#!/bin/sh\nrm -rf ~\n");
    const t = await outcomesRecorded(rig, "codex", 1);
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective]), [["apply_patch", "allow"]]);
    assert.equal(t.outcomes[0]!.type, "agent.action.completed");
  });

  it("a secret read waits for approval; approved in the editor, the command runs", async () => {
    await scriptOne(shell("cat ~/.ssh/id_rsa"));
    const run = start();
    const approval = await rig.pendingApproval();
    assert.equal(approval.agent_key, "codex");
    assert.match(approval.reason, /id_rsa/);
    assert.equal(model.responses().flatMap(functionOutputs).length, 0);
    await rig.answer(approval.id, "approve", "looks fine");
    await finish(run);
    assert.match(toolOutput(), /ZmFrZSBrZXkgZm9yIGEgdGVzdA==/);
    const t = await outcomesRecorded(rig, "codex", 1);
    assert.deepEqual(t.decisions[0] && [t.decisions[0].tool, t.decisions[0].effective], ["Bash", "require_approval"]);
    assert.ok(rig.records().some((r) => r.kind === "approval.used" && (r.data as { id: string }).id === approval.id));
  });

  it("a secret read waits for approval; rejected, the command never runs and the model receives the reason", async () => {
    await scriptOne(shell("cat ~/.ssh/id_rsa > leaked.txt"));
    const run = start();
    const approval = await rig.pendingApproval();
    await rig.answer(approval.id, "reject", "not the keys");
    await finish(run);
    const output = toolOutput();
    assert.match(output, /Command blocked by PreToolUse hook: .*rejected.*not the keys/s);
    assert.doesNotMatch(output, /ZmFrZSBrZXk/);
    assert.throws(() => readFileSync(path.join(rig.box.project, "leaked.txt")), /ENOENT/);
    assert.deepEqual(rig.timeline("codex").outcomes, []);
  });
});
