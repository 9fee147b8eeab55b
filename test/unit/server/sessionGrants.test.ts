import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import path from "node:path";
import type { GuardEngine } from "../../../sidecar/guard/engine";
import type { RecordDataByKind, TimelineRecord } from "../../../sidecar/protocol/records";
import { ApprovalBroker } from "../../../sidecar/server/approvalBroker";
import { RouteDispatcher } from "../../../sidecar/server/dispatch";
import { Journal } from "../../../sidecar/store/journal";
import { openInProcessRoutes } from "../../support/inProcessRoutes";

/**
 * "Approve for this session" (issue 13) in-process: the hook and approval routes on a real journal. A grant
 * covers the same agent, host session (run), tool and normalized command or path — nothing else — never a
 * block, and ends with the session.
 */

const POLICY = {
  mode: "enforce",
  guardrails: [
    { key: "ask-shell", decision: "require_approval", match: { "tool.name": "Bash" } },
    { key: "ask-edits", decision: "require_approval", match: { "tool.name": ["Edit", "Write"] } },
  ],
};

describe("session grants: approve for this session", () => {
  let dir: string;
  let journal: Journal;
  let engine: GuardEngine;
  let approvals: ApprovalBroker;
  let routes: RouteDispatcher;
  let records: TimelineRecord[];
  let calls = 0;

  beforeEach(async () => {
    const rig = await openInProcessRoutes(POLICY, { home: "/home/dev" });
    ({ dir, journal, engine, approvals, routes, records } = rig);
  });
  afterEach(async () => {
    approvals.close();
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (method: string, urlPath: string, body: unknown, caller: "agent" | "admin" = "agent") =>
    Promise.resolve().then(() => routes.run(routes.find(method, urlPath, caller), { body, caller, query: new URLSearchParams(), hangUp: () => new AbortController().signal })) as Promise<any>;

  /** A Claude Code hook call in host session `session` (a fresh tool-use id each time, as the host sends). */
  const hookCall = (tool: "Bash" | "Edit" | "Write", args: Record<string, unknown>, session = "s1", agent = "claude-code") =>
    send("POST", "/v1/hooks/evaluate", {
      agent_key: agent,
      tool: { name: tool, provider: "claude-code" },
      ...(tool === "Bash"
        ? { action: { type: "execute", name: tool }, resource: { type: "shell_command" }, risk_level: "high" }
        : { action: { type: "update", name: tool }, resource: { type: "file" }, risk_level: "medium" }),
      arguments: args,
      metadata: { cwd: "/w", hook: { host: "claude-code", session_id: session, tool_use_id: `toolu_${++calls}` } },
    });
  const approve = (id: string, scope?: "once" | "session", caller: "agent" | "admin" = "admin") => send("POST", `/v1/approvals/${id}/approve`, scope === undefined ? {} : { scope }, caller);
  const lastDecision = () => [...records].reverse().find((r) => r.kind === "decision")!.data as RecordDataByKind["decision"];

  /** The first call asks; its approval is approved for the session. Returns the approval id. */
  async function grantSession(tool: "Bash" | "Edit", args: Record<string, unknown>): Promise<string> {
    const asked = await hookCall(tool, args);
    assert.equal(asked.enforcement_action, "wait_for_approval");
    const id = asked.approval_request.id as string;
    const approved = await approve(id, "session");
    assert.equal(approved.approval.status, "approved");
    return id;
  }

  it("the same command in the same session passes without a new approval, however it is spaced or described; the decision names the grant", async () => {
    const id = await grantSession("Bash", { command: "npm test -- --grep 'a  b'", description: "Run the tests" });
    assert.equal(approvals.get(id)!.scope, "session");
    const resolved = records.find((r) => r.kind === "approval.resolved")!.data as RecordDataByKind["approval.resolved"];
    assert.equal(resolved.scope, "session", "the log shows the approval was given for the session");

    const again = await hookCall("Bash", { command: "  npm   test -- --grep 'a  b'  ", description: "Run them again", timeout: 60000 });
    assert.equal(again.enforcement_action, "proceed");
    assert.equal(again.approval_request, null);
    assert.equal(again.session_grant.approval_id, id, "the answer names the grant (a hook answers an explicit allow)");
    assert.match(again.reason, new RegExp(`approved for this session \\(${id}, by admin-key at `));
    assert.deepEqual(lastDecision().session_grant, { approval_id: id, resolved_by: "admin-key", resolved_at: approvals.get(id)!.resolved_at });
    assert.equal(approvals.list("pending").length, 0, "no approval was opened for the second call");
  });

  it("a different command, a quoted space changed, another tool, another session or another agent still asks", async () => {
    await grantSession("Bash", { command: "npm test -- --grep 'a  b'" });
    assert.equal((await hookCall("Bash", { command: "npm run build" })).enforcement_action, "wait_for_approval", "another command");
    assert.equal((await hookCall("Bash", { command: "npm test -- --grep 'a b'" })).enforcement_action, "wait_for_approval", "whitespace inside quotes is part of the command");
    assert.equal((await hookCall("Bash", { command: "npm test -- --grep 'a  b' > /etc/passwd" })).enforcement_action, "wait_for_approval", "a redirection added");
    assert.equal((await hookCall("Bash", { command: "npm test -- --grep 'a  b'" }, "s2")).enforcement_action, "wait_for_approval", "another host session");
    assert.equal((await hookCall("Bash", { command: "npm test -- --grep 'a  b'" }, "s1", "claude-code/Explore")).enforcement_action, "wait_for_approval", "a subagent");
    assert.equal((await hookCall("Write", { file_path: "npm test -- --grep 'a  b'", content: "" })).enforcement_action, "wait_for_approval", "another tool");
    assert.equal((await hookCall("Bash", { command: "npm test -- --grep 'a  b'", workdir: "/elsewhere" })).enforcement_action, "wait_for_approval", "another working directory");
  });

  it("a path grant covers the same file however it is written, with any content; another file still asks", async () => {
    await grantSession("Edit", { file_path: "src/app.ts", old_string: "a", new_string: "b" });
    assert.equal((await hookCall("Edit", { file_path: "/w/src/../src/app.ts", old_string: "c", new_string: "d" })).enforcement_action, "proceed");
    assert.equal((await hookCall("Edit", { file_path: "src/other.ts", old_string: "a", new_string: "b" })).enforcement_action, "wait_for_approval");
  });

  it("never bypasses a block: a policy that blocks the granted command blocks it", async () => {
    await grantSession("Bash", { command: "rm -rf build" });
    engine.loadPolicyText(JSON.stringify({ ...POLICY, guardrails: [...POLICY.guardrails, { key: "no-rm", decision: "block", match: { "tool.name": "Bash", arguments: { "$.command": { regex: "^rm " } } } }] }));
    const blocked = await hookCall("Bash", { command: "rm -rf build" });
    assert.equal(blocked.enforcement_action, "block");
    assert.equal(lastDecision().session_grant, undefined);
  });

  it("expires with the session: after the host's session end the same command asks again, also in the session resumed", async () => {
    await grantSession("Bash", { command: "npm test" });
    assert.equal((await hookCall("Bash", { command: "npm test" })).enforcement_action, "proceed");
    await send("POST", "/v1/hooks/session-end", { host: "claude-code", session_id: "s1", cwd: "/w", reason: "other" });
    assert.equal(journal.state.sessionGrants.size, 0);
    assert.equal((await hookCall("Bash", { command: "npm test" })).enforcement_action, "wait_for_approval");
  });

  it("survives a sidecar restart while the session runs: the grant is rebuilt from the log", async () => {
    await grantSession("Bash", { command: "npm test" });
    approvals.close();
    await journal.close();
    journal = (await Journal.open(path.join(dir, "events.jsonl"), { sync: false })).journal;
    approvals = new ApprovalBroker(journal, Date.now, "/home/dev");
    approvals.restore();
    routes = new RouteDispatcher({ engine, journal, approvals, keys: { apiKey: "a", adminKey: "b" }, workspace: dir, startedAt: Date.now(), baseUrl: () => "" });
    assert.equal(journal.state.sessionGrants.size, 1);
    assert.equal((await hookCall("Bash", { command: "npm test" })).enforcement_action, "proceed");
  });

  it("only the admin key (or the editor) chooses a scope; once is the default; a call outside a run cannot be approved for a session", async () => {
    const first = (await hookCall("Bash", { command: "npm test" })).approval_request.id as string;
    await assert.rejects(approve(first, "session", "agent"), /admin/);
    await assert.rejects(send("POST", `/v1/approvals/${first}/cancel`, { scope: "session" }), /only an approval/);
    assert.equal(approvals.get(first)!.status, "pending", "a refused scope resolves nothing");
    await approve(first);
    assert.equal(approvals.get(first)!.scope, "once");
    assert.equal((await hookCall("Bash", { command: "npm test" })).enforcement_action, "wait_for_approval", "approve once grants nothing more");

    const sdk = await send("POST", "/v1/guardrails/evaluate", { agent_key: "release-gate", tool: { name: "Bash" }, resource: { type: "shell_command" }, arguments: { command: "ls" } });
    await assert.rejects(approve(sdk.approval_request.id, "session"), /belongs to no run/);
    assert.equal(approvals.get(sdk.approval_request.id)!.status, "pending");
  });
});
