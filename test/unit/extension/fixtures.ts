import type { GuardDecision } from "../../../sidecar/guard/types";
import type { ApprovalView } from "../../../sidecar/protocol/approvals";
import type { Snapshot } from "../../../sidecar/protocol/lsp";
import type { RecordDataByKind, RecordKind } from "../../../sidecar/protocol/records";
import type { StreamRecord } from "../../../sidecar/protocol/stream";

let seq = 0;
export function resetSeq(start = 0): void {
  seq = start;
}

export function rec<K extends RecordKind>(kind: K, data: RecordDataByKind[K]): StreamRecord {
  seq++;
  return { seq, ts: new Date(Date.UTC(2026, 10, 24, 12, 0, seq)).toISOString(), kind, data };
}

export function decision(overrides: Partial<GuardDecision> = {}): GuardDecision {
  return {
    decision_id: "dec_1",
    policy_decision: "block",
    effective_decision: "block",
    mode: "enforce",
    enforcement_action: "block",
    reason: "deployment in production",
    annotation: null,
    matched_guardrails: [{ key: "prod-deploys", name: "Production deploys", decision: "block", reason: "deployment in production", source: "template" }],
    inferred: null,
    drift_warnings: [],
    approval_timeout_ms: null,
    policy: { state: "ok", message: null },
    ...overrides,
  };
}

export const request = (runId: string | null = "run_1") => ({
  agent_key: "release-gate",
  run_id: runId,
  tool: { name: "deploy.release", provider: "cicd", risk_level: "high" as const },
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production", external_id: null },
  arguments: { version: "1.4.2" },
});

export function approval(overrides: Partial<ApprovalView> = {}): ApprovalView {
  return {
    id: "apr_1",
    status: "pending",
    action_hash: "h",
    agent_key: "release-gate",
    run_id: "run_1",
    decision_id: "dec_1",
    tool: { name: "deploy.release", provider: "cicd" },
    action: { type: "execute", name: "deploy.release" },
    resource: { type: "deployment_event", environment: "production", external_id: null },
    risk_level: "high",
    arguments: { version: "1.4.2" },
    reason: "deployment in production",
    matched_guardrails: [{ key: "prod-deploys", name: "Production deploys", decision: "require_approval", reason: "deployment in production", source: "template" }],
    created_at: "2026-11-24T12:00:00.000Z",
    expires_at: "2026-11-24T12:05:00.000Z",
    resolved_at: null,
    resolved_by: null,
    resolution_reason: null,
    scope: null,
    ...overrides,
  };
}

export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    baseUrl: "http://127.0.0.1:1",
    apiKey: "apie_x",
    mode: "enforce",
    policy: { state: "ok", message: null },
    lastSeq: 0,
    approvals: [],
    sessions: [],
    runs: [],
    agents: [],
    ...overrides,
  };
}
