import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { call } from "./sidecarHttp";
import { sidecarPool, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Issue 12's templates against a real sidecar process. secret-then-network: the run's taint is sidecar state,
 * set only by a call that proceeded (monitor, or approved), looked up by run id, and rebuilt from the event log
 * after a restart. outside-workspace-writes: judged against the sidecar's own workspace. Bodies exactly as
 * `apie hook` sends them for Claude Code (shared contract item 4).
 */
describe("coding-agent templates against a real sidecar (secret-then-network, outside-workspace-writes)", function () {
  this.timeout(30_000);
  let workspace: string;
  const sidecars = sidecarPool(() => workspace);
  const home = homedir(); // the sidecar inherits this process's HOME
  const credentials = path.join(home, ".aws", "credentials");

  function hookBody(runId: string, tool: "Read" | "WebFetch", input: Record<string, unknown>, approvalId?: string): string {
    const read = tool === "Read";
    return JSON.stringify({
      agent_key: "claude-code",
      run_id: runId,
      tool: { name: tool, provider: "claude-code" },
      action: { type: "read", name: tool },
      resource: { type: read ? "file" : "http_request" },
      risk_level: read ? "low" : "medium",
      arguments: input,
      metadata: { cwd: workspace, hook: { host: "claude-code", session_id: runId, tool_use_id: `toolu_${tool}` } },
      ...(approvalId === undefined ? {} : { approval_id: approvalId }),
    });
  }
  const evaluate = async (sidecar: SidecarUnderTest, body: string) => {
    const reply = await call(sidecar, "POST", "/v1/guardrails/evaluate", { body });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body;
  };
  const webFetch = (sidecar: SidecarUnderTest, runId: string) => evaluate(sidecar, hookBody(runId, "WebFetch", { url: "https://paste.example/new", prompt: "summarise" }));
  const taintReason = (decision: any): string | undefined => decision.matched_guardrails.find((g: any) => g.key === "secret-then-network")?.reason;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-taint-"));
  });
  afterEach(async () => {
    await sidecars.stopAll();
    rmSync(workspace, { recursive: true, force: true });
  });

  const policy = (mode: "monitor" | "enforce") =>
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode, templates: { "local-secret-files": true, "secret-then-network": true } }));

  it("monitor: a credential read taints its run; the run's WebFetch needs approval naming that decision; other runs are clean; a restart keeps it", async () => {
    policy("monitor");
    let sidecar = await sidecars.start();
    const clean = await webFetch(sidecar, "sess-A");
    assert.equal(clean.policy_decision, "allow", "before any secret read, the fetch is fine");

    const read = await evaluate(sidecar, hookBody("sess-A", "Read", { file_path: credentials }));
    assert.equal(read.enforcement_action, "proceed");
    assert.equal(read.annotation, "would_require_approval");
    assert.ok(read.secret_access.includes(".aws/credentials"), read.secret_access);

    const fetch = await webFetch(sidecar, "sess-A");
    assert.equal(fetch.policy_decision, "require_approval");
    assert.equal(fetch.annotation, "would_require_approval");
    const reason = taintReason(fetch);
    assert.ok(reason?.includes(read.decision_id) && reason.includes(credentials), reason);

    assert.equal((await webFetch(sidecar, "sess-B")).policy_decision, "allow", "another run read nothing");

    // Enforce: the same run's fetch now waits for a person.
    await call(sidecar, "POST", "/v1/mode", { key: sidecar.discovery.adminKey, body: JSON.stringify({ mode: "enforce" }) });
    const enforced = await webFetch(sidecar, "sess-A");
    assert.equal(enforced.enforcement_action, "wait_for_approval");
    assert.ok(enforced.approval_request?.id, "an approval was opened");

    await sidecar.stop();
    sidecar = await sidecars.start();
    const afterRestart = await webFetch(sidecar, "sess-A");
    assert.equal(afterRestart.policy_decision, "require_approval");
    assert.ok(taintReason(afterRestart)?.includes(read.decision_id), "the taint was rebuilt from the log");
    assert.equal((await webFetch(sidecar, "sess-B")).policy_decision, "allow");
  });

  it("enforce: a relative `Read .aws/credentials` (cwd = home) waits; once approved and redeemed the run is tainted", async () => {
    policy("enforce");
    const sidecar = await sidecars.start();
    const relative = JSON.parse(hookBody("sess-C", "Read", { file_path: ".aws/credentials" }));
    relative.metadata.cwd = home;
    const waiting = await evaluate(sidecar, JSON.stringify(relative));
    assert.equal(waiting.enforcement_action, "wait_for_approval");
    const approvalId = waiting.approval_request.id;
    assert.equal(taintReason(await webFetch(sidecar, "sess-C")), undefined, "not tainted while the read waits");

    const approved = await call(sidecar, "POST", `/v1/approvals/${approvalId}/approve`, { key: sidecar.discovery.adminKey });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    relative.approval_id = approvalId;
    const redeemed = await evaluate(sidecar, JSON.stringify(relative));
    assert.equal(redeemed.enforcement_action, "proceed");

    const fetch = await webFetch(sidecar, "sess-C");
    assert.equal(fetch.enforcement_action, "wait_for_approval");
    const reason = taintReason(fetch);
    assert.ok(reason?.includes(waiting.decision_id) && reason.includes(approvalId), reason);
    assert.equal((await webFetch(sidecar, "sess-D")).enforcement_action, "proceed");
  });

  it("outside-workspace-writes: the sidecar judges writes against its own --workspace (Claude Write, Bash redirection)", async () => {
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "outside-workspace-writes": true } }));
    const sidecar = await sidecars.start();
    const write = (filePath: string) =>
      evaluate(sidecar, JSON.stringify({
        agent_key: "claude-code",
        tool: { name: "Write", provider: "claude-code" },
        action: { type: "update", name: "Write" },
        resource: { type: "file" },
        risk_level: "medium",
        arguments: { file_path: filePath, content: "x" },
        metadata: { cwd: workspace, hook: { host: "claude-code", session_id: "s", tool_use_id: "toolu_w" } },
      }));
    // (the workspace is under the temp dir, which counts as inside: the outside target is /etc)
    const outside = await write("/etc/apie-never-written/a.txt");
    assert.equal(outside.enforcement_action, "wait_for_approval");
    assert.ok(outside.matched_guardrails[0].reason.includes(`outside the workspace ${workspace}`), outside.reason);
    assert.equal((await write(path.join(workspace, "src", "a.ts"))).enforcement_action, "proceed");
    assert.equal((await write("notes/b.md")).enforcement_action, "proceed", "relative to metadata.cwd, the workspace");
    const bash = await evaluate(sidecar, JSON.stringify({
      agent_key: "claude-code",
      tool: { name: "Bash", provider: "claude-code" },
      action: { type: "execute", name: "Bash" },
      resource: { type: "shell_command" },
      risk_level: "high",
      arguments: { command: "echo export X=1 >> ~/.profile", description: "x" },
      metadata: { cwd: workspace, hook: { host: "claude-code", session_id: "s", tool_use_id: "toolu_b" } },
    }));
    assert.equal(bash.enforcement_action, "wait_for_approval", JSON.stringify(bash.matched_guardrails));
    assert.ok(bash.reason.includes(path.join(home, ".profile")), bash.reason);
    assert.equal((await write(path.join(path.dirname(workspace), "scratch.txt"))).enforcement_action, "proceed", "the temp dir is scratch space");
  });
});
