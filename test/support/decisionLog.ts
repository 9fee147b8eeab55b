import { mkdirSync } from "node:fs";
import path from "node:path";
import type { GuardDecision } from "../../sidecar/guard/types";
import type { RecordDataByKind } from "../../sidecar/protocol/records";
import { EVENT_LOG_FILE, EventLog } from "../../sidecar/store/eventLog";

/**
 * Writes a state directory whose event log already holds `count` guard decisions (allow, over a handful of
 * tools and agents), through the real EventLog, so a sidecar started on it recovers a genuine, hash-chained
 * log. The fastest honest way to give a sidecar a long history: deciding 100 000 calls over HTTP takes
 * minutes on a shared 2-core machine, writing them takes about a second.
 */
export async function writeDecisionLog(stateDir: string, count: number): Promise<void> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const { log } = await EventLog.open(path.join(stateDir, EVENT_LOG_FILE), { sync: false });
  const tools = ["docs.search", "files.read", "shell.exec", "http.get", "db.query"];
  for (let i = 0; i < count; i++) {
    const tool = tools[i % tools.length]!;
    const decision: GuardDecision = {
      decision_id: `dec_fixture_${i}`,
      policy_decision: "allow",
      effective_decision: "allow",
      mode: "enforce",
      enforcement_action: "proceed",
      reason: "no guardrail matched",
      annotation: null,
      matched_guardrails: [],
      inferred: null,
      drift_warnings: [],
      approval_timeout_ms: null,
      policy: { state: "ok", message: null },
    };
    const data: RecordDataByKind["decision"] = {
      request: {
        agent_key: `history-agent-${i % 4}`,
        run_id: null,
        tool: { name: tool, provider: "local", risk_level: "low" },
        action: { type: "read", name: tool },
        resource: { type: "document", environment: i % 2 === 0 ? "production" : "development", external_id: null },
        arguments: { query: `fixture ${i}`, limit: 10 },
      },
      decision,
      approval_id: null,
    };
    log.append("decision", data, { lazy: true });
  }
  await log.close();
}
