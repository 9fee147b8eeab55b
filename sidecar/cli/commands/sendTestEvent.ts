import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { EvaluateResponse, IdentifyResponse } from "../../protocol/v1";
import type { EventBatchResponse, WireEventSchema } from "../../protocol/events";
import type {
  CompleteRunBodySchema,
  CompleteSessionBodySchema,
  CreateChildRunBodySchema,
  CreateSessionBodySchema,
  HandoffBodySchema,
  RunView,
  SessionView,
} from "../../protocol/runs";
import type { EvaluateBodySchema } from "../../protocol/v1";
import { parseCommandArgs } from "../args";
import type { Io } from "../io";
import { withSidecar, type SidecarClient } from "../sidecarConnection";

export const sendTestEventUsage = `Usage:
  apie send-test-event [--mode pipeline|single|proof] [--agent KEY] [--json]
Sends a small, realistic timeline to a running sidecar with the agent key, like the official SDKs'
send_test_event: a session, its run(s), a few events, and (pipeline, proof) a guard evaluation of a
production deploy. A guard call that would wait for approval is cancelled instead: a test never waits.
  single     one run calling one low-risk tool
  pipeline   an orchestrator run (LLM call, workflow step, tool, guarded deploy, handoff) and a worker run
  proof      the activation proof: a staging read, then a production deploy the guardrails should stop
Options:
  --mode M          default: pipeline
  --agent KEY       agent key the events are sent as (default: apie-test-agent)
  --state-dir DIR   folder holding sidecar.json (default: ./.apie)
  --json            print {session_id, run_ids, mode, events_acknowledged, guard} as JSON
Exit codes: 0 sent, 1 failure (no sidecar, refused), 2 usage.`;

const Args = z.object({
  mode: z.enum(["pipeline", "single", "proof"]).default("pipeline"),
  agent: z.string().min(1).default("apie-test-agent"),
  "state-dir": z.string().min(1).optional(),
  json: z.boolean().default(false),
  positionals: z.tuple([]),
});

type Mode = z.infer<typeof Args>["mode"];
type WireEvent = z.input<typeof WireEventSchema> & Record<string, unknown>;

interface GuardOutcome {
  tool: string;
  policy_decision: string;
  effective_decision: string;
  enforcement_action: string;
  annotation: string | null;
  guardrails: string[];
  /** An approval the test opened and cancelled right away. */
  cancelled_approval: string | null;
}

export interface TestEventResult {
  mode: Mode;
  session_id: string;
  run_ids: string[];
  events_acknowledged: number;
  guard: GuardOutcome | null;
}

const TEST_TOOL = { name: "test_tool", provider: "apie", risk_level: "low" };
const TEST_RESOURCE = { type: "test_resource", provider: "apie" };

/** One sidecar conversation as an SDK has it: agent identity, per-run sequence numbers, queued events. */
class TestAgent {
  private readonly queue: WireEvent[] = [];
  private readonly sequences = new Map<string, number>();
  acknowledged = 0;
  agentId = "";

  constructor(
    private readonly c: SidecarClient,
    readonly key: string,
  ) {}

  async identify(): Promise<void> {
    this.agentId = (await this.c.post<IdentifyResponse>("/v1/agents/identify", { agent: { key: this.key, name: "apie send-test-event" } })).agent_id;
  }

  async session(kind: "single_agent" | "pipeline" | "activation_proof", summary: string, metadata: Record<string, unknown>): Promise<SessionView> {
    const body: z.input<typeof CreateSessionBodySchema> = {
      kind,
      orchestrator_agent_key: this.key,
      orchestrator_agent_id: this.agentId,
      input_summary: summary,
      metadata,
    };
    return this.c.post<SessionView>("/v1/sessions", body);
  }

  async run(sessionId: string, fields: Omit<z.input<typeof CreateChildRunBodySchema>, "agent_key" | "agent_id">): Promise<RunView> {
    const body: z.input<typeof CreateChildRunBodySchema> = { agent_key: this.key, agent_id: this.agentId, ...fields };
    return this.c.post<RunView>(`/v1/sessions/${encodeURIComponent(sessionId)}/runs`, body);
  }

  event(type: string, run: RunView, fields: Record<string, unknown> = {}): void {
    const sequence = (this.sequences.get(run.id) ?? 0) + 1;
    this.sequences.set(run.id, sequence);
    this.queue.push({
      type,
      agent_key: this.key,
      agent_id: this.agentId,
      run_id: run.id,
      session_id: run.session_id,
      event_id: randomUUID(),
      sequence_number: sequence,
      timestamp: new Date().toISOString(),
      ...fields,
    });
  }

  /** A tool call as `with_tool(..., guard=False)` reports it: called, requested, completed. */
  toolCall(run: RunView, tool: Record<string, unknown>, action: Record<string, unknown>, resource: Record<string, unknown>): void {
    const environment = resource.environment ?? null;
    this.event("agent.tool.called", run, { tool, action, resource });
    this.event("agent.action.requested", run, { tool, action, resource, environment });
    this.event("agent.action.completed", run, { tool, action, resource, environment, metadata: { result: { ok: true } } });
  }

  /**
   * A guarded call, as `with_guard` does it: evaluate, report the decision, then run or not. A pending approval
   * is cancelled at once (the agent withdrawing its request), so the test leaves nothing in the queue.
   */
  async guarded(run: RunView, body: Omit<z.input<typeof EvaluateBodySchema>, "agent_key" | "run_id">, scenario: string): Promise<GuardOutcome> {
    const request: z.input<typeof EvaluateBodySchema> = { agent_key: this.key, run_id: run.id, ...body };
    const d = await this.c.post<EvaluateResponse>("/v1/guardrails/evaluate", request);
    const { action, resource, tool } = body;
    this.event("agent.guardrail.evaluated", run, {
      action,
      resource,
      tool,
      decision: { policyDecision: d.policy_decision, effectiveDecision: d.effective_decision, enforcementAction: d.enforcement_action, mode: d.mode, reason: d.reason },
    });
    let cancelled: string | null = null;
    if (d.approval_request !== null) {
      const id = d.approval_request.id;
      await this.c.post(`/v1/approvals/${encodeURIComponent(id)}/cancel`, { reason: "apie send-test-event does not wait for approvals" });
      cancelled = id;
      this.event("agent.approval.requested", run, { action, resource, approval: { approval_id: id, status: "pending" }, metadata: { approval_id: id, reason: d.reason } });
      this.event("agent.approval.resolved", run, { approval: { approval_id: id, status: "cancelled" }, metadata: { approval_id: id, status: "cancelled" } });
    }
    if (d.enforcement_action === "proceed" || d.enforcement_action === "warn") {
      this.event("agent.action.requested", run, { action, resource, tool, environment: resource?.environment ?? null });
      this.event("agent.action.completed", run, { action, resource, tool, environment: resource?.environment ?? null, metadata: { result: { status: "executed" } } });
    } else {
      const why = d.enforcement_action === "block" ? `blocked: ${d.reason}` : `not approved (cancelled by the test): ${d.reason}`;
      this.event("agent.error", run, { error: { message: why }, metadata: { expected: true, scenario } });
    }
    return {
      tool: tool?.name ?? action?.name ?? "?",
      policy_decision: d.policy_decision,
      effective_decision: d.effective_decision,
      enforcement_action: d.enforcement_action,
      annotation: d.annotation,
      guardrails: d.matched_guardrails.map((g) => g.key),
      cancelled_approval: cancelled,
    };
  }

  /** Sends the queued events; counts what the sidecar acknowledged (durably written). */
  async flush(): Promise<void> {
    if (this.queue.length === 0) return;
    const events = this.queue.splice(0);
    this.acknowledged += (await this.c.post<EventBatchResponse>("/v1/events", { events })).accepted;
  }

  async completeRun(run: RunView): Promise<void> {
    await this.flush();
    const body: z.input<typeof CompleteRunBodySchema> = { status: "completed" };
    await this.c.post(`/v1/runs/${encodeURIComponent(run.id)}/complete`, body);
  }

  async completeSession(session: SessionView): Promise<void> {
    await this.flush();
    const body: z.input<typeof CompleteSessionBodySchema> = { status: "completed" };
    await this.c.post(`/v1/sessions/${encodeURIComponent(session.id)}/complete`, body);
  }

  handoff(sessionId: string, body: z.input<typeof HandoffBodySchema>): Promise<unknown> {
    return this.c.post(`/v1/sessions/${encodeURIComponent(sessionId)}/handoffs`, body);
  }
}

async function single(a: TestAgent): Promise<TestEventResult> {
  const session = await a.session("single_agent", "Apie SDK test run", { test: true });
  const run = await a.run(session.id, { input_summary: "Apie SDK test run" });
  a.toolCall(run, TEST_TOOL, { type: "read", name: "test_tool" }, TEST_RESOURCE);
  await a.completeRun(run);
  await a.completeSession(session);
  return { mode: "single", session_id: session.id, run_ids: [run.id], events_acknowledged: a.acknowledged, guard: null };
}

async function pipeline(a: TestAgent): Promise<TestEventResult> {
  const session = await a.session("pipeline", "Apie SDK pipeline test", { test: true });
  const orchestrator = await a.run(session.id, { step_name: "Orchestrator", step_index: 0, input_summary: "Orchestrator step" });
  a.event("agent.llm.called", orchestrator, { step_name: "Plan", event_category: "llm", payload_summary: { model: "test-model", purpose: "plan" } });
  a.event("agent.llm.completed", orchestrator, { step_name: "Plan", event_category: "llm" });
  a.event("agent.workflow.step.started", orchestrator, { step_name: "Validate inputs", step_index: 0, event_category: "workflow" });
  a.event("agent.workflow.step.completed", orchestrator, { step_name: "Validate inputs", step_index: 0, event_category: "workflow" });
  a.toolCall(orchestrator, TEST_TOOL, { type: "read", name: "test_tool" }, TEST_RESOURCE);
  const guard = await a.guarded(
    orchestrator,
    {
      action: { type: "execute", name: "deploy_pipeline" },
      resource: { type: "deployment_event", provider: "internal_ops", environment: "production" },
      tool: { name: "deploy_pipeline_tool", provider: "internal_ops", riskLevel: "high" },
      risk_level: "high",
      metadata: { test: true, scenario: "guardrail_evaluation" },
    },
    "guardrail_evaluation",
  );
  const payload = { releaseId: "rel_test", filesChanged: 3 };
  await a.handoff(session.id, { source_run_id: orchestrator.id, source_agent_id: a.agentId, reason: "Delegate worker step", payload_summary: payload, status: "requested" });
  a.event("agent.handoff.requested", orchestrator, { event_category: "handoff", payload_summary: payload, metadata: { reason: "Delegate worker step" } });
  await a.flush();
  const worker = await a.run(session.id, { parent_run_id: orchestrator.id, step_name: "Worker", step_index: 1, role: "worker", input_summary: "Worker step" });
  a.event("agent.handoff.completed", worker, { event_category: "handoff", payload_summary: { releaseId: "rel_test", status: "accepted" } });
  a.event("agent.mcp.called", worker, { step_name: "Lookup", event_category: "mcp", payload_summary: { server: "test-mcp", tool: "lookup" } });
  a.event("agent.mcp.completed", worker, { step_name: "Lookup", event_category: "mcp" });
  a.toolCall(worker, { ...TEST_TOOL, name: "test_tool_worker" }, { type: "read", name: "test_tool_worker" }, TEST_RESOURCE);
  await a.completeRun(worker);
  await a.completeRun(orchestrator);
  await a.completeSession(session);
  return { mode: "pipeline", session_id: session.id, run_ids: [orchestrator.id, worker.id], events_acknowledged: a.acknowledged, guard };
}

async function proof(a: TestAgent): Promise<TestEventResult> {
  const session = await a.session("activation_proof", "Apie activation proof", { test: true, scenario: "activation_proof" });
  const run = await a.run(session.id, { input_summary: "Activation proof run" });
  a.toolCall(
    run,
    { name: "proof.inspect_release", provider: "apie", risk_level: "low" },
    { type: "read", name: "inspect_release" },
    { type: "deployment_event", provider: "apie", environment: "staging" },
  );
  const guard = await a.guarded(
    run,
    {
      tool: { name: "proof.deploy_release", provider: "apie", riskLevel: "high" },
      action: { type: "execute", name: "deploy_release" },
      resource: { type: "deployment_event", provider: "apie", environment: "production" },
      risk_level: "high",
      metadata: { test: true, scenario: "activation_proof" },
    },
    "activation_proof",
  );
  await a.completeRun(run);
  await a.completeSession(session);
  return { mode: "proof", session_id: session.id, run_ids: [run.id], events_acknowledged: a.acknowledged, guard };
}

const SCENARIOS: Record<Mode, (a: TestAgent) => Promise<TestEventResult>> = { single, pipeline, proof };

export async function sendTestEventCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, { mode: { type: "string" }, agent: { type: "string" }, "state-dir": { type: "string" }, json: { type: "boolean" } }, Args);
  const result = await withSidecar({ need: "agent", stateDir: args["state-dir"] }, async (c) => {
    const agent = new TestAgent(c, args.agent);
    await agent.identify();
    return SCENARIOS[args.mode](agent);
  });
  if (args.json) {
    io.out(JSON.stringify(result, null, 2) + "\n");
    return 0;
  }
  io.out(`session ${result.session_id} (${result.mode}, agent ${args.agent})\n`);
  io.out(`runs: ${result.run_ids.join(", ")}\n`);
  if (result.guard !== null) io.out(`guard: ${describeGuard(result.guard)}\n`);
  io.out(`events acknowledged: ${result.events_acknowledged}\n`);
  return 0;
}

function describeGuard(g: GuardOutcome): string {
  const by = g.guardrails.length > 0 ? ` [${g.guardrails.join(", ")}]` : "";
  const note = g.annotation !== null ? ` (${g.annotation.replace(/_/g, " ")} in enforce mode)` : "";
  const cancelled = g.cancelled_approval !== null ? `; approval ${g.cancelled_approval} cancelled (a test does not wait)` : "";
  return `${g.tool} → ${g.policy_decision}, ${g.enforcement_action}${note}${by}${cancelled}`;
}
