import { strict as assert } from "node:assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLAUDE_BIN, ClaudeResultSchema, claudeEnv, skipUnlessInstalled, startClaude, stopAllClis, type CliRun } from "../support/agentClis";
import { lastToolResults, startScriptedAnthropic, type AssistantTurn, type MessagesRequest, type ScriptedAnthropic, toolResultCount } from "../support/scriptedAnthropic";
import { outcomesRecorded, startAgentHostRig, type AgentHostRig } from "./agentHostRig";
import { call } from "./sidecarHttp";

/**
 * Claude Code, end to end (issue 12, "Real hosts"): the real `claude -p` CLI (test/hosts/setup.sh) runs headless
 * in `bypassPermissions` mode — so only our hook can refuse a call — against a scripted Messages API (the only
 * stand-in), with our hook installed by `apie hooks install --host claude-code` and a real sidecar in enforce
 * mode (prod-shell, local-secret-files). Each test plays one tool call, then checks what happened on disk, what
 * the model received in the tool_result, and what the sidecar recorded (the Runs view's data).
 */
const POLICY = { version: 1, mode: "enforce", templates: { "prod-shell": true, "local-secret-files": true } };
const PROMPT = "please do the thing";

describe("agent hosts: Claude Code, end to end (real CLI, real sidecar, our hook)", function () {
  this.timeout(120_000);
  let rig: AgentHostRig;
  let model: ScriptedAnthropic;

  before(skipUnlessInstalled(CLAUDE_BIN));
  beforeEach(async () => {
    rig = await startAgentHostRig("claude-e2e", "claude-code", POLICY);
  });
  afterEach(async () => {
    await stopAllClis();
    await model?.close();
    await rig?.stop();
  });

  /** The scripted model: `call` on the first turn, then a final text once it has the tool_result. */
  async function scriptOne(call: AssistantTurn["toolUse"]): Promise<void> {
    model = await startScriptedAnthropic((req) => (lastToolResults(req).length > 0 ? { text: "done" } : { toolUse: call }));
  }
  const start = (): CliRun => startClaude(PROMPT, { cwd: rig.box.project, env: claudeEnv(rig.box.home, model.baseUrl) });
  async function finish(run: CliRun) {
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    return ClaudeResultSchema.parse(JSON.parse(result.stdout));
  }
  /** The tool_result the model received for its one call. */
  function toolResult() {
    const results = model.messages().flatMap(lastToolResults);
    assert.equal(results.length, 1, JSON.stringify(results));
    return results[0]!;
  }

  it("a plain command runs; the Runs data shows the session, the allowed call and its outcome", async () => {
    await scriptOne({ name: "Bash", input: { command: "echo hi > marker", description: "write marker" } });
    const result = await finish(start());
    assert.equal(readFileSync(path.join(rig.box.project, "marker"), "utf8"), "hi\n");
    assert.equal(toolResult().is_error, false);

    const t = await outcomesRecorded(rig, "claude-code", 1);
    assert.equal(t.sessions.length, 1);
    assert.equal(t.sessions[0]!.input_summary, `Claude Code · ${PROMPT}`);
    assert.equal(t.runs.length, 1);
    assert.equal(t.runs[0]!.session_id, t.sessions[0]!.id);
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective, d.run_id]), [["Bash", "allow", t.runs[0]!.id]]);
    assert.deepEqual(t.outcomes, [{ type: "agent.action.completed", run_id: t.runs[0]!.id, decision_id: t.decisions[0]!.decision_id, tool_use_id: "toolu_scripted_1" }]);
    assert.ok(result.session_id);
  });

  it("the session ends when `claude -p` exits (SessionEnd); `--resume` reopens it with a new run, ended again on exit", async () => {
    let turn = 0;
    model = await startScriptedAnthropic((req) => {
      if (lastToolResults(req).length > 0) return { text: "done" };
      turn++;
      return { toolUse: { name: "Bash", input: { command: `echo ${turn} >> marker`, description: "append" } } };
    });
    const first = await finish(start());
    await outcomesRecorded(rig, "claude-code", 1);
    const sessionOf = async (id: string) => (await call(rig.sidecar, "GET", `/v1/sessions/${id}`)).body;
    const runOf = async (id: string) => (await call(rig.sidecar, "GET", `/v1/runs/${id}`)).body;
    const [apieSession] = rig.timeline("claude-code").sessions;
    // The SessionEnd hook runs before claude exits: the session is completed by the time it has.
    const ended = await sessionOf(apieSession!.id);
    assert.equal(ended.status, "completed", JSON.stringify(ended));
    assert.equal(ended.output_summary, "Claude Code session ended (other)", "claude -p ends with reason other");
    const [firstRun] = ended.run_ids as string[];
    assert.equal((await runOf(firstRun!)).status, "completed");

    const resumed = await finish(startClaude("one more", { cwd: rig.box.project, env: claudeEnv(rig.box.home, model.baseUrl), args: ["--resume", first.session_id] }));
    assert.equal(resumed.session_id, first.session_id, "the same host session");
    assert.equal(readFileSync(path.join(rig.box.project, "marker"), "utf8"), "1\n2\n");
    const t = await outcomesRecorded(rig, "claude-code", 2);
    assert.equal(new Set(t.sessions.map((s) => s.id)).size, 1, "one Apie session for the host session");
    assert.equal(t.runs.length, 2, "the resumed session runs in a new run");
    assert.deepEqual(t.decisions.map((d) => d.run_id), [firstRun, t.runs[1]!.id]);
    const endedAgain = await sessionOf(apieSession!.id);
    assert.equal(endedAgain.status, "completed");
    assert.deepEqual(endedAgain.run_ids, [firstRun, t.runs[1]!.id]);
    for (const id of endedAgain.run_ids as string[]) assert.equal((await runOf(id)).status, "completed");
  });

  it("a subagent's calls are decided under claude-code/<agent_type>, in their own run of the same session", async () => {
    const firstUserText = (req: MessagesRequest) => JSON.stringify(req.messages.find((m) => m.role === "user")?.content ?? "");
    // The Agent tool runs the subagent in the background: the main conversation gets "launched", later a
    // notification; one tool result in the conversation means its call is answered.
    model = await startScriptedAnthropic((req) => {
      const done = toolResultCount(req) > 0;
      if (firstUserText(req).includes("SUBTASK")) return done ? { text: "sub done" } : { toolUse: { name: "Bash", input: { command: "echo sub > submarker", description: "write" } } };
      return done ? { text: "done" } : { toolUse: { name: "Agent", input: { description: "write a marker", prompt: "SUBTASK: write the marker", subagent_type: "general-purpose" } } };
    });
    await finish(start());
    assert.equal(readFileSync(path.join(rig.box.project, "submarker"), "utf8"), "sub\n");
    const main = await outcomesRecorded(rig, "claude-code", 1);
    const sub = await outcomesRecorded(rig, "claude-code/general-purpose", 1);
    assert.deepEqual(main.decisions.map((d) => [d.tool, d.effective]), [["Agent", "allow"]]);
    assert.deepEqual(sub.decisions.map((d) => [d.tool, d.effective]), [["Bash", "allow"]]);
    assert.equal(sub.runs.length, 1);
    assert.notEqual(sub.runs[0]!.id, main.runs[0]!.id);
    assert.equal(sub.runs[0]!.session_id, main.runs[0]!.session_id, "one host session, one Apie session");
    assert.equal(sub.outcomes[0]!.type, "agent.action.completed");
  });

  it("a command that fails is recorded as failed (PostToolUseFailure), linked to its decision", async () => {
    await scriptOne({ name: "Bash", input: { command: "exit 3", description: "fail" } });
    await finish(start());
    assert.equal(toolResult().is_error, true);
    const t = await outcomesRecorded(rig, "claude-code", 1);
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective]), [["Bash", "allow"]]);
    assert.deepEqual(t.outcomes, [{ type: "agent.action.failed", run_id: t.runs[0]!.id, decision_id: t.decisions[0]!.decision_id, tool_use_id: "toolu_scripted_1" }]);
  });

  it("a destructive command is blocked before it runs; the model receives the guardrail's reason", async () => {
    const keep = path.join(rig.box.project, "keep.txt");
    writeFileSync(keep, "still here\n");
    // HOME is the sandbox's: were the guard to let it through, only the sandbox would go.
    await scriptOne({ name: "Bash", input: { command: "rm -rf ~", description: "clean up" } });
    const result = await finish(start());
    assert.equal(readFileSync(keep, "utf8"), "still here\n");
    assert.deepEqual(result.permission_denials?.map((d) => d.tool_name), ["Bash"]);
    const answered = toolResult();
    assert.equal(answered.is_error, true);
    assert.match(answered.content, /apie: blocked \[prod-shell\]/);
    assert.match(answered.content, /rm -rf/);

    const t = rig.timeline("claude-code");
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective, d.action]), [["Bash", "block", "block"]]);
    assert.deepEqual(t.outcomes, [], "a call that never ran has no outcome");
  });

  it("a secret read waits for approval; approved in the editor, the tool runs", async () => {
    await scriptOne({ name: "Read", input: { file_path: rig.sshKey } });
    const run = start();
    const approval = await rig.pendingApproval();
    assert.match(approval.reason ?? "", /credential file/);
    assert.equal(approval.agent_key, "claude-code");
    // Still waiting: the model has not been told anything yet.
    assert.equal(model.messages().flatMap(lastToolResults).length, 0);
    await rig.answer(approval.id, "approve", "looks fine");
    await finish(run);
    const answered = toolResult();
    assert.equal(answered.is_error, false);
    assert.match(answered.content, /ZmFrZSBrZXkgZm9yIGEgdGVzdA==/, "the model received the file's content");

    const t = await outcomesRecorded(rig, "claude-code", 1);
    assert.deepEqual(t.decisions.map((d) => [d.tool, d.effective, d.action]).slice(0, 1), [["Read", "require_approval", "wait_for_approval"]]);
    assert.equal(t.outcomes[0]!.type, "agent.action.completed");
    assert.ok(rig.records().some((r) => r.kind === "approval.used" && (r.data as { id: string }).id === approval.id), "the grant was spent on this call");
  });

  it("the agent switching its own guard to monitor waits for a person (guard-files, though the policy does not name it); rejected, the policy is unchanged", async () => {
    const policyFile = path.join(rig.box.project, "apie.policy.json");
    const before = readFileSync(policyFile, "utf8");
    await scriptOne({ name: "Bash", input: { command: `echo '{"mode":"monitor"}' > apie.policy.json`, description: "relax the guard" } });
    const run = start();
    const approval = await rig.pendingApproval();
    assert.match(JSON.stringify(approval), /guard-files/);
    await rig.answer(approval.id, "reject", "leave the guard alone");
    await finish(run);
    const answered = toolResult();
    assert.equal(answered.is_error, true);
    assert.match(answered.content, /leave the guard alone/);
    assert.equal(readFileSync(policyFile, "utf8"), before);
  });

  it("a secret read waits for approval; rejected, the tool never runs and the model receives the reason", async () => {
    await scriptOne({ name: "Read", input: { file_path: rig.sshKey } });
    const run = start();
    const approval = await rig.pendingApproval();
    await rig.answer(approval.id, "reject", "not the keys");
    const result = await finish(run);
    assert.deepEqual(result.permission_denials?.map((d) => d.tool_name), ["Read"]);
    const answered = toolResult();
    assert.equal(answered.is_error, true);
    assert.match(answered.content, /rejected/);
    assert.match(answered.content, /not the keys/);
    assert.doesNotMatch(answered.content, /ZmFrZSBrZXk/);
    assert.deepEqual(rig.timeline("claude-code").outcomes, []);
    assert.equal(existsSync(rig.sshKey), true);
  });
});
