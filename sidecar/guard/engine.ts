import { CapabilityRegistry } from "./boundary";
import { compilePolicy, safeBaselinePolicy, type CompiledPolicy } from "./compile";
import { evaluate, type EvaluationEnvironment } from "./evaluate";
import type { ToolDefinition } from "./facts";
import type { Capability } from "./policySchema";
import { formatPolicyError, loadPolicy, type PolicyError } from "./policyLoader";
import type { GuardDecision, GuardRequest, Mode, PolicyState } from "./types";

export interface GuardEngineOptions {
  /** Makes decision ids; the default is a per-engine random prefix plus a counter (no clock reads). */
  newDecisionId?: () => string;
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

  constructor(options: GuardEngineOptions = {}) {
    this.newDecisionId = options.newDecisionId ?? counterIds(Math.random().toString(36).slice(2, 10));
  }

  /** Load apie.policy.json text. Returns the errors (empty when the text was accepted). */
  loadPolicyText(text: string, file = "apie.policy.json"): readonly PolicyError[] {
    const result = loadPolicy(text, file);
    if (result.ok) {
      this.setPolicy(result.policy, "ok", [], null);
      this.hadGoodPolicy = true;
      return [];
    }
    this.rejectPolicy(result.errors);
    return result.errors;
  }

  /**
   * apie.policy.json exists but cannot be read (permissions, a directory, I/O error). Treated like a broken
   * file, never like a missing one: a missing policy means "no templates", an unreadable one must not.
   */
  policyUnreadable(file: string, reason: string): void {
    this.rejectPolicy([{ file, line: 1, column: 1, offset: 0, length: 0, field: "", message: `cannot read the file: ${reason}` }]);
  }

  /** apie.policy.json was deleted (or never existed): back to defaults, no templates. */
  clearPolicy(): void {
    this.hadGoodPolicy = false;
    this.setPolicy(compilePolicy({}), "none", [], null);
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
    this.modeOverride = mode;
  }

  declareCapabilities(agentKey: string, capabilities: readonly Capability[]): void {
    this.runtimeCapabilities.declare(agentKey, capabilities);
    this.capabilities = CapabilityRegistry.merged(this.policy.capabilities, this.runtimeCapabilities);
  }

  declaredCapabilities(agentKey: string): Capability[] {
    return this.capabilities.declared(agentKey);
  }

  defineTool(definition: ToolDefinition): void {
    this.definitions.set(definition.name, definition);
  }

  evaluate(request: GuardRequest): GuardDecision {
    const env: EvaluationEnvironment = {
      decisionId: this.newDecisionId(),
      workspaceMode: this.workspaceMode,
      capabilities: this.capabilities,
      toolDefinitions: this.definitions,
      policyState: this.state,
      policyMessage: this.message,
    };
    return evaluate(this.policy, request, env);
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

function counterIds(prefix: string): () => string {
  let n = 0;
  return () => `dec_${prefix}${(++n).toString(36).padStart(6, "0")}`;
}
