import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GuardEngine } from "../../../sidecar/guard/engine";
import { ApprovalBroker } from "../../../sidecar/server/approvalBroker";
import { HookSessions } from "../../../sidecar/server/hookSessions";
import type { SidecarServices } from "../../../sidecar/server/routing";
import { Journal } from "../../../sidecar/store/journal";

/** A coding agent's session ending while calls arrive (hookSessions.ts; a real journal in a temp folder). */
describe("hook sessions: the host's session end and the calls around it", () => {
  let dir: string;
  let journal: Journal;
  let approvals: ApprovalBroker;
  let sessions: HookSessions;
  const ref = { host: "claude-code" as const, session_id: "c0ffee", tool_use_id: "toolu_1", transcript_path: undefined };
  const end = { host: "claude-code" as const, session_id: "c0ffee", cwd: "/w", reason: "other" };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-hook-sessions-"));
    journal = (await Journal.open(path.join(dir, "events.jsonl"), { sync: false })).journal;
    approvals = new ApprovalBroker(journal);
    const services: SidecarServices = { engine: new GuardEngine(), journal, approvals, keys: { apiKey: "a", adminKey: "b" }, workspace: dir, startedAt: Date.now(), baseUrl: () => "" };
    sessions = new HookSessions(services);
  });
  afterEach(async () => {
    approvals.close();
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (runId: string) => journal.state.runs.get(runId)!.view.status;

  it("a call arriving while the end is in flight waits for it and lands in a new run of the session started again", async () => {
    const first = await sessions.runFor("claude-code", ref, "/w");
    const [ended, next] = await Promise.all([sessions.end(end), sessions.runFor("claude-code", { ...ref, tool_use_id: "toolu_2" }, "/w")]);
    assert.deepEqual(ended, { session_id: first.sessionId, ended: true, run_ids: [first.runId] });
    assert.equal(status(first.runId), "completed");
    assert.notEqual(next.runId, first.runId);
    assert.equal(status(next.runId), "running");
    assert.equal(journal.state.sessions.get(first.sessionId)!.status, "running");
    assert.deepEqual(journal.state.sessions.get(first.sessionId)!.run_ids, [first.runId, next.runId]);
  });

  it("two ends at once complete once; an end of a session never seen creates nothing", async () => {
    const first = await sessions.runFor("claude-code", ref, "/w");
    const both = await Promise.all([sessions.end(end), sessions.end({ ...end, reason: "logout" })]);
    assert.deepEqual(both.map((b) => b.ended).sort(), [false, true]);
    assert.equal(journal.state.sessions.get(first.sessionId)!.output_summary, "Claude Code session ended (other)");
    assert.deepEqual(await sessions.end({ ...end, session_id: "unknown" }), { session_id: null, ended: false, run_ids: [] });
    assert.equal(journal.state.sessions.size, 1);
  });
});
