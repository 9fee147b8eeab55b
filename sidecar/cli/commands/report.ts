import { writeFile } from "node:fs/promises";
import { z } from "zod";
import {
  ReportWindowSchema,
  type AgentBoundaryReport,
  type BoundaryReport,
  type CreateReportBody,
  type CreateReportResponse,
  type GetReportResponse,
  type ReportCounts,
} from "../../protocol/reports";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { withSidecar } from "../sidecarConnection";

export const reportUsage = `Usage:
  apie report create [--last 24h|7d|30d] [--agent KEY] [--env E,F] [--json] [--out FILE]
  apie report get ID [--json] [--out FILE]
Boundary report from a running sidecar: per agent, its declared capabilities against what it did in the
window — tools called with their decisions (allow, warn, require_approval, block, would block), undeclared
tools used (drift), declared tools never used, approvals.
Options:
  --last W          window: 24h, 7d, 30d, or any Nh / Nd (default: 7d)
  --agent KEY       one agent only
  --env E,F         only calls on resources in these environments
  --json            the report as JSON instead of text
  --out FILE        write the report to FILE instead of stdout
  --state-dir DIR   folder holding sidecar.json (default: ./.apie)
Exit codes: 0 ok, 1 failure (no sidecar, unknown agent or report), 2 usage.`;

const Common = {
  json: z.boolean().default(false),
  out: z.string().min(1).optional(),
  "state-dir": z.string().min(1).optional(),
};

const CreateArgs = z.object({
  ...Common,
  last: ReportWindowSchema.default("7d"),
  agent: z.string().min(1).optional(),
  env: z
    .string()
    .transform((s) => s.split(",").map((p) => p.trim()).filter((p) => p !== ""))
    .optional(),
  positionals: z.tuple([z.literal("create")]),
});

const GetArgs = z.object({ ...Common, positionals: z.tuple([z.literal("get"), z.string({ error: "missing report ID" }).min(1)]) });

const OPTIONS = {
  json: { type: "boolean" },
  out: { type: "string" },
  "state-dir": { type: "string" },
  last: { type: "string" },
  agent: { type: "string" },
  env: { type: "string" },
} as const;

export async function reportCommand(argv: readonly string[], io: Io): Promise<number> {
  const sub = argv[0];
  let report: BoundaryReport;
  let output: { json: boolean; out?: string | undefined };
  if (sub === "create") {
    const args = parseCommandArgs(argv, OPTIONS, CreateArgs);
    output = args;
    const body: CreateReportBody = {
      window: args.last,
      agent_key: args.agent ?? null,
      filters: args.env === undefined ? null : { environments: args.env },
    };
    report = (await withSidecar({ need: "agent", stateDir: args["state-dir"] }, (c) => c.post<CreateReportResponse>("/v1/boundary-reports", body))).report;
  } else if (sub === "get") {
    const args = parseCommandArgs(argv, { json: OPTIONS.json, out: OPTIONS.out, "state-dir": OPTIONS["state-dir"] }, GetArgs);
    output = args;
    const id = encodeURIComponent(args.positionals[1]);
    report = (await withSidecar({ need: "agent", stateDir: args["state-dir"] }, (c) => c.get<GetReportResponse>(`/v1/boundary-reports/${id}`))).report;
  } else {
    throw new UsageError(sub === undefined ? "missing subcommand (create or get)" : `unknown subcommand "${sub}"`);
  }
  const text = output.json ? JSON.stringify(report, null, 2) + "\n" : renderReport(report);
  if (output.out === undefined) {
    io.out(text);
  } else {
    await writeFile(output.out, text);
    io.out(`wrote ${output.out} (report ${report.report_id}, ${plural(report.agents.length, "agent")})\n`);
  }
  return 0;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function countsLine(c: ReportCounts): string {
  const d = c.decisions;
  const parts = [
    `${plural(c.calls, "call")} (${c.guarded_calls} guarded, ${c.reported_calls} reported)`,
    `allow ${d.allow}`,
    `warn ${d.warn}`,
    `require_approval ${d.require_approval}`,
    `block ${d.block}`,
  ];
  if (c.would_block > 0) parts.push(`would block ${c.would_block}`);
  if (c.would_require_approval > 0) parts.push(`would require approval ${c.would_require_approval}`);
  return parts.join(" · ");
}

function approvalsLine(a: Record<string, number>): string | undefined {
  const parts = Object.entries(a)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  return parts.length === 0 ? undefined : parts.join(" · ");
}

/** The report as markdown: readable in a terminal, renders in a PR description or a wiki. */
export function renderReport(r: BoundaryReport): string {
  const lines: string[] = [];
  lines.push(`# ${r.title}`, "");
  lines.push(`Window: ${r.window.start} → ${r.window.end} · generated ${r.generated_at} · ${r.report_id}`);
  if (r.filters.environments !== null) lines.push(`Environments: ${r.filters.environments.join(", ")}`);
  lines.push("");
  const t = r.totals;
  lines.push(`**Totals:** ${plural(t.agents, "agent")} · ${countsLine(t)}`);
  lines.push(`**Drift:** ${plural(t.undeclared_tools, "undeclared tool")} in use · ${plural(t.unused_declared_tools, "declared tool")} unused`);
  const approvals = approvalsLine(t.approvals);
  if (approvals !== undefined) lines.push(`**Approvals:** ${approvals}`);
  if (r.agents.length === 0) lines.push("", "No agent activity in this window and no declared capabilities.");
  for (const agent of r.agents) lines.push("", ...renderAgent(agent));
  if (r.notes.length > 0) lines.push("", ...r.notes.map((n) => `_Note: ${n}_`));
  return lines.join("\n") + "\n";
}

function renderAgent(a: AgentBoundaryReport): string[] {
  const lines: string[] = [];
  const id = a.agent_id !== null ? ` (${a.agent_id})` : "";
  lines.push(`## ${a.agent_key}${a.name !== null && a.name !== a.agent_key ? ` — ${a.name}` : ""}${id}`, "");
  lines.push(
    a.has_contract
      ? `Contract: ${plural(a.declared.length, "declared capability", "declared capabilities")} · ${countsLine(a.totals)}`
      : `No declared capabilities (no contract, so no drift) · ${countsLine(a.totals)}`,
  );
  if (a.observed.length > 0) {
    lines.push("", "| Tool | Declared | Calls | allow | warn | approval | block | would stop | Environments | Drift |", "|---|---|---:|---:|---:|---:|---:|---:|---|---|");
    for (const t of a.observed) {
      const declared = t.declared === null ? "–" : t.declared ? "yes" : "**no (drift)**";
      const d = t.decisions;
      lines.push(
        `| ${t.name} | ${declared} | ${t.calls} | ${d.allow} | ${d.warn} | ${d.require_approval} | ${d.block} | ${t.would_block + t.would_require_approval} | ${t.environments.join(", ")} | ${t.drift.join(", ")} |`,
      );
    }
  } else {
    lines.push("", "No tool calls in this window.");
  }
  if (a.undeclared_tools.length > 0) lines.push("", `**Undeclared tools used (drift):** ${a.undeclared_tools.join(", ")}`);
  if (a.unused_declared_tools.length > 0) lines.push("", `Declared but unused: ${a.unused_declared_tools.join(", ")}`);
  const approvals = approvalsLine(a.approvals);
  if (approvals !== undefined) lines.push("", `Approvals: ${approvals}`);
  return lines;
}
