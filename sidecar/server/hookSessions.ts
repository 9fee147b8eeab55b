import { createHash } from "node:crypto";
import type { GuardRequest } from "../guard/types";
import { HOOK_HOST_INFO, type HookHost } from "../hooks/hosts";
import type { HookRefBody, HookSessionEndBody, HookSessionEndResponse } from "../protocol/hooks";
import type { RecordDataByKind } from "../protocol/records";
import type { RunView, SessionView } from "../protocol/runs";
import { RecentMap } from "../store/recentMap";
import { completeRun, completeSession } from "./completion";
import { firstUserPrompt } from "./hookTranscript";
import { nowIso, type SidecarServices } from "./routing";

/**
 * Coding-agent sessions (issue 12): a host's session becomes ONE Apie session, with ONE run per agent key in
 * it (the host's, and each subagent's `claude-code/<type>`), created on the first call that needs it.
 *
 * Ids are derived from the host's own (a hash of host + session id, + agent key for the run), so:
 * - hook processes racing on a session's first calls (Codex runs hooks concurrently) create it once: inside
 *   the sidecar, a creation in flight is shared (`creating`); the journal then holds it;
 * - a restarted sidecar replays `session.started` / `run.started` into its projection and finds the same ids,
 *   so it never opens a second session for the same host session.
 * A host that sends no session id (VS Code's is optional) gets one session per working directory.
 *
 * The host's session end (POST /v1/hooks/session-end) completes the session and its running runs. A call
 * that comes after it in the same host session (Claude Code `--resume`, Codex `resume`) starts the session
 * again — a second `session.started` under the same id, carrying its runs so far, so the Runs view shows it
 * running — and opens a NEW run in it: the ended run keeps its outcome, the new one is "generation" n of the
 * agent key's run (id derived from host, session, agent key and n; n = 0 is the id a first run always had).
 * After a restart the current generation is found again by walking past the completed ones (once per run).
 *
 * The sidecar also remembers, per call (host, session, tool-use id), the decision that let it run, so the
 * post-tool-use hook's outcome is linked to it: in memory (bounded), and in the decision record (`hook`), from
 * which findInLog recovers it after a restart between a call's pre and post hooks.
 */

const MAX_REMEMBERED_CALLS = 10_000;
/** How many of a run's latest records an outcome whose decision is not remembered looks through. */
const LOG_LOOKBACK = 500;

export interface HookRun {
  sessionId: string;
  runId: string;
}

interface RememberedCall {
  decisionId: string;
  request: GuardRequest;
  decidedAt: number;
}

export class HookSessions {
  private readonly creating = new Map<string, Promise<void>>();
  private readonly calls = new RecentMap<string, RememberedCall>(MAX_REMEMBERED_CALLS);
  /** Per run key (agent key + host session): its current generation, bounded like `calls`. */
  private readonly generations = new RecentMap<string, number>(MAX_REMEMBERED_CALLS);

  constructor(private readonly s: SidecarServices) {}

  /**
   * The session and run of a hook call, created (durably, once) if they do not exist yet; a session ended
   * by the host is started again, with a new run (see above).
   */
  async runFor(agentKey: string, ref: HookRefBody, cwd: string): Promise<HookRun> {
    const found = await this.openRun(agentKey, ref, cwd);
    // An end that ran between this call's check and its creation ended the run just found: once more, which
    // starts the session again with a new run (not a loop: a second end in that window leaves it as is).
    if (this.s.journal.state.runs.get(found.runId)?.view.status === "running") return found;
    return this.openRun(agentKey, ref, cwd);
  }

  private async openRun(agentKey: string, ref: HookRefBody, cwd: string): Promise<HookRun> {
    const sessionId = sessionIdOf(ref.host, ref.session_id, cwd);
    // A call racing the session's end lands after it: in a new run of the session started again.
    await this.creating.get(endKey(sessionId));
    const runId = this.runIdOf(agentKey, ref, cwd);
    const state = this.s.journal.state;
    const running = (status: string | undefined) => status === "running";
    if (state.runs.get(runId)?.view.session_id === sessionId && running(state.sessions.get(sessionId)?.status)) return { sessionId, runId };
    await this.once(sessionId, async () => {
      const ended = state.sessions.get(sessionId);
      if (running(ended?.status)) return;
      if (ended !== undefined) {
        const session: SessionView = { ...ended, status: "running", output_summary: null, completed_at: null, run_ids: [...ended.run_ids] };
        await lazily(this.s.journal.record("session.started", { session, orchestrator_agent_key: HOOK_HOST_INFO[ref.host].agentKey }, { lazy: true }));
        return;
      }
      const summary = `${HOOK_HOST_INFO[ref.host].displayName} · ${(await firstUserPrompt(ref.transcript_path)) ?? cwd}`;
      const session: SessionView = {
        id: sessionId,
        kind: "single_agent",
        status: "running",
        environment: null,
        input_summary: summary,
        output_summary: null,
        started_at: nowIso(),
        completed_at: null,
        run_ids: [],
      };
      await lazily(this.s.journal.record("session.started", { session, orchestrator_agent_key: HOOK_HOST_INFO[ref.host].agentKey }, { lazy: true }));
    });
    await this.once(runId, async () => {
      if (state.runs.has(runId)) return;
      const session = state.sessions.get(sessionId);
      const subagent = agentKey.includes("/") ? ` (${agentKey.slice(agentKey.indexOf("/") + 1)})` : "";
      const [host, rest] = splitSummary(session?.input_summary ?? HOOK_HOST_INFO[ref.host].displayName);
      const run: RunView = {
        id: runId,
        session_id: sessionId,
        agent_key: agentKey,
        status: "running",
        environment: null,
        input_summary: `${host}${subagent}${rest}`,
        output_summary: null,
        started_at: nowIso(),
        completed_at: null,
        event_count: 0,
      };
      await lazily(this.s.journal.record("run.started", { run, parent_run_id: null, step_key: null, step_name: null, role: null }, { lazy: true }));
    });
    return { sessionId, runId };
  }

  /** The decision a call ran under (the last one for its tool-use id: a redeemed grant replaces the ask). */
  remember(agentKey: string, ref: HookRefBody, cwd: string, decisionId: string, request: GuardRequest): void {
    const key = callKey(agentKey, ref, cwd);
    this.calls.set(key, { decisionId, request, decidedAt: Date.now() });
  }

  /** The decision of a call whose outcome arrived, forgotten as it is taken (one outcome per call). */
  take(agentKey: string, ref: HookRefBody, cwd: string): RememberedCall | undefined {
    const key = callKey(agentKey, ref, cwd);
    const found = this.calls.get(key);
    this.calls.delete(key);
    return found;
  }

  /**
   * A call's decision after a restart (or beyond the remembered ones): its run's latest decision records read
   * back from the log, the newest naming this tool-use id. Bounded: only the run's last LOG_LOOKBACK records.
   */
  async findInLog(agentKey: string, ref: HookRefBody, cwd: string): Promise<RememberedCall | undefined> {
    const run = this.s.journal.state.runs.get(this.runIdOf(agentKey, ref, cwd));
    if (run === undefined) return undefined;
    const records = await this.s.journal.read(run.offsets.slice(-LOG_LOOKBACK)).catch(() => []);
    for (const record of records.reverse()) {
      if (record.kind !== "decision") continue;
      const data = record.data as RecordDataByKind["decision"];
      if (data.hook?.tool_use_id !== ref.tool_use_id || data.hook.session_id !== (ref.session_id ?? null)) continue;
      const r = data.request;
      const request: GuardRequest = {
        agentKey: r.agent_key,
        runId: r.run_id ?? undefined,
        tool: { name: r.tool.name ?? undefined, provider: r.tool.provider ?? undefined, riskLevel: r.tool.risk_level ?? undefined },
        action: r.action.type === null ? undefined : { type: r.action.type, name: r.action.name ?? undefined },
        resource: r.resource.type === null ? undefined : { type: r.resource.type, environment: r.resource.environment ?? undefined, externalId: r.resource.external_id ?? undefined },
      };
      return { decisionId: data.decision.decision_id, request, decidedAt: Date.parse(record.ts) };
    }
    return undefined;
  }

  /**
   * Ends the host session: its running runs, then the session, completed with the host's reason. Unknown →
   * nothing done (no session is created just to be closed); already ended → nothing more (idempotent).
   */
  async end(body: HookSessionEndBody): Promise<HookSessionEndResponse> {
    const sessionId = sessionIdOf(body.host, body.session_id, body.cwd);
    const state = this.s.journal.state;
    if (!state.sessions.has(sessionId)) return { session_id: null, ended: false, run_ids: [] };
    const { status, summary } = endOutcome(body.host, body.reason);
    const runIds: string[] = [];
    let ended = false;
    // Registered at once, so a call arriving from now on waits for the end (runFor); the end itself waits for
    // the session's creation or restart in flight.
    await this.once(endKey(sessionId), async () => {
      await this.creating.get(sessionId);
      const session = state.sessions.get(sessionId);
      if (session === undefined) return;
      for (const runId of session.run_ids) {
        const run = state.runs.get(runId)?.view;
        if (run !== undefined && (await completeRun(this.s, run, status, summary))) runIds.push(runId);
      }
      ended = await completeSession(this.s, session, status, summary);
    });
    return { session_id: sessionId, ended, run_ids: runIds };
  }

  /** The run of the agent key in the session's current generation (see above). */
  private runIdOf(agentKey: string, ref: HookRefBody, cwd: string): string {
    const key = `${agentKey}\u0000${sessionKeyOf(ref, cwd)}`;
    const idOf = (n: number): string => `run_hook_${digest(n === 0 ? key : `${key}\u0000${n}`)}`;
    const runs = this.s.journal.state.runs;
    let n = this.generations.get(key) ?? 0;
    while (runs.get(idOf(n))?.view.status !== undefined && runs.get(idOf(n))!.view.status !== "running") n++;
    this.generations.set(key, n);
    return idOf(n);
  }

  private async once(id: string, create: () => Promise<void>): Promise<void> {
    let pending = this.creating.get(id);
    if (pending === undefined) {
      pending = create().finally(() => this.creating.delete(id));
      this.creating.set(id, pending);
    }
    await pending;
  }
}

/**
 * Session and run records are written lazily, like a plain allow: the hook's first call must not wait for
 * two fdatasyncs (its answer has a 300 ms budget). Lost in a crash, they are simply created again by the
 * next call — under the same ids, so the log still holds one session.
 */
async function lazily(appended: { backlog?: Promise<void> | undefined }): Promise<void> {
  if (appended.backlog !== undefined) await appended.backlog;
}

function sessionKeyOf(ref: Pick<HookRefBody, "host" | "session_id">, cwd: string): string {
  return `${ref.host}\u0000${ref.session_id ?? `cwd:${cwd}`}`;
}

const endKey = (sessionId: string): string => `end:${sessionId}`;

function sessionIdOf(host: HookHost, hostSessionId: string | undefined | null, cwd: string): string {
  return `ses_hook_${digest(sessionKeyOf({ host, session_id: hostSessionId ?? undefined }, cwd))}`;
}

/**
 * What a host's end reason means: an error → failed, the user aborting → cancelled (Cursor `error` /
 * `aborted`, Copilot CLI `error` / `abort`); anything else (Claude's `clear`, `logout`, `other`…) → completed.
 */
export function endOutcome(host: HookHost, reason: string | undefined): { status: "completed" | "failed" | "cancelled"; summary: string } {
  const status = reason === "error" ? "failed" : reason === "abort" || reason === "aborted" ? "cancelled" : "completed";
  return { status, summary: `${HOOK_HOST_INFO[host].displayName} session ended${reason === undefined ? "" : ` (${reason})`}` };
}

function callKey(agentKey: string, ref: HookRefBody, cwd: string): string {
  return `${agentKey}\u0000${sessionKeyOf(ref, cwd)}\u0000${ref.tool_use_id}`;
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 24);
}

/** "Claude Code · fix it" → ["Claude Code", " · fix it"], so a subagent's run reads "Claude Code (Explore) · fix it". */
function splitSummary(summary: string): [string, string] {
  const at = summary.indexOf(" · ");
  return at < 0 ? [summary, ""] : [summary.slice(0, at), summary.slice(at)];
}
