import { z } from "zod";
import { ApprovalStatusSchema, type ApprovalResponse, type ApprovalView } from "../../protocol/approvals";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { withSidecar } from "../sidecarConnection";

export const approvalsUsage = `Usage:
  apie approvals list [--status S] [--json]
  apie approvals approve ID [--session] [--reason TEXT] [--json]
  apie approvals reject ID [--reason TEXT] [--json]
Lists and resolves the approvals of a running sidecar, found through APIE_BASE_URL + APIE_ADMIN_KEY or the
discovery file .apie/sidecar.json. Needs the admin key: the agent key (APIE_API_KEY) can never resolve or
list approvals. An approval resolves once; resolving it again fails.
Options:
  --status S        pending | approved | rejected | expired | cancelled | all (default: pending)
  --reason TEXT     why; recorded with the resolution
  --session         approve for the rest of the agent's session: the same tool and normalized command or
                    path, in the same run, passes without a new approval until the run ends (never a block)
  --state-dir DIR   folder holding sidecar.json (default: ./.apie)
  --json            print the sidecar's JSON answer
Exit codes: 0 ok, 1 failure (no sidecar, unknown or already resolved approval), 2 usage.`;

const Common = { "state-dir": z.string().min(1).optional(), json: z.boolean().default(false) };

const ListArgs = z.object({
  ...Common,
  status: z.enum([...ApprovalStatusSchema.options, "all"]).default("pending"),
  positionals: z.tuple([z.literal("list")]),
});

const ResolveArgs = z.object({
  ...Common,
  reason: z.string().max(2000).optional(),
  session: z.boolean().default(false),
  positionals: z.tuple([z.enum(["approve", "reject"]), z.string({ error: "missing approval ID" }).min(1)]),
}).refine((a) => !a.session || a.positionals[0] === "approve", { message: "--session only applies to approve", path: ["session"] });

const OPTIONS = { "state-dir": { type: "string" }, json: { type: "boolean" }, status: { type: "string" }, reason: { type: "string" }, session: { type: "boolean" } } as const;

export async function approvalsCommand(argv: readonly string[], io: Io): Promise<number> {
  const sub = argv[0];
  if (sub === "list") {
    const { status, json, "state-dir": stateDir } = parseCommandArgs(argv, pick(OPTIONS, "state-dir", "json", "status"), ListArgs);
    const query = status === "all" ? "" : `?status=${status}`;
    const body = await withSidecar({ need: "admin", stateDir, purpose: "listing approvals" }, (c) => c.get<{ approvals: ApprovalView[] }>(`/v1/approvals${query}`));
    if (json) {
      io.out(JSON.stringify(body, null, 2) + "\n");
      return 0;
    }
    io.out(formatApprovals(body.approvals, status, Date.now()));
    return 0;
  }
  if (sub === "approve" || sub === "reject") {
    const args = parseCommandArgs(argv, pick(OPTIONS, "state-dir", "json", "reason", "session"), ResolveArgs);
    const [verb, id] = args.positionals;
    const body = await withSidecar({ need: "admin", stateDir: args["state-dir"], purpose: verb === "approve" ? "approving" : "rejecting" }, (c) =>
      c.post<ApprovalResponse>(`/v1/approvals/${encodeURIComponent(id)}/${verb}`, { reason: args.reason ?? null, ...(args.session ? { scope: "session" } : {}) }),
    );
    if (args.json) io.out(JSON.stringify(body, null, 2) + "\n");
    else io.out(`${body.approval.scope === "session" ? "approved for this session" : body.approval.status} ${body.approval.id}: ${describeCall(body.approval)} for ${body.approval.agent_key}${args.reason ? ` (${args.reason})` : ""}\n`);
    return 0;
  }
  throw new UsageError(sub === undefined ? "missing subcommand (list, approve or reject)" : `unknown subcommand "${sub}"`);
}

function pick<T extends Record<string, unknown>, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

/** `deploy.release (execute) on deployment_event@production` */
export function describeCall(a: Pick<ApprovalView, "tool" | "action" | "resource">): string {
  const tool = a.tool.name ?? a.action.name ?? "?";
  const action = a.action.type ? ` (${a.action.type})` : "";
  return `${tool}${action} on ${describeResource(a.resource)}`;
}

function describeResource(r: ApprovalView["resource"]): string {
  const type = r.type ?? "resource";
  return r.environment ? `${type}@${r.environment}` : type;
}

export function formatApprovals(approvals: readonly ApprovalView[], status: string, now: number): string {
  if (approvals.length === 0) return status === "all" ? "no approvals\n" : `no ${status} approvals\n`;
  const rows = approvals.map((a) => [
    a.id,
    a.status,
    a.agent_key,
    `${a.tool.name ?? a.action.name ?? "?"}${a.action.type ? ` · ${a.action.type}` : ""}`,
    describeResource(a.resource),
    a.status === "pending" ? timeLeft(Date.parse(a.expires_at) - now) : `${a.status} by ${a.resolved_by ?? "?"}`,
    truncate(a.resolution_reason ? `${a.reason} — ${a.resolution_reason}` : a.reason, 72),
  ]);
  const pending = approvals.filter((a) => a.status === "pending").length;
  const hint = pending > 0 ? `\n${pending} pending; resolve with: apie approvals approve|reject ID [--reason TEXT]\n` : "";
  return table(["ID", "STATUS", "AGENT", "TOOL · ACTION", "RESOURCE", "TIME LEFT", "REASON"], rows) + hint;
}

/** "4m 05s", "1h 02m", "expiring" */
export function timeLeft(ms: number): string {
  if (ms <= 0) return "expiring";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}
