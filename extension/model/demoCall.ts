import type { ApprovalWaitStatus } from "../../sidecar/protocol/approvals";
import type { z } from "zod";
import type { EvaluateBodySchema, EvaluateResponse } from "../../sidecar/protocol/v1";

/**
 * The walkthrough's "Try it safely" (command apie.tryApproval): one guard call made exactly as an agent
 * makes it (POST /v1/guardrails/evaluate with the agent key), so the approval it raises is a real one — the
 * notification, the Approvals view, the status bar and the Runs view show it like any other. Nothing runs
 * after the answer: the demo agent only reports what an agent would now do.
 *
 * Which call surely needs approval whatever the user's policy is? None: with no apie.policy.json every call
 * is allowed (no template is on by default), and the workspace may be in monitor. So the call is a production
 * release — what the prod-deploys template (default require_approval) sends for approval — with `mode:
 * "enforce"`, which enforces this call only (an agent's mode can only tighten the workspace's). When no
 * guardrail matched, the command offers to enable prod-deploys; any other answer of the policy is shown as is.
 */

export const DEMO_AGENT = "apie-demo";
export const DEMO_TEMPLATE = "prod-deploys";

export const DEMO_REQUEST = {
  agent_key: DEMO_AGENT,
  mode: "enforce",
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
  tool: { name: "deploy.release", provider: DEMO_AGENT, riskLevel: "high" },
  arguments: { version: "walkthrough-demo", note: "Apie walkthrough demo: nothing is deployed" },
  metadata: { source: "Apie walkthrough" },
} as const satisfies z.input<typeof EvaluateBodySchema>;

export type DemoStep =
  /** An approval waits for the user (its notification is up). */
  | { kind: "approval"; approvalId: string }
  /** No guardrail matched: the policy lets production releases through; prod-deploys would ask. */
  | { kind: "needs_template"; message: string }
  /** The policy answered something else (a block, a warning, an approval cap…): say what, and stop. */
  | { kind: "decided"; message: string };

/** What the demo does next, given the sidecar's answer to DEMO_REQUEST. */
export function demoStep(d: EvaluateResponse): DemoStep {
  if (d.enforcement_action === "wait_for_approval" && d.approval_request?.status === "pending") return { kind: "approval", approvalId: d.approval_request.id };
  if (d.matched_guardrails.length === 0) {
    return {
      kind: "needs_template",
      message: `Apie: your policy lets a production release through without asking (no guardrail matched). The ${DEMO_TEMPLATE} template sends production deploys for approval. Enable it in apie.policy.json?`,
    };
  }
  const guardrails = d.matched_guardrails.map((g) => `${g.key} (${g.decision})`).join(", ");
  return { kind: "decided", message: `Apie demo: your policy answered "${d.effective_decision}" (${guardrails}): ${d.reason}. No approval to answer.` };
}

/** What the demo says once its approval is resolved. */
export function demoResult(status: ApprovalWaitStatus, resolvedBy: string | null): string {
  switch (status) {
    case "approved":
      return `Apie demo: approved${resolvedBy ? ` by ${resolvedBy}` : ""}. An agent would now run deploy.release (once: the grant is for this exact call). Nothing was deployed.`;
    case "rejected":
      return `Apie demo: denied. An agent's call would end with ApieError approval_rejected, and deploy.release would not run.`;
    case "expired":
      return "Apie demo: nobody answered in time, so the approval expired; an agent's call would end as denied.";
    case "cancelled":
      return "Apie demo: the approval was cancelled.";
    case "timeout":
      return "Apie demo: still waiting for an answer.";
  }
}
