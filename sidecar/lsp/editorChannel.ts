import type { Connection } from "vscode-languageserver/node";
import { GetRunParamsSchema, ResolveApprovalParamsSchema, SetModeParamsSchema } from "../protocol/lspParams";
import {
  GetRunRequest,
  MAX_RECORDS_PER_NOTIFICATION,
  RecordsNotification,
  ResolveApprovalRequest,
  SetModeRequest,
  SnapshotRequest,
  StatusNotification,
  type ResolveApprovalResult,
  type Snapshot,
} from "../protocol/lsp";
import type { TimelineRecord } from "../protocol/records";
import type { RunView } from "../protocol/runs";
import type { StreamRecord } from "../protocol/stream";
import type { RunningSidecar } from "../server/sidecar";
import { switchWorkspaceMode } from "../server/workspaceMode";
import { Outbox } from "./outbox";
import { parseParams } from "./params";
import { buildSnapshot } from "./snapshot";
import { currentStatus, StatusTracker } from "./status";

/** The parts of the LSP connection the editor channel uses. */
export type ChannelConnection = Pick<Connection, "onRequest" | "sendNotification">;

/** Whoever resolves or switches through this channel is recorded as "editor" in the log. */
export const EDITOR = "editor";

/**
 * Answers the extension's custom requests (protocol/lsp.ts) on the running sidecar's services: the same
 * state, approvals broker and mode switch the HTTP API uses, so the editor and `apie` CLI never disagree.
 * Registered once the sidecar has started (inside `initialize`), so no request can arrive before it.
 */
export function registerEditorRequests(connection: ChannelConnection, sidecar: RunningSidecar): void {
  const { services } = sidecar;

  connection.onRequest(SnapshotRequest, (): Snapshot => snapshotOf(sidecar));

  connection.onRequest(SetModeRequest, async (params) => {
    const { mode } = parseParams(SetModeParamsSchema, params);
    return { mode: await switchWorkspaceMode(services, mode, EDITOR) };
  });

  connection.onRequest(ResolveApprovalRequest, async (params): Promise<ResolveApprovalResult> => {
    const { id, status, reason, scope } = parseParams(ResolveApprovalParamsSchema, params);
    const outcome = await services.approvals.resolve(id, status, EDITOR, reason ?? null, status === "approved" ? scope : undefined);
    if (outcome.ok) return { ok: true, approval: { ...outcome.approval } };
    return outcome.reason === "session_unavailable" ? { ...outcome } : { ok: false, reason: outcome.reason, approval: outcome.approval };
  });

  connection.onRequest(GetRunRequest, async (params) => {
    const { runId } = parseParams(GetRunParamsSchema, params);
    const run = services.journal.state.runs.get(runId);
    if (run === undefined) return null;
    // Copy before awaiting: the run keeps growing while its records are read back.
    const view: RunView = { ...run.view };
    const records = await services.journal.read([...run.offsets]);
    return { run: { ...view, event_count: records.length }, records: records.map(toStreamRecord) };
  });
}

/**
 * Starts the live feed: the journal's records go out as `apie/records`, those of one event-loop turn together
 * (at most MAX_RECORDS_PER_NOTIFICATION each), and a mode change or a policy reload that changed the mode, the
 * policy's state or its message becomes one `apie/status`, after the records appended before it. Started on
 * `initialized`, after the client has the initialize result. Returns the unsubscribe.
 */
export function startLiveFeed(connection: ChannelConnection, sidecar: RunningSidecar): () => void {
  const { engine, journal } = sidecar.services;
  // A failed send means the client is gone; the process is ending then (main.ts), nothing to retry.
  const ignore = (): undefined => undefined;
  const outbox = new Outbox<StreamRecord>((records) => void connection.sendNotification(RecordsNotification, { records }).catch(ignore), MAX_RECORDS_PER_NOTIFICATION);
  const tracker = new StatusTracker(currentStatus(engine));
  const sendStatusIfChanged = (): void => {
    const status = currentStatus(engine);
    if (tracker.changed(status)) outbox.push(() => void connection.sendNotification(StatusNotification, status).catch(ignore));
  };
  const offRecord = journal.onRecord((record) => {
    outbox.add(toStreamRecord(record));
    if (record.kind === "mode.changed") sendStatusIfChanged();
  });
  const offReload = sidecar.policy.onDidReload(sendStatusIfChanged);
  return () => {
    offRecord();
    offReload();
    outbox.close();
  };
}

export function snapshotOf(sidecar: RunningSidecar): Snapshot {
  const { engine, journal, keys, baseUrl } = sidecar.services;
  return buildSnapshot({
    state: journal.state,
    baseUrl: baseUrl(),
    apiKey: keys.apiKey,
    status: currentStatus(engine),
    declaredCapabilities: (key) => engine.declaredCapabilities(key),
    policyAgentKeys: engine.compiledPolicy.capabilities.agentKeys(),
  });
}

/** A log record as the timeline sees it: the chain fields (prev, hash) stay in the log. */
export function toStreamRecord(record: TimelineRecord): StreamRecord {
  return { seq: record.seq, ts: record.ts, kind: record.kind, data: record.data };
}
