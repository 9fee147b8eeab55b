import { strict as assert } from "node:assert";
import Module from "node:module";
import path from "node:path";
import type { WireEvent } from "../../../sidecar/protocol/events";
import type { StreamRecord } from "../../../sidecar/protocol/stream";
import { TimelineModel } from "../../../extension/model/timeline";
import type { RunsNode, RunsTreeProvider as Provider } from "../../../extension/views/runsTree";
import { approval, decision, rec, request, resetSeq, snapshot } from "./fixtures";

/**
 * The Runs view's provider over the real TimelineModel, with the stand-in `vscode` module of the benches
 * (bench/fixtures/vscodeStub.ts: plain TreeItem/ThemeIcon holders; the editor API cannot run here).
 */
function loadProvider(): typeof Provider {
  const stub = path.resolve(__dirname, "../../../bench/fixtures/vscodeStub.ts");
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = M._resolveFilename;
  M._resolveFilename = (request, ...rest) => (request === "vscode" ? stub : resolve(request, ...rest));
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("../../../extension/views/runsTree") as typeof import("../../../extension/views/runsTree")).RunsTreeProvider;
  } finally {
    M._resolveFilename = resolve;
  }
}

const wire = (e: Record<string, unknown>) => e as unknown as WireEvent;
const view = (id: string, agent_key: string, input_summary: string, session_id: string | null, started_at: string) => ({ id, session_id, agent_key, status: "running" as const, environment: null, input_summary, output_summary: null, started_at, completed_at: null, event_count: 0 });

describe("Runs view provider: agents → sessions → runs → one row per tool call", () => {
  let RunsTreeProvider: typeof Provider;
  before(() => (RunsTreeProvider = loadProvider()));
  beforeEach(() => resetSeq());

  function setUp(childrenGraceMs?: number): { tree: Provider; records: StreamRecord[] } {
    const model = new TimelineModel();
    const session = { id: "ses_1", kind: "single_agent", status: "running" as const, environment: null, input_summary: "Claude Code · fix the login bug", output_summary: null, started_at: "2026-11-24T11:00:00.000Z", completed_at: null, run_ids: ["run_c"] };
    model.applySnapshot(snapshot({ sessions: [session], runs: [view("run_1", "release-gate", "Production deploy attempt", null, "2026-11-24T12:00:00.000Z"), view("run_c", "claude-code", "Claude Code · fix the login bug", "ses_1", "2026-11-24T11:00:00.000Z")] }));
    const records = [
      rec("decision", { request: request(), decision: decision({ decision_id: "dec_1", effective_decision: "require_approval", policy_decision: "require_approval" }), approval_id: "apr_1" }),
      rec("approval.requested", { approval: approval() }),
      rec("approval.resolved", { id: "apr_1", status: "approved", resolved_at: "2026-11-24T12:00:04.000Z", resolved_by: "editor", resolution_reason: null }),
      rec("event", { event: wire({ type: "agent.action.completed", agent_key: "release-gate", run_id: "run_1", metadata: { decision_id: "dec_1" } }) }),
      rec("decision", { request: request(), decision: decision({ decision_id: "dec_2" }), approval_id: null }),
      rec("event", { event: wire({ type: "agent.workflow.step.started", agent_key: "release-gate", run_id: "run_1", step_name: "Validate inputs" }) }),
    ];
    model.setRunRecords("run_1", records);
    return { tree: new RunsTreeProvider(model, async () => undefined, undefined, childrenGraceMs), records };
  }

  const labels = (tree: Provider, nodes: RunsNode[]) => nodes.map((n) => `${tree.getTreeItem(n).label} | ${tree.getTreeItem(n).description}`);

  it("groups by agent or host, names sessions and runs for people, folds the records into calls with decision / approval / outcome children", async () => {
    const { tree } = setUp();
    const groups = await tree.getChildren();
    assert.deepEqual(groups.map((g) => tree.getTreeItem(g).label), ["release-gate", "Claude Code"], "most recently active first");
    const [gate, claude] = groups;
    const [run] = await tree.getChildren(gate);
    assert.equal(tree.getTreeItem(run!).label, "Production deploy attempt");
    const [sessionNode] = await tree.getChildren(claude);
    assert.equal(tree.getTreeItem(sessionNode!).label, "fix the login bug");
    assert.deepEqual((await tree.getChildren(sessionNode)).map((n) => tree.getTreeItem(n).label), ["Claude Code"]);

    const rows = await tree.getChildren(run);
    assert.deepEqual(labels(tree, rows).map((l) => l.replace(/ · [\d.]+ (ms|s)$/, "")), ["deploy.release · production | approved · Production deploys", "deploy.release · production | blocked · Production deploys", "Workflow step started | Validate inputs"]);
    const item = tree.getTreeItem(rows[0]!);
    assert.equal((item.iconPath as { id: string }).id, "check");
    assert.equal((item.command as { command: string }).command, "apie.showCall");
    assert.equal(tree.resolveTreeItem(tree.getTreeItem(rows[1]!), rows[1]!).tooltip, "deploy.release · production: blocked\ndeployment in production", "the hover says why");
    assert.deepEqual((await tree.getChildren(rows[0])).map((n) => tree.getTreeItem(n).label), ["Decision: approval required", "Approval: approved by editor", "Outcome: completed"]);
  });

  it("filters per tool call: only the calls in those states, no notes; the agent filter keeps only its runs", async () => {
    const { tree } = setUp();
    tree.setFilter({ states: new Set(["blocked"]) });
    const [gate] = await tree.getChildren();
    const [run] = await tree.getChildren(gate);
    assert.deepEqual(labels(tree, await tree.getChildren(run)), ["deploy.release · production | blocked · Production deploys"]);
    tree.setFilter({ states: new Set(["completed"]) });
    assert.deepEqual((await tree.getChildren(run)).map((n) => tree.getTreeItem(n).description?.toString().split(" · ")[0]), ["approved"], "an approved call that ran is found as completed");
    tree.setFilter({ agent: "claude-code" });
    assert.deepEqual((await tree.getChildren()).map((g) => tree.getTreeItem(g).label), ["Claude Code"]);
    tree.dispose();
  });

  it("a row VS Code should have asked about after a refresh, and did not, is refreshed once (the refresh race); a collapsed one is not", async () => {
    const { tree } = setUp(20);
    const fired: string[][] = [];
    tree.onDidChangeTreeData((e) => fired.push(e === undefined ? ["*"] : (Array.isArray(e) ? e : [e]).map((n) => tree.getTreeItem(n).id!)));
    const expansions = new Map<string, (e: { element: RunsNode }) => void>();
    const view = {
      onDidExpandElement: (l: (e: { element: RunsNode }) => void) => (expansions.set("expand", l), { dispose() {} }),
      onDidCollapseElement: (l: (e: { element: RunsNode }) => void) => (expansions.set("collapse", l), { dispose() {} }),
    };
    tree.watchExpansion(view as never);
    const [gate, claude] = await tree.getChildren();
    // VS Code asks for the children of the "release-gate" group (expanded) but not of "Claude Code", as when
    // the refresh race dropped that group's handle.
    const [run] = await tree.getChildren(gate);
    // The user expands the run; VS Code's ask for its children is lost too.
    expansions.get("expand")!({ element: run! });
    await tree.getChildren(gate);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(fired.flat().sort(), ["group:Claude Code", "run:run_1"], JSON.stringify(fired));
    // Asked in time: nothing more. Collapsed: not expected at all.
    fired.length = 0;
    expansions.get("collapse")!({ element: claude! });
    await tree.getChildren();
    const [again] = await tree.getChildren(gate);
    await tree.getChildren(again);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(fired, []);
    tree.dispose();
  });

  it("finds the row of a record (story links): the call's approval row for its resolution", async () => {
    const { tree, records } = setUp();
    const node = await tree.recordNode("run_1", records[2]!.seq);
    assert.equal(node?.type, "step");
    assert.equal(tree.getTreeItem(node!).label, "Approval: approved by editor");
    assert.equal(tree.getTreeItem(tree.getParent(node!)!).label, "deploy.release · production");
    const blocked = await tree.recordNode("run_1", records[4]!.seq);
    assert.equal(tree.getTreeItem(blocked!).label, "Decision: blocked");
    tree.dispose();
  });
});
