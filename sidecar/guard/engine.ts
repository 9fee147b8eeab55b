import { CapabilityRegistry } from "./boundary";
import { compilePolicy, safeBaselinePolicy, type CompiledPolicy } from "./compile";
import { evaluate, type EvaluationEnvironment } from "./evaluate";
import type { RunTaint } from "./context";
import type { ToolDefinition } from "./facts";
import type { PathContext } from "./paths";
import type { Capability } from "./policySchema";
import { formatPolicyError, loadPolicy, type PolicyError } from "./policyLoader";
import type { GuardDecision, GuardRequest, Mode, PolicyState } from "./types";

export interface GuardEngineOptions {
  /** Makes decision ids; the default is a per-engine random prefix plus a counter (no clock reads). */
  newDecisionId?: () => string;
  /** The host's workspace, home and temp directories (hostPaths.ts); none: paths are judged as written. */
  paths?: PathContext;
  /**
   * The record that gave a run a secret (secret-then-network), looked up by run id: the sidecar's projection.
   * "unknown" in a replica, which cannot know and so never plain-allows a network call of a run.
   */
  runTaint?: ((runId: string) => RunTaint | undefined) | "unknown";
}

/**
 * What another process needs to decide exactly as this engine decides for one agent (the MCP proxy's local
 * fast path): the policy text it loaded, the workspace mode override, the agent's runtime declarations and
 * every tool definition, stamped with the engine's state version.
 */
export interface GuardSnapshot {
  version: number;
  /** The policy's state; a replica decides nothing itself unless it is "ok" or "none". */
  policy_state: PolicyState;
  /** The text of the policy in force ("ok"), or null ("none"). */
  policy_text: string | null;
  /** The directories paths are judged against (outside-workspace-writes, credential files under home). */
  paths: { workspace_root: string | null; home_dir: string | null; temp_dirs: string[] };
  workspace_mode: Mode | null;
  agent_key: string;
  capabilities: Capability[];
  tools: ToolDefinition[];
}

export interface PolicyStatus {
  state: PolicyState;
  errors: readonly PolicyError[];
  /** What every decision says about the policy (`policy.message`): the first error and what applies instead. */
  message: string | null;
}

/**
 * The stateful shell around evaluate(): the current policy, runtime capability declarations, tool
 * definitions and the workspace mode override. A broken policy never turns guards off: the last good policy
 * stays in force (state "stale"); with none yet, the built-in safe baseline applies (state "invalid").
 */
export class GuardEngine {
  private policy: CompiledPolicy = compilePolicy({});
  private state: PolicyState = "none";
  private errors: readonly PolicyError[] = [];
  private message: string | null = null;
  private hadGoodPolicy = false;
  private modeOverride: Mode | undefined;
  private readonly runtimeCapabilities = new CapabilityRegistry();
  private capabilities: CapabilityRegistry = this.policy.capabilities;
  private readonly definitions = new Map<string, ToolDefinition>();
  private readonly newDecisionId: () => string;
  private readonly paths: PathContext;
  private readonly runTaint: GuardEngineOptions["runTaint"];
  private policyText: string | null = null;
  /** Grows with every change that can change a decision: policy, mode, declarations, definitions. */
  private version = 0;
  private readonly changeListeners = new Set<(version: number) => void>();

  constructor(options: GuardEngineOptions = {}) {
    this.newDecisionId = options.newDecisionId ?? counterIds(Math.random().toString(36).slice(2, 10));
    this.paths = options.paths ?? {};
    this.runTaint = options.runTaint;
  }

  /** Load apie.policy.json text. Returns the errors (empty when the text was accepted). */
  loadPolicyText(text: string, file = "apie.policy.json"): readonly PolicyError[] {
    const result = loadPolicy(text, file);
    if (result.ok) {
      this.setPolicy(result.policy, "ok", [], null);
      this.hadGoodPolicy = true;
      this.policyText = text;
      this.changed();
      return [];
    }
    this.rejectPolicy(result.errors);
    this.changed();
    return result.errors;
  }

  /**
   * apie.policy.json exists but cannot be read (permissions, a directory, I/O error). Treated like a broken
   * file, never like a missing one: a missing policy means "no templates", an unreadable one must not.
   */
  policyUnreadable(file: string, reason: string): void {
    this.rejectPolicy([{ file, line: 1, column: 1, offset: 0, length: 0, field: "", message: `cannot read the file: ${reason}` }]);
    this.changed();
  }

  /** apie.policy.json was deleted (or never existed): back to defaults, no templates. */
  clearPolicy(): void {
    this.hadGoodPolicy = false;
    this.policyText = null;
    this.setPolicy(compilePolicy({}), "none", [], null);
    this.changed();
  }

  get policyStatus(): PolicyStatus {
    return { state: this.state, errors: this.errors, message: this.message };
  }

  get compiledPolicy(): CompiledPolicy {
    return this.policy;
  }

  /** The workspace mode: the override (status bar / apie.mode) if set, else the policy's `mode`. */
  get workspaceMode(): Mode {
    return this.modeOverride ?? this.policy.mode;
  }

  setWorkspaceMode(mode: Mode | undefined): void {
    if (mode === this.modeOverride) return;
    this.modeOverride = mode;
    this.changed();
  }

  declareCapabilities(agentKey: string, capabilities: readonly Capability[]): void {
    this.runtimeCapabilities.declare(agentKey, capabilities);
    this.capabilities = CapabilityRegistry.merged(this.policy.capabilities, this.runtimeCapabilities);
    this.changed();
  }

  declaredCapabilities(agentKey: string): Capability[] {
    return this.capabilities.declared(agentKey);
  }

  defineTool(definition: ToolDefinition): void {
    const before = this.definitions.get(definition.name);
    this.definitions.set(definition.name, definition);
    if (before === undefined || JSON.stringify(before) !== JSON.stringify(definition)) this.changed();
  }

  /** The state version (see GuardSnapshot) and a listener for its changes; returns the unsubscribe. */
  get stateVersion(): number {
    return this.version;
  }

  onDidChange(listener: (version: number) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  snapshot(agentKey: string): GuardSnapshot {
    return {
      version: this.version,
      policy_state: this.state,
      policy_text: this.state === "ok" ? this.policyText : null,
      paths: {
        workspace_root: this.paths.workspaceRoot ?? null,
        home_dir: this.paths.homeDir ?? null,
        temp_dirs: [...(this.paths.tempDirs ?? [])],
      },
      workspace_mode: this.modeOverride ?? null,
      agent_key: agentKey,
      capabilities: this.runtimeCapabilities.declared(agentKey),
      tools: [...this.definitions.values()],
    };
  }

  /**
   * An engine that decides for `snapshot.agent_key` as the one that made the snapshot, or undefined when that
   * one's policy is broken (stale or invalid: its decisions then carry state a replica must not imitate).
   * A replica does not know which runs have read a secret (runTaint "unknown"), so with secret-then-network
   * on, no network call of a run is a plain allow there: the sidecar decides those.
   */
  static replica(snapshot: GuardSnapshot, options: GuardEngineOptions = {}): GuardEngine | undefined {
    if (snapshot.policy_state !== "ok" && snapshot.policy_state !== "none") return undefined;
    const paths = snapshot.paths as GuardSnapshot["paths"] | undefined; // absent from an older sidecar
    const engine = new GuardEngine({
      ...options,
      runTaint: "unknown",
      paths: paths === undefined ? {} : { workspaceRoot: paths.workspace_root ?? undefined, homeDir: paths.home_dir ?? undefined, tempDirs: paths.temp_dirs },
    });
    if (snapshot.policy_text !== null && engine.loadPolicyText(snapshot.policy_text).length > 0) return undefined;
    if (snapshot.workspace_mode !== null) engine.setWorkspaceMode(snapshot.workspace_mode);
    if (snapshot.capabilities.length > 0) engine.declareCapabilities(snapshot.agent_key, snapshot.capabilities);
    for (const tool of snapshot.tools) engine.defineTool(tool);
    return engine;
  }

  /** `decisionId`: the id a replica already gave this decision (a decision reported to the sidecar). */
  evaluate(request: GuardRequest, decisionId?: string): GuardDecision {
    const env: EvaluationEnvironment = {
      decisionId: decisionId ?? this.newDecisionId(),
      workspaceMode: this.workspaceMode,
      capabilities: this.capabilities,
      toolDefinitions: this.definitions,
      policyState: this.state,
      policyMessage: this.message,
      paths: this.paths,
      runTaint: this.taintOf(request.runId),
    };
    return evaluate(this.policy, request, env);
  }

  private taintOf(runId: string | undefined): RunTaint | "unknown" | undefined {
    if (runId === undefined || runId === "" || this.runTaint === undefined) return undefined;
    return this.runTaint === "unknown" ? "unknown" : this.runTaint(runId);
  }

  private changed(): void {
    this.version++;
    for (const listener of this.changeListeners) listener(this.version);
  }

  /** Keep the last good policy, or fall back to the safe baseline, and say so in every decision. */
  private rejectPolicy(errors: readonly PolicyError[]): void {
    const first = formatPolicyError(errors[0]!);
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : "";
    if (this.hadGoodPolicy) {
      this.setPolicy(this.policy, "stale", errors, `${first}${more}; the last valid policy stays in force`);
    } else {
      this.setPolicy(safeBaselinePolicy(), "invalid", errors, `${first}${more}; no valid policy yet, so every template is on at its default`);
    }
  }

  private setPolicy(policy: CompiledPolicy, state: PolicyState, errors: readonly PolicyError[], message: string | null): void {
    if (policy !== this.policy) {
      this.policy = policy;
      this.capabilities = CapabilityRegistry.merged(policy.capabilities, this.runtimeCapabilities);
    }
    this.state = state;
    this.errors = errors;
    this.message = message;
  }
}

/**
 * A decision nothing stood in the way of: allowed by the policy and in effect, no guardrail matched, no drift,
 * nothing annotated, and no secret handed to the agent (`secret_access`: the sidecar must journal that read
 * before the run's next call, or a network call right after it would find the run untainted). The only kind a
 * replica may make on its own; everything else is the sidecar's to make.
 */
export function isPlainAllow(d: GuardDecision): boolean {
  return (
    d.secret_access === undefined &&
    d.policy_decision === "allow" &&
    d.effective_decision === "allow" &&
    d.enforcement_action === "proceed" &&
    d.annotation === null &&
    d.matched_guardrails.length === 0 &&
    d.drift_warnings.length === 0 &&
    d.policy.state !== "stale" &&
    d.policy.state !== "invalid"
  );
}

function counterIds(prefix: string): () => string {
  let n = 0;
  return () => `dec_${prefix}${(++n).toString(36).padStart(6, "0")}`;
}
