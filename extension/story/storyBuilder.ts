import type { RecordDataByKind } from "../../sidecar/protocol/records";
import type { RunView } from "../../sidecar/protocol/runs";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { decisionOutcome, resourceLabel, toolLabel } from "../model/presenters";

/** Where a sentence came from: a record of the run (revealed in the Runs tree), or a guardrail (its line in apie.policy.json). */
export type StoryLink = { kind: "record"; seq: number } | { kind: "guardrail"; key: string };

export interface StorySentence {
  text: string;
  /** The record the sentence is about, plus the guardrails it names. */
  links: StoryLink[];
  /** blocked / waited / ran / failed / note: how the card highlights it. */
  tone: "blocked" | "waited" | "ran" | "failed" | "note";
}

export interface Story {
  title: string;
  summary: string;
  sentences: StorySentence[];
}

/**
 * A run told in sentences, built only from its records in log order (same records → same story). The
 * guardrail decision stays the authority: each sentence about a call says what the guard decided and why,
 * and links to that decision record and to the guardrails that made it.
 */
export function buildStory(run: RunView, records: readonly StreamRecord[]): Story {
  const sentences: StorySentence[] = [];
  const approvals = new Map<string, string>(); // approval id → tool label
  let blocked = 0;
  let waited = 0;
  let ran = 0;
  let failed = 0;
  for (const record of records) {
    switch (record.kind) {
      case "run.started":
        sentences.push({ text: `${run.agent_key} started${run.input_summary ? `: “${run.input_summary}”` : ""}${run.environment ? ` (${run.environment})` : ""}.`, links: [{ kind: "record", seq: record.seq }], tone: "note" });
        break;
      case "decision": {
        const d = record.data as RecordDataByKind["decision"];
        const tool = toolLabel(d.request);
        const where = resourceLabel(d.request.resource);
        const guardrails = d.decision.matched_guardrails.map((g) => g.key);
        const links: StoryLink[] = [{ kind: "record", seq: record.seq }, ...guardrails.map((key) => ({ kind: "guardrail" as const, key }))];
        const because = guardrails.length ? ` because ${guardrails.join(", ")} matched: ${d.decision.reason}` : "";
        const on = where ? ` on ${where}` : "";
        if (d.late !== undefined) {
          sentences.push({ text: `It asked to run ${tool}${on} but stopped waiting before Apie answered (${d.decision.effective_decision.replace("_", " ")}), so it did not run it.`, links, tone: "note" });
          break;
        }
        switch (decisionOutcome(d.decision)) {
          case "blocked":
            blocked++;
            sentences.push({ text: `It tried ${tool}${on}; Apie blocked it${because}.`, links, tone: "blocked" });
            break;
          case "pending":
            waited++;
            if (d.approval_id) approvals.set(d.approval_id, tool);
            sentences.push({ text: `It asked to run ${tool}${on}; Apie held it for a human${because}.`, links, tone: "waited" });
            break;
          case "would_block":
          case "would_require_approval":
            sentences.push({ text: `It ran ${tool}${on} in monitor mode; enforce would have ${d.decision.annotation === "would_block" ? "blocked it" : "asked for approval"}${because}.`, links, tone: "note" });
            break;
          case "warn":
            sentences.push({ text: `It ran ${tool}${on} with a warning${because}.`, links, tone: "note" });
            break;
          default:
            sentences.push({ text: `It ran ${tool}${on}; no guardrail objected.`, links, tone: "ran" });
        }
        break;
      }
      case "approval.resolved": {
        const d = record.data as RecordDataByKind["approval.resolved"];
        const tool = approvals.get(d.id) ?? "the call";
        const by = d.resolved_by === "expiry" ? "" : ` by ${d.resolved_by}`;
        const why = d.resolution_reason ? ` (“${d.resolution_reason}”)` : "";
        const text =
          d.status === "approved"
            ? `The request to run ${tool} was approved${by}${why}, so it could proceed.`
            : d.status === "expired"
              ? `Nobody answered in time: the request to run ${tool} expired and it did not run.`
              : `The request to run ${tool} was ${d.status}${by}${why}, so it did not run.`;
        sentences.push({ text, links: [{ kind: "record", seq: record.seq }], tone: d.status === "approved" ? "ran" : "blocked" });
        break;
      }
      case "event": {
        const e = (record.data as RecordDataByKind["event"]).event;
        if (e.type === "agent.action.completed") ran++;
        if (e.type === "agent.action.failed" || e.type === "agent.error") {
          failed++;
          const message = (e as { error?: { message?: string } }).error?.message;
          sentences.push({ text: `${e.tool?.name ? `${e.tool.name} failed` : "A step failed"}${message ? `: ${message}` : ""}.`, links: [{ kind: "record", seq: record.seq }], tone: "failed" });
        }
        break;
      }
      case "run.completed": {
        const d = record.data as RecordDataByKind["run.completed"];
        sentences.push({ text: `The run ended ${d.status}${d.output_summary ? `: “${d.output_summary}”` : ""}.`, links: [{ kind: "record", seq: record.seq }], tone: d.status === "completed" ? "ran" : "failed" });
        break;
      }
      default:
        break;
    }
  }
  const parts = [`${ran} call${ran === 1 ? "" : "s"} completed`, `${blocked} blocked`, `${waited} waited for approval`, ...(failed ? [`${failed} failed`] : [])];
  return { title: run.input_summary ?? run.id, summary: `${run.agent_key}: ${parts.join(", ")}.`, sentences };
}
