import { writeFile } from "node:fs/promises";
import { z } from "zod";
import {
  ReportWindowSchema,
  type BoundaryReport,
  type CreateReportBody,
  type CreateReportResponse,
  type GetReportResponse,
} from "../../protocol/reports";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { withSidecar } from "../sidecarConnection";
import { renderReport } from "../../protocol/reportMarkdown";

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
    io.out(`wrote ${output.out} (report ${report.report_id}, ${report.agents.length} agent${report.agents.length === 1 ? "" : "s"})\n`);
  }
  return 0;
}

