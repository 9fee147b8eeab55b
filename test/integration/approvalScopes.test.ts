import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { call } from "./sidecarHttp";
import { CLI, sidecarPool, waitFor, type SidecarUnderTest } from "./sidecarProcess";

/**
 * "Approve for this session" (issue 13) end to end: Claude Code's hook (`node dist/hook.js`, spawned as the
 * host spawns it) against a real sidecar. One approval with scope `session` lets the same command through
 * for the rest of the host session with no new prompt; another command still asks; the agent's key can
 * never choose a scope; the host's session end ends the grant.
 */

const HOOK = path.resolve(__dirname, "../../dist/hook.js");

function runHook(payload: unknown): Promise<{ stdout: string; code: number | null }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("APIE_")));
  const child = spawn(process.execPath, [HOOK, "--host", "claude-code", "--timeout", "900"], { env: { ...env, APIE_HOOK_BUDGET_MS: "10000" }, stdio: ["pipe", "pipe", "ignore"] });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stdin.end(JSON.stringify(payload));
  return new Promise((resolve) => child.once("close", (code) => resolve({ stdout, code })));
}

describe("approval scopes: approve for this session (real hook, real sidecar)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const pool = sidecarPool(() => workspace);
  let n = 0;

  const bash = (command: string, session = "s-1") => ({
    session_id: session,
    transcript_path: path.join(workspace, "transcript.jsonl"),
    cwd: workspace,
    permission_mode: "default",
    hook_event_name: "PreToolUse",
    tool_name: "Bash",
    tool_input: { command, description: `call ${++n}` },
    tool_use_id: `toolu_${n}`,
  });
  const admin = () => sidecar.discovery.adminKey;
  const pending = async () => (await call(sidecar, "GET", "/v1/approvals?status=pending", { key: admin() })).body.approvals as any[];
  const permission = (stdout: string) => (stdout.trim() === "{}" ? "allow (no opinion)" : (JSON.parse(stdout).hookSpecificOutput.permissionDecision as string));
  const log = () => readFileSync(path.join(workspace, ".apie", "events.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { kind: string; data: any });

  /** Starts a hook call that needs approval and returns it waiting, with its pending approval. */
  async function asking(command: string, session?: string) {
    const before = new Set((await pending()).map((a) => a.id));
    const done = runHook(bash(command, session));
    await waitFor(async () => (await pending()).some((a) => !before.has(a.id)), 20_000);
    return { done, approval: (await pending()).find((a) => !before.has(a.id)) };
  }

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-scopes-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", guardrails: [{ key: "ask-shell", decision: "require_approval", match: { "tool.name": "Bash" } }] }));
    sidecar = await pool.start();
  });
  afterEach(async () => {
    await pool.stopAll();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("approved for the session: the same command runs again with no new approval; another command still asks; the session's end ends it", async () => {
    const first = await asking("npm   test");
    assert.equal(first.approval.grant_pattern.kind, "command");
    assert.equal(first.approval.grant_pattern.command, "npm test");

    const byAgent = await call(sidecar, "POST", `/v1/approvals/${first.approval.id}/approve`, { body: JSON.stringify({ scope: "session" }) });
    assert.equal(byAgent.status, 403, "the agent's key cannot resolve, let alone widen");
    const cancelWidened = await call(sidecar, "POST", `/v1/approvals/${first.approval.id}/cancel`, { body: JSON.stringify({ scope: "session" }) });
    assert.equal(cancelWidened.status, 400);
    const approved = await call(sidecar, "POST", `/v1/approvals/${first.approval.id}/approve`, { key: admin(), body: JSON.stringify({ scope: "session" }) });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.approval.scope, "session");
    assert.equal(permission((await first.done).stdout), "allow");

    const again = await runHook(bash("npm test"));
    assert.equal(permission(again.stdout), "allow", "the second identical call passes without asking (and Claude Code does not ask either)");
    assert.equal(JSON.parse(again.stdout).hookSpecificOutput.permissionDecisionReason, `apie: approved for this session (${first.approval.id})`);
    assert.deepEqual(await pending(), [], "no new approval was opened");
    // An allow is logged lazily: it reaches the file shortly after the answer.
    await waitFor(() => log().some((r) => r.kind === "decision" && r.data.session_grant !== undefined));
    const passed = log().filter((r) => r.kind === "decision").at(-1)!.data;
    assert.equal(passed.session_grant.approval_id, first.approval.id);
    assert.equal(passed.session_grant.resolved_by, "admin-key");
    assert.ok(log().some((r) => r.kind === "approval.resolved" && r.data.id === first.approval.id && r.data.scope === "session"), "the log shows the session scope");

    const other = await asking("npm run build");
    assert.ok(other.approval, "a different command opens its own approval");
    await call(sidecar, "POST", `/v1/approvals/${other.approval.id}/reject`, { key: admin(), body: "{}" });
    assert.equal(permission((await other.done).stdout), "deny");

    const elsewhere = await asking("npm test", "s-2");
    assert.ok(elsewhere.approval, "another host session is not covered");
    await call(sidecar, "POST", `/v1/approvals/${elsewhere.approval.id}/reject`, { key: admin(), body: "{}" });
    await elsewhere.done;

    const ended = await call(sidecar, "POST", "/v1/hooks/session-end", { body: JSON.stringify({ host: "claude-code", session_id: "s-1", cwd: workspace, reason: "other" }) });
    assert.equal(ended.body.ended, true);
    const resumed = await asking("npm test");
    assert.ok(resumed.approval, "after the session ended the same command asks again");
    await call(sidecar, "POST", `/v1/approvals/${resumed.approval.id}/reject`, { key: admin(), body: "{}" });
    await resumed.done;
  });

  it("`apie approvals approve ID --session` (admin key) grants the session; --session with reject is a usage error", async () => {
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("APIE_"))), APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_ADMIN_KEY: admin() };
    const apie = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: tmpdir(), env, encoding: "utf8", timeout: 15_000 });
    const first = await asking("make lint");
    assert.equal(apie(["approvals", "reject", first.approval.id, "--session"]).status, 2);
    const approved = apie(["approvals", "approve", first.approval.id, "--session"]);
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`^approved for this session ${first.approval.id}: `));
    assert.equal(permission((await first.done).stdout), "allow");
    assert.equal(permission((await runHook(bash("make  lint"))).stdout), "allow");
    assert.deepEqual(await pending(), []);
  });
});
