import { strict as assert } from "node:assert";
import { TimelineModel } from "../../../extension/model/timeline";
import type { WireEvent } from "../../../sidecar/protocol/events";
import { approval, decision, rec, request, resetSeq, snapshot } from "./fixtures";

const runView = (id: string, sessionId: string | null = null) => ({
  id,
  session_id: sessionId,
  agent_key: "release-gate",
  status: "running" as const,
  environment: "production",
  input_summary: "deploy",
  output_summary: null,
  started_at: "2026-11-24T12:00:00.000Z",
  completed_at: null,
  event_count: 0,
});

describe("extension TimelineModel (the editor's copy of the sidecar state)", () => {
  beforeEach(() => resetSeq());

  it("builds sessions → runs → records from live records, and says what changed", () => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot());
    const session = { id: "ses_1", kind: "pipeline", status: "running" as const, environment: null, input_summary: null, output_summary: null, started_at: "2026-11-24T12:00:00.000Z", completed_at: null, run_ids: [] };
    assert.equal(model.applyRecord(rec("session.started", { session, orchestrator_agent_key: null })).roots, true);
    model.setRunRecords("run_1", []);
    const started = model.applyRecord(rec("run.started", { run: runView("run_1", "ses_1"), parent_run_id: null, step_key: null, step_name: null, role: null }));
    assert.deepEqual([...started.sessions], ["ses_1"]);
    assert.equal(started.roots, false, "a run inside a session changes the session, not the root list");
    const decided = model.applyRecord(rec("decision", { request: request(), decision: decision(), approval_id: null }));
    assert.deepEqual([...decided.runs], ["run_1"]);
    assert.deepEqual(model.runsOf("ses_1").map((r) => r.id), ["run_1"]);
    assert.deepEqual(model.recordsOf("run_1")!.map((r) => r.kind), ["run.started", "decision"]);
    assert.equal(model.runs.get("run_1")!.event_count, 2);
  });

  it("reports approvals as they open and close, once each, and ignores records the snapshot already had", () => {
    const model = new TimelineModel();
    const opened = model.applySnapshot(snapshot({ lastSeq: 1, approvals: [approval({ id: "apr_old" })] })).opened;
    assert.deepEqual(opened.map((a) => a.id), ["apr_old"], "pending approvals at connect are announced");
    resetSeq(0);
    assert.equal(model.applyRecord(rec("approval.requested", { approval: approval({ id: "apr_dup" }) })).approvals, false, "seq 1 is in the snapshot");
    const open = model.applyRecord(rec("approval.requested", { approval: approval({ id: "apr_2" }) }));
    assert.deepEqual(open.opened.map((a) => a.id), ["apr_2"]);
    assert.deepEqual(model.pending().map((a) => a.id), ["apr_old", "apr_2"]);
    const closed = model.applyRecord(rec("approval.resolved", { id: "apr_2", status: "expired", resolved_at: "2026-11-24T12:05:00.000Z", resolved_by: "expiry", resolution_reason: null }));
    assert.deepEqual(closed.closed.map((a) => [a.id, a.status]), [["apr_2", "expired"]]);
    const again = model.applyRecord(rec("approval.resolved", { id: "apr_2", status: "approved", resolved_at: "2026-11-24T12:06:00.000Z", resolved_by: "editor", resolution_reason: null }));
    assert.deepEqual(again.closed, [], "an approval closes once");
    assert.equal(model.approvals.get("apr_2")!.status, "expired");
  });

  it("applies one apie/records batch as one change; an approval opened and ended inside it raises nothing", () => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot());
    model.setRunRecords("run_1", []);
    const change = model.applyRecords([
      rec("run.started", { run: runView("run_1"), parent_run_id: null, step_key: null, step_name: null, role: null }),
      rec("decision", { request: request(), decision: decision(), approval_id: null }),
      rec("approval.requested", { approval: approval({ id: "apr_gone" }) }),
      rec("approval.resolved", { id: "apr_gone", status: "cancelled", resolved_at: "2026-11-24T12:00:05.000Z", resolved_by: "agent", resolution_reason: null }),
      rec("approval.requested", { approval: approval({ id: "apr_open" }) }),
    ]);
    assert.equal(change.roots, true);
    assert.deepEqual([...change.runs], ["run_1"]);
    assert.equal(change.approvals, true);
    assert.deepEqual(change.opened.map((a) => a.id), ["apr_open"]);
    assert.deepEqual(change.closed.map((a) => [a.id, a.status]), [["apr_gone", "cancelled"]]);
    assert.deepEqual(model.recordsOf("run_1")!.map((r) => r.kind), ["run.started", "decision", "approval.requested", "approval.resolved", "approval.requested"]);
    assert.equal(model.lastSeq, 5);
  });

  it("opens a run it never saw start (an MCP proxy's --run-id) and follows the mode", () => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot({ mode: "enforce" }));
    const change = model.applyRecord(rec("decision", { request: request("run_mcp"), decision: decision(), approval_id: null }));
    assert.equal(change.roots, true);
    assert.equal(model.runs.get("run_mcp")!.event_count, 1);
    assert.equal(model.applyRecord(rec("mode.changed", { mode: "monitor", by: "editor" })).status, true);
    assert.equal(model.mode, "monitor");
  });

  it("orders a run's records as they happened: an SDK outcome logged after the next decision still comes first", () => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot());
    model.setRunRecords("run_1", []);
    const first = rec("decision", { request: request(), decision: decision({ effective_decision: "allow", matched_guardrails: [] }), approval_id: null });
    const second = rec("decision", { request: request(), decision: decision(), approval_id: null });
    const outcome = rec("event", { event: { type: "agent.action.completed", agent_key: "release-gate", run_id: "run_1", timestamp: new Date(Date.parse(first.ts) + 1).toISOString() } as unknown as WireEvent });
    for (const r of [first, second, outcome]) model.applyRecord(r);
    assert.deepEqual(model.recordsOf("run_1")!.map((r) => r.seq), [first.seq, outcome.seq, second.seq]);
    model.setRunRecords("run_1", [first, second, outcome]);
    assert.deepEqual(model.recordsOf("run_1")!.map((r) => r.seq), [first.seq, outcome.seq, second.seq], "the same when loaded from disk");
  });

  it("orders a decision an MCP proxy made itself by when it made it, though it is logged after the call's outcome", () => {
    const model = new TimelineModel();
    model.applySnapshot(snapshot());
    model.setRunRecords("run_1", []);
    const earlier = rec("decision", { request: request(), decision: decision({ decision_id: "dec_0" }), approval_id: null });
    const outcome = rec("event", { event: { type: "agent.action.completed", agent_key: "release-gate", run_id: "run_1", timestamp: new Date(Date.parse(earlier.ts) + 1_500).toISOString() } as unknown as WireEvent });
    // Journaled after the outcome, with the replica's own time (earlier than the outcome's).
    const reported = rec("decision", {
      request: request(),
      decision: decision({ decision_id: "dec_1", effective_decision: "allow", matched_guardrails: [] }),
      approval_id: null,
      reported: { by: "replica", diverged: false, decided_at: new Date(Date.parse(earlier.ts) + 1_000).toISOString() },
    });
    for (const r of [earlier, outcome, reported]) model.applyRecord(r);
    assert.deepEqual(model.recordsOf("run_1")!.map((r) => r.seq), [earlier.seq, reported.seq, outcome.seq]);
  });
});
