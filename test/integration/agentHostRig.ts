import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { ApprovalView } from "../../sidecar/protocol/approvals";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { trustCodexHooks } from "../support/agentClis";
import { makeHostSandbox, writeFakeSshKey, type HostSandbox } from "../support/hostSandbox";
import { call } from "./sidecarHttp";
import { CLI, startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";
import { openCalls } from "./streamClient";

/**
 * Everything real around an agent CLI under test: a sandbox (temp HOME with a fake ~/.ssh/id_rsa, the project
 * folder), a real sidecar on that project in enforce mode with the given templates, our hook installed by
 * `apie hooks install` exactly as a user runs it (HOME = the sandbox's), and the sidecar's `/v1/stream` followed
 * with the admin key, as the editor follows it: every record (the Runs view's data) and every approval.
 * The hook finds the sidecar the way it does on a user's machine: the discovery file .apie/sidecar.json
 * above the payload's cwd (no APIE_* variables reach the CLI).
 */
export interface AgentHostRig {
  box: HostSandbox;
  sidecar: SidecarUnderTest;
  sshKey: string;
  /** Every record the sidecar appended since the rig started, in order. */
  records(): StreamRecord[];
  /** Waits for a pending approval (the editor would show its notification now). */
  pendingApproval(): Promise<ApprovalView>;
  /** Approves or rejects through the admin API, as the editor's buttons do. */
  answer(id: string, verdict: "approve" | "reject", reason: string): Promise<void>;
  /** The Runs view's data for one host session: its session, run, decisions and outcome events. */
  timeline(agentKey: string): HostTimeline;
  stop(): Promise<void>;
}

export interface HostTimeline {
  sessions: Array<{ id: string; input_summary: string | null }>;
  runs: Array<{ id: string; session_id: string | null; agent_key: string; input_summary: string | null }>;
  decisions: Array<{ decision_id: string; tool: string | null; run_id: string | null; effective: string; action: string; reason: string }>;
  outcomes: Array<{ type: string; run_id: string | undefined; decision_id: unknown; tool_use_id: unknown }>;
}

type AdminStream = Awaited<ReturnType<typeof openCalls>>;

export async function startAgentHostRig(label: string, host: "claude-code" | "codex", policy: Record<string, unknown>): Promise<AgentHostRig> {
  const box = makeHostSandbox(label);
  const sshKey = writeFakeSshKey(box.home);
  writeFileSync(path.join(box.project, "apie.policy.json"), JSON.stringify(policy));
  const sidecar = await startSidecarProcess(box.project);
  let stream: AdminStream | undefined;
  const stop = async (): Promise<void> => {
    stream?.ws.close();
    await sidecar.stop();
    box.remove();
  };
  try {
    stream = await openCalls(sidecar, sidecar.discovery.adminKey);
    stream.send({ type: "subscribe", topics: ["events", "approvals"] });
    await waitFor(() => stream!.frames.some((f) => f.type === "hello"));
    install(box, host);
  } catch (error) {
    await stop();
    throw error;
  }
  return rigOf(box, sidecar, sshKey, stream, stop);
}

/**
 * `apie hooks install`, as the user runs it in the project (workspace scope for Claude Code, the user's own
 * ~/.codex/hooks.json for Codex), then, for Codex, the trust its `/hooks` review would record.
 */
function install(box: HostSandbox, host: "claude-code" | "codex"): void {
  const installed = spawnSync(process.execPath, [CLI, "hooks", "install", "--host", host, "--workspace", box.project], {
    cwd: box.project,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: box.home },
    encoding: "utf8",
  });
  assert.equal(installed.status, 0, `apie hooks install failed:\n${installed.stdout}${installed.stderr}`);
  if (host === "codex") trustCodexHooks(box.codexHome);
}

function rigOf(box: HostSandbox, sidecar: SidecarUnderTest, sshKey: string, stream: AdminStream, stop: () => Promise<void>): AgentHostRig {
  const records = (): StreamRecord[] => stream.frames.filter((f) => f.type === "event").map((f) => f.record as StreamRecord);
  const approvals = (): ApprovalView[] => stream.frames.filter((f) => f.type === "approval").map((f) => f.approval as ApprovalView);
  return {
    box,
    sidecar,
    sshKey,
    records,
    async pendingApproval() {
      await waitFor(() => approvals().some((a) => a.status === "pending"), 60_000);
      return approvals().find((a) => a.status === "pending")!;
    },
    async answer(id, verdict, reason) {
      const reply = await call(sidecar, "POST", `/v1/approvals/${id}/${verdict}`, { key: sidecar.discovery.adminKey, body: JSON.stringify({ reason }) });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    },
    timeline(agentKey) {
      const all = records();
      const data = (kind: string) => all.filter((r) => r.kind === kind).map((r) => r.data as any);
      const runs = data("run.started").map((d) => d.run).filter((r) => r.agent_key === agentKey);
      const runIds = new Set(runs.map((r) => r.id));
      return {
        sessions: data("session.started").map((d) => d.session).filter((s) => runs.some((r) => r.session_id === s.id)),
        runs,
        decisions: data("decision")
          .filter((d) => d.request.agent_key === agentKey)
          .map((d) => ({ decision_id: d.decision.decision_id, tool: d.request.tool.name, run_id: d.request.run_id, effective: d.decision.effective_decision, action: d.decision.enforcement_action, reason: d.decision.reason })),
        outcomes: data("event")
          .map((d) => d.event)
          .filter((e) => typeof e.type === "string" && e.type.startsWith("agent.action.") && runIds.has(e.run_id))
          .map((e) => ({ type: e.type, run_id: e.run_id, decision_id: e.metadata?.decision_id, tool_use_id: e.metadata?.hook?.tool_use_id })),
      };
    },
    stop,
  };
}

/** Waits until the sidecar has recorded `count` outcomes for the agent (the post hook runs after the tool). */
export async function outcomesRecorded(rig: AgentHostRig, agentKey: string, count: number): Promise<HostTimeline> {
  await waitFor(() => rig.timeline(agentKey).outcomes.length >= count, 30_000);
  return rig.timeline(agentKey);
}
