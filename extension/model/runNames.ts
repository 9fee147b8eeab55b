import path from "node:path";
import { hookHostOfAgentKey } from "../../sidecar/hooks/hosts";
import type { RunView, SessionView } from "../../sidecar/protocol/runs";
import { agentLabel } from "./presenters";

/**
 * Sessions and runs named for people. The Runs view groups them by agent or host ("Claude Code",
 * "release-gate"); under a group a session or run is named by its task ("fix the login bug", the first prompt
 * the hook found in the host's transcript; "Production deploy attempt", the SDK run's input summary), so the
 * path reads "Claude Code · fix the login bug". Runs inside a session are named by their agent ("Claude Code",
 * "Claude Code · Explore" for a subagent).
 */

/** The group an agent key belongs to: its host for a coding agent's hook (subagents included), else itself. */
export function groupOf(agentKey: string): string {
  return hookHostOfAgentKey(agentKey)?.displayName ?? agentKey;
}

/**
 * A summary without the group's name in front: the sidecar names a hook session "Claude Code · fix the login
 * bug" (server/hookSessions.ts) and its subagent's run "Claude Code (Explore) · …".
 */
function taskOf(summary: string | null, group: string): string | undefined {
  if (summary === null || summary.trim() === "") return undefined;
  if (summary.startsWith(group)) {
    const cut = summary.indexOf(" · ");
    if (cut !== -1) return summary.slice(cut + 3).trim() || undefined;
    if (summary === group) return undefined;
  }
  return summary;
}

/** A session named by its task; one the sidecar could only name by its folder (no prompt found): "in <folder>". */
export function sessionLabel(session: SessionView, group: string): string {
  const task = taskOf(session.input_summary, group);
  if (task === undefined) return `session ${session.id}`;
  return path.isAbsolute(task) ? `in ${path.basename(task) || task}` : task;
}

/** A run on its own (no session): its task; inside a session: its agent, and its own task if it has one. */
export function runLabel(run: RunView, inSession: boolean): string {
  const group = groupOf(run.agent_key);
  const task = taskOf(run.input_summary, group);
  if (!inSession) return task ?? `run ${run.id}`;
  const agent = agentLabel(run.agent_key);
  return task === undefined || hookHostOfAgentKey(run.agent_key) !== undefined ? agent : `${agent} · ${task}`;
}

/** "Claude Code · fix the login bug", "release-gate · Production deploy attempt": for tooltips and titles. */
export function fullName(group: string, label: string): string {
  return label.startsWith(group) ? label : `${group} · ${label}`;
}
