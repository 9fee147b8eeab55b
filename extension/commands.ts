import * as vscode from "vscode";
import path from "node:path";
import { TEMPLATE_CATALOG } from "../sidecar/guard/templateCatalog";
import { declareCapabilities, enableTemplate } from "../sidecar/policy/policyFile";
import type { BoundaryReport } from "../sidecar/protocol/reports";
import { renderReport } from "../sidecar/protocol/reportMarkdown";
import { MCP_CONFIG_FILE, POLICY_FILE } from "../sidecar/protocol/workspaceFiles";
import { agentRequest } from "./agentApi";
import { guardCodingAgents, removeAgentGuards } from "./agentGuards";
import { tryApproval } from "./tryApproval";
import type { Ctx } from "./ctx";
import { CALL_STATE_ICON, CALL_STATES, callStateLabel } from "./model/callPresenters";
import { callDetails } from "./model/callDetails";
import { runLabel } from "./model/runNames";
import { CallPanel } from "./story/callPanel";
import type { ApprovalsNode } from "./views/approvalsTree";
import type { RunsNode } from "./views/runsTree";
import { guardrailOffset } from "./story/guardrailLocation";
import { showStoryPanel } from "./story/storyPanel";
import type { RunView } from "../sidecar/protocol/runs";


/** Every command of the extension (category "Apie" in package.json), by id. */
export function createCommands(ctx: Ctx, activationTiming: () => { loadMs: number; activateMs: number }): Record<string, (...args: never[]) => unknown> {
  const policyPath = () => path.join(ctx.workspace.uri.fsPath, POLICY_FILE);
  let callPanel: CallPanel | undefined;
  ctx.extension.subscriptions.push({ dispose: () => callPanel?.dispose() });
  return {
    "apie.toggleMode": async () => {
      if (ctx.model.mode === "enforce") {
        const lower = await vscode.window.showWarningMessage(
          "Switch Apie to Monitor? Agents' blocked and approval-requiring actions will run, and only be logged as \"would block\".",
          { modal: true },
          "Switch to Monitor",
        );
        if (lower !== "Switch to Monitor") return ctx.model.mode;
        await ctx.setMode("monitor");
      } else {
        await ctx.setMode("enforce");
      }
      return ctx.model.mode;
    },
    "apie.enforce": () => ctx.setMode("enforce"),
    "apie.monitor": () => ctx.setMode("monitor"),
    // From the Approvals view's inline buttons (a tree node) or a caller with the approval's id. Deny asks for
    // the optional reason the agent receives unless a caller gives one.
    "apie.approve": (target: ApprovalsNode | string) => withApprovalId(target, (id) => ctx.answer(id, "approved")),
    "apie.deny": (target: ApprovalsNode | string, reason?: string) => withApprovalId(target, (id) => ctx.deny(id, typeof reason === "string" ? reason : undefined)),
    "apie.approveForSession": (target: ApprovalsNode | string) => withApprovalId(target, (id) => ctx.answer(id, "approved", undefined, "session")),
    "apie.alwaysAllow": (target: ApprovalsNode | string) => withApprovalId(target, (id) => ctx.alwaysAllow(id)),
    "apie.approvePending": () => ctx.pickPending("approve"),
    "apie.approvePendingForSession": () => ctx.pickPending("approveForSession"),
    "apie.denyPending": () => ctx.pickPending("deny"),
    "apie.restartSidecar": () => ctx.client.start(),
    "apie.showLog": () => ctx.log.show(),
    "apie.openPolicy": async () => {
      const uri = vscode.Uri.file(policyPath());
      try {
        await vscode.workspace.fs.stat(uri);
      } catch {
        await vscode.workspace.fs.writeFile(uri, Buffer.from('{\n  "version": 1,\n  "templates": {}\n}\n'));
      }
      await vscode.window.showTextDocument(uri);
    },
    "apie.enableTemplate": async () => {
      const pick = await vscode.window.showQuickPick(
        TEMPLATE_CATALOG.map((t) => ({ label: t.key, description: `${t.defaultDecision} · ${t.name}`, detail: t.description })),
        { title: "Apie: enable a guardrail template in apie.policy.json", matchOnDetail: true },
      );
      if (pick === undefined) return;
      await enableTemplate(policyPath(), pick.label, undefined);
      void vscode.window.showInformationMessage(`Apie: enabled ${pick.label} in ${POLICY_FILE}.`);
    },
    "apie.showCall": (node: RunsNode) => {
      if (node?.type !== "call" && node?.type !== "step") return;
      const run = ctx.model.runs.get(node.runId);
      const runName = run === undefined ? node.runId : runLabel(run, run.session_id !== null);
      callPanel ??= new CallPanel((key) => openGuardrail(policyPath(), key));
      callPanel.show(callDetails(node.call, runName, ctx.places()));
    },
    "apie.copyDecisionId": async (node: RunsNode) => {
      if (node?.type !== "call" && node?.type !== "step") return;
      const id = node.call.decisions[node.call.decisions.length - 1]?.data.decision.decision_id;
      if (id === undefined) return;
      await vscode.env.clipboard.writeText(id);
      vscode.window.setStatusBarMessage(`Apie: copied ${id}`, 3000);
    },
    "apie.filterRuns": async () => {
      const states = CALL_STATES.map((state) => ({ label: `$(${CALL_STATE_ICON[state].icon}) ${callStateLabel(state)}`, state, picked: ctx.runs.filter.states?.has(state) ?? false }));
      const picked = await vscode.window.showQuickPick(states, { canPickMany: true, title: "Apie: show only tool calls that were… (none = all)" });
      if (picked === undefined) return;
      const agents = [...new Set([...ctx.model.runs.values()].map((r) => r.agent_key))].sort();
      const agent = agents.length > 1 ? await vscode.window.showQuickPick(["(all agents)", ...agents], { title: "Apie: show only this agent" }) : undefined;
      ctx.runs.setFilter({ states: new Set(picked.map((p) => p.state)), agent: agent === undefined || agent === "(all agents)" ? undefined : agent });
      void vscode.commands.executeCommand("setContext", "apie.runsFiltered", true);
    },
    "apie.clearRunsFilter": () => {
      ctx.runs.setFilter({});
      void vscode.commands.executeCommand("setContext", "apie.runsFiltered", false);
    },
    "apie.showStory": async (node?: RunsNode) => {
      const run = node?.type === "run" ? node.run : await pickRun(ctx);
      if (run === undefined) return;
      const loaded = await ctx.client.getRun(run.id);
      if (loaded === null) {
        void vscode.window.showWarningMessage(`Apie: run ${run.id} is not in the log.`);
        return;
      }
      ctx.model.setRunRecords(run.id, loaded.records);
      showStoryPanel(loaded.run, ctx.model.recordsOf(run.id) ?? loaded.records, {
        revealRecord: (runId, seq) => ctx.revealRecord(runId, seq),
        openGuardrail: (key) => openGuardrail(policyPath(), key),
      });
    },
    "apie.declareCapabilities": async () => {
      const agents = ctx.model.agents.filter((a) => a.observed.length > 0);
      if (agents.length === 0) {
        void vscode.window.showInformationMessage("Apie: no agent has used a tool yet. Run it (in monitor mode) first; then declare what it was seen doing.");
        return;
      }
      const agent = agents.length === 1 ? agents[0] : (await vscode.window.showQuickPick(agents.map((a) => ({ label: a.key, description: a.name ?? "", agent: a })), { title: "Apie: declare capabilities of which agent?" }))?.agent;
      if (agent === undefined) return;
      const picks = await vscode.window.showQuickPick(
        agent.observed.map((o) => ({ label: o.name, description: `${o.calls} calls · ${o.actions.join(", ") || "any action"} on ${o.resources.join(", ") || "any resource"}`, picked: !o.declared, tool: o })),
        { canPickMany: true, title: `Apie: declare these tools for ${agent.key} in apie.policy.json (drift is anything else)` },
      );
      if (picks === undefined || picks.length === 0) return;
      await declareCapabilities(
        policyPath(),
        agent.key,
        picks.map(({ tool }) => ({
          tool: { name: tool.name, ...(tool.provider ? { provider: tool.provider } : {}) },
          actions: tool.actions,
          resources: tool.resources,
          ...(tool.environments.length ? { environments: tool.environments } : {}),
        })),
      );
      void vscode.window.showInformationMessage(`Apie: declared ${picks.length} tool${picks.length === 1 ? "" : "s"} for ${agent.key} in ${POLICY_FILE}.`);
    },
    "apie.exportReport": async () => {
      if (ctx.connection === undefined) throw new Error("the Apie sidecar is not running");
      const window = await vscode.window.showQuickPick(["24h", "7d", "30d"], { title: "Apie: boundary report over the last…" });
      if (window === undefined) return;
      const body = await agentRequest<{ report: BoundaryReport }>(ctx.connection, "POST", "/v1/boundary-reports", { window });
      await ctx.docs.show(`Boundary report ${window}`, renderReport(body.report));
    },
    "apie.createMcpConfig": async () => {
      const file = vscode.Uri.file(path.join(ctx.workspace.uri.fsPath, MCP_CONFIG_FILE));
      try {
        await vscode.workspace.fs.stat(file);
        await vscode.window.showTextDocument(file);
        void vscode.window.showInformationMessage(`Apie: ${MCP_CONFIG_FILE} already exists.`);
        return;
      } catch {
        // create it below
      }
      const pick = await vscode.window.showQuickPick(MCP_TEMPLATES.map((t) => ({ label: t.serverName, description: t.description, template: t })), { title: "Apie: guard which MCP server?" });
      if (pick === undefined) return;
      const { serverName, upstream } = pick.template;
      const config = { agentKey: ctx.workspace.name.toLowerCase().replace(/[^a-z0-9-]+/g, "-") || "agent", serverName, mode: "monitor", environment: "development", upstream, redactKeys: ["token", "password", "secret"] };
      await vscode.workspace.fs.writeFile(file, Buffer.from(JSON.stringify(config, null, 2) + "\n"));
      await vscode.window.showTextDocument(file);
    },
    "apie.guardCodingAgents": () => guardCodingAgents(ctx.extension, ctx.workspace),
    "apie.tryApproval": () => tryApproval(ctx.connection, policyPath()),
    "apie.removeAgentGuards": () => removeAgentGuards(ctx.workspace),
    /** For tests and `Developer: Show Running Extensions`-style checks: how long activate() took. */
    "apie.activationTime": () => activationTiming(),
  };
}

function withApprovalId(target: ApprovalsNode | string | undefined, act: (id: string) => Promise<void>): Promise<void> | undefined {
  const id = typeof target === "string" ? target : target?.type === "approval" ? target.approval.id : undefined;
  return id === undefined ? undefined : act(id);
}

async function pickRun(ctx: Ctx): Promise<RunView | undefined> {
  const runs = [...ctx.model.runs.values()].sort((a, b) => b.started_at.localeCompare(a.started_at));
  const pick = await vscode.window.showQuickPick(
    runs.map((run) => ({ label: run.input_summary ?? run.id, description: `${run.agent_key} · ${run.status}`, run })),
    { title: "Apie: tell the story of which run?" },
  );
  return pick?.run;
}

/** Opens apie.policy.json at the guardrail's definition (a boundary warning has none: say so). */
async function openGuardrail(file: string, key: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const offset = guardrailOffset(document.getText(), key);
  if (offset === undefined) {
    void vscode.window.showInformationMessage(`Apie: "${key}" is not defined in apie.policy.json (a built-in check, or the policy changed since).`);
    return;
  }
  const position = document.positionAt(offset);
  await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position), viewColumn: vscode.ViewColumn.One });
}

/** Starting points for apie.mcp.json (Apie's documented format); the user edits them from there. */
const MCP_TEMPLATES = [
  { serverName: "filesystem", description: "@modelcontextprotocol/server-filesystem on this folder", upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."] } },
  { serverName: "everything", description: "@modelcontextprotocol/server-everything (a test server)", upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] } },
  { serverName: "github", description: "@modelcontextprotocol/server-github (needs GITHUB_PERSONAL_ACCESS_TOKEN)", upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] } },
  { serverName: "remote", description: "an MCP server over Streamable HTTP", upstream: { url: "http://127.0.0.1:3001/mcp" } },
] as const;
