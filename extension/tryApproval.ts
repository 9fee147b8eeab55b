import * as vscode from "vscode";
import type { ApprovalWaitResponse } from "../sidecar/protocol/approvals";
import type { EvaluateResponse } from "../sidecar/protocol/v1";
import { enableTemplate } from "../sidecar/policy/policyFile";
import { agentRequest, type AgentConnection } from "./agentApi";
import { DEMO_REQUEST, DEMO_TEMPLATE, demoResult, demoStep } from "./model/demoCall";

/** One long-poll of the demo's approval; the loop re-asks until it is resolved (or expires). */
const WAIT_MS = 60_000;

/**
 * Command apie.tryApproval (the walkthrough's last step): raises a real approval from a demo agent (see
 * model/demoCall.ts), waits for the user's answer in the notification or the Approvals view, and says what an
 * agent would now do. Resolves with the final status (tests read it), or undefined when no approval was raised.
 */
export async function tryApproval(connection: AgentConnection | undefined, policyFile: string): Promise<string | undefined> {
  const decision = await agentRequest<EvaluateResponse>(connection, "POST", "/v1/guardrails/evaluate", DEMO_REQUEST);
  const step = demoStep(decision);
  if (step.kind === "decided") {
    void vscode.window.showInformationMessage(step.message);
    return undefined;
  }
  if (step.kind === "needs_template") {
    const enable = `Enable ${DEMO_TEMPLATE}`;
    if ((await vscode.window.showInformationMessage(step.message, enable)) !== enable) return undefined;
    await enableTemplate(policyFile, DEMO_TEMPLATE, undefined);
    // The sidecar picks the edit up from the file; by the time a person clicks again it has.
    const again = "Try It Safely";
    if ((await vscode.window.showInformationMessage(`Apie: enabled ${DEMO_TEMPLATE} in apie.policy.json.`, again)) === again) return tryApproval(connection, policyFile);
    return undefined;
  }
  for (;;) {
    const waited = await agentRequest<ApprovalWaitResponse>(connection, "GET", `/v1/approvals/${encodeURIComponent(step.approvalId)}/wait?timeout=${WAIT_MS}`, undefined, WAIT_MS + 10_000);
    if (waited.status === "timeout") continue;
    const message = demoResult(waited.status, waited.approval.resolved_by);
    void (waited.status === "approved" ? vscode.window.showInformationMessage(message) : vscode.window.showWarningMessage(message));
    return waited.status;
  }
}
