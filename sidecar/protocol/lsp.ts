import { NotificationType, RequestType, RequestType0 } from "vscode-jsonrpc";
import type { z } from "zod";
import type { GetRunParamsSchema, ResolveApprovalParamsSchema, SetModeParamsSchema, SidecarInitOptionsSchema } from "./lspParams";
import type { Capability } from "../guard/policySchema";
import type { Decision, Mode, PolicyState } from "../guard/types";
import type { ApprovalView } from "./approvals";
import type { RunView, SessionView } from "./runs";
import type { StreamRecord } from "./stream";

/**
 * The editor's private channel to its sidecar: the same IPC connection vscode-languageclient uses for LSP
 * (diagnostics and hovers for apie.policy.json / apie.mcp.json) carries these custom messages. One constant
 * per message, imported by both sides; each says who sends it. Parameters coming from the extension are
 * parsed on the sidecar side with the zod schemas of `lspParams.ts` (kept apart so the extension, which
 * only sends them, does not load zod at activation).
 */


/** What one agent was seen doing with one tool (projected from its decision records). */
export interface ObservedTool {
  name: string;
  provider: string | null;
  calls: number;
  decisions: Record<Decision, number>;
  /** Monitor-mode calls that enforce would have stopped. */
  wouldBlock: number;
  lastSeen: string;
  /** Action types, resource types and environments it was called with (what a declaration would list). */
  actions: string[];
  resources: string[];
  environments: string[];
}

/** What one agent declared vs what it was seen doing (the Boundary view). */
export interface AgentBoundary {
  key: string;
  id: string;
  name: string | null;
  declared: Capability[];
  /** `declared: false` is drift — the agent used a tool it never declared (meaningful when it declared some). */
  observed: (ObservedTool & { declared: boolean })[];
}

export type SidecarInitOptions = z.infer<typeof SidecarInitOptionsSchema>;

/** Everything the views need at (re)connect; live changes then arrive as `apie/records`. */
export interface Snapshot {
  /** For the terminals' APIE_BASE_URL / APIE_API_KEY. The admin key never crosses this channel. */
  baseUrl: string;
  apiKey: string;
  mode: Mode;
  policy: { state: PolicyState; message: string | null };
  lastSeq: number;
  /** Pending ones, then the most recently resolved (bounded). */
  approvals: ApprovalView[];
  /** Most recent first, bounded. */
  sessions: SessionView[];
  runs: RunView[];
  agents: AgentBoundary[];
}

/** Extension → sidecar: the current state. */
export const SnapshotRequest = new RequestType0<Snapshot, void>("apie/snapshot");

/** Extension → sidecar: the status bar switched the workspace mode (journaled as `mode.changed`). */
export const SetModeRequest = new RequestType<z.infer<typeof SetModeParamsSchema>, { mode: Mode }, void>("apie/setMode");

export type ResolveApprovalResult =
  | { ok: true; approval: ApprovalView }
  | { ok: false; reason: "unknown" | "already_resolved"; approval?: ApprovalView | undefined }
  /** `scope: "session"` for an approval with no running run: nothing resolved; `message` says why. */
  | { ok: false; reason: "session_unavailable"; approval: ApprovalView; message: string };
/** Extension → sidecar: a human answered (notification button or Approvals view). First answer wins. */
export const ResolveApprovalRequest = new RequestType<z.infer<typeof ResolveApprovalParamsSchema>, ResolveApprovalResult, void>("apie/resolveApproval");

/** Extension → sidecar: one run and its records in log order, read back from disk. */
export const GetRunRequest = new RequestType<z.infer<typeof GetRunParamsSchema>, { run: RunView; records: StreamRecord[] } | null, void>("apie/getRun");

/** Most records one `apie/records` carries (an agent's largest event batch, MAX_EVENTS_PER_BATCH). */
export const MAX_RECORDS_PER_NOTIFICATION = 500;

/**
 * Sidecar → extension: records appended to the log (the timeline's live feed). The records of one turn of
 * the sidecar's event loop travel together, so an agent's batch of 500 events is one message and one view
 * update, not 500. Contract: `records` is non-empty and holds at most MAX_RECORDS_PER_NOTIFICATION; across
 * notifications every record arrives exactly once, in log order (seq strictly increasing), and a record
 * appended before an `apie/status` is sent before it.
 */
export const RecordsNotification = new NotificationType<{ records: StreamRecord[] }>("apie/records");

/** Sidecar → extension: the policy was reloaded (state or message changed) or the mode changed. */
export const StatusNotification = new NotificationType<{ mode: Mode; policy: { state: PolicyState; message: string | null } }>("apie/status");
