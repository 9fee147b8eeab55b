/**
 * The coding-agent hosts whose pre-tool-use hooks Apie answers (issue 12; facts in
 * ../shared/research/HOOKS.md). This is the one list every part agrees on: the adapter (`apie hook --host`),
 * the installers (`apie hooks install --host`), the sidecar (agent keys, approval prompts) and the editor
 * (display names). Adding a host starts here.
 */

export const HOOK_HOSTS = ["vscode", "claude-code", "copilot-cli", "codex", "cursor", "gemini-cli"] as const;
export type HookHost = (typeof HOOK_HOSTS)[number];

export interface HookHostInfo {
  id: HookHost;
  /** What people call it: "Claude Code wants to run `…`". */
  displayName: string;
  /**
   * The Apie agent key its calls are decided under. A Claude Code subagent is `claude-code/<agent_type>`
   * (see {@link hookAgentKey}).
   */
  agentKey: string;
  /**
   * Whether the host has its own approval prompt that a hook's `ask` opens (HOOKS.md §8.3 strategy A):
   * `hooks.approvals: "host"` hands approvals to it; elsewhere the hook waits for the editor's approval.
   */
  nativeAsk: boolean;
}

export const HOOK_HOST_INFO: Readonly<Record<HookHost, HookHostInfo>> = {
  vscode: { id: "vscode", displayName: "VS Code agent", agentKey: "vscode-agent", nativeAsk: true },
  "claude-code": { id: "claude-code", displayName: "Claude Code", agentKey: "claude-code", nativeAsk: true },
  "copilot-cli": { id: "copilot-cli", displayName: "Copilot CLI", agentKey: "copilot-cli", nativeAsk: true },
  codex: { id: "codex", displayName: "Codex", agentKey: "codex", nativeAsk: false },
  cursor: { id: "cursor", displayName: "Cursor", agentKey: "cursor", nativeAsk: false },
  "gemini-cli": { id: "gemini-cli", displayName: "Gemini CLI", agentKey: "gemini-cli", nativeAsk: false },
};

export function isHookHost(value: string): value is HookHost {
  return (HOOK_HOSTS as readonly string[]).includes(value);
}

/** The agent key of a call: the host's, with `/<agent type>` for a subagent (`claude-code/Explore`). */
export function hookAgentKey(host: HookHost, subagentType?: string | undefined): string {
  const base = HOOK_HOST_INFO[host].agentKey;
  return subagentType === undefined || subagentType === "" ? base : `${base}/${subagentType}`;
}

/**
 * The host behind an agent key, for display ("Claude Code" for `claude-code/Explore`); undefined for an
 * agent that is not a coding-agent host (an SDK agent, the MCP proxy).
 */
export function hookHostOfAgentKey(agentKey: string): HookHostInfo | undefined {
  const base = agentKey.split("/", 1)[0]!;
  return Object.values(HOOK_HOST_INFO).find((h) => h.agentKey === base);
}
