import { readFile } from "node:fs/promises";
import { z } from "zod";
import { RiskLevelSchema } from "../../guard/policySchema";
import { formatFieldPath } from "../../guard/policyLoader";
import { DeclareCapabilitiesBodySchema, type IdentifyResponse } from "../../protocol/v1";
import { parseCommandArgs, UsageError } from "../args";
import type { Io } from "../io";
import { withSidecar } from "../sidecarConnection";

export const capabilitiesUsage = `Usage:
  apie capabilities declare --agent KEY --file caps.json
  apie capabilities declare --agent KEY --tool NAME [--provider P] [--actions a,b] [--resources r,s]
                            [--environments e,f] [--risk-level L]
Declares what an agent may do (its boundary contract) to a running sidecar, as the SDKs' capabilities.declare
does: calls outside it are flagged as drift (and raised to at least warn) from then on. Declaring a tool again
replaces that tool's earlier declaration.
caps.json: {"capabilities": [{"tool": {"name": "deploy.release", "provider": "cicd"}, "actions": ["execute"],
            "resources": ["deployment_event"], "environments": ["production"], "riskLevel": "high"}]}
           (a bare array of capabilities works too)
Options:
  --agent KEY       the agent's key (agent_key in its guard calls)
  --tool NAME       one tool (globs like filesystem.* allowed); lists are comma-separated
  --risk-level L    low | medium | high | critical
  --state-dir DIR   folder holding sidecar.json (default: ./.apie)
  --json            print the sidecar's answer as JSON
Exit codes: 0 declared, 1 failure (no sidecar, refused), 2 usage or bad caps.json.`;

const list = z
  .string()
  .transform((s) => s.split(",").map((p) => p.trim()).filter((p) => p !== ""))
  .optional();

const DeclareArgs = z
  .object({
    agent: z.string({ error: "required" }).min(1),
    file: z.string().min(1).optional(),
    tool: z.string().min(1).optional(),
    provider: z.string().min(1).optional(),
    actions: list,
    resources: list,
    environments: list,
    "risk-level": RiskLevelSchema.optional(),
    "state-dir": z.string().min(1).optional(),
    json: z.boolean().default(false),
    positionals: z.tuple([z.literal("declare")]),
  })
  .superRefine((a, ctx) => {
    if (a.file === undefined && a.tool === undefined) ctx.addIssue({ code: "custom", path: ["tool"], message: "give --tool NAME or --file caps.json" });
    if (a.file !== undefined) {
      const extra = (["tool", "provider", "actions", "resources", "environments", "risk-level"] as const).find((k) => a[k] !== undefined);
      if (extra !== undefined) ctx.addIssue({ code: "custom", path: [extra], message: "not with --file (the file holds the capabilities)" });
    }
  });

const OPTIONS = {
  agent: { type: "string" },
  file: { type: "string" },
  tool: { type: "string" },
  provider: { type: "string" },
  actions: { type: "string" },
  resources: { type: "string" },
  environments: { type: "string" },
  "risk-level": { type: "string" },
  "state-dir": { type: "string" },
  json: { type: "boolean" },
} as const;

type DeclareBody = z.input<typeof DeclareCapabilitiesBodySchema>;

/** The wire schema, but a misspelt field in a hand-written file ("action") is an error, not silently dropped. */
const StrictFileSchema = z.strictObject({
  capabilities: z.array(DeclareCapabilitiesBodySchema.shape.capabilities.element.strict()),
});

export async function capabilitiesCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] !== "declare") throw new UsageError(argv[0] === undefined ? "missing subcommand (declare)" : `unknown subcommand "${argv[0]}"`);
  const args = parseCommandArgs(argv, OPTIONS, DeclareArgs);
  const body: DeclareBody =
    args.file !== undefined
      ? await readCapabilitiesFile(args.file)
      : {
          capabilities: [
            {
              tool: { name: args.tool!, provider: args.provider ?? null },
              actions: args.actions ?? [],
              resources: args.resources ?? [],
              environments: args.environments ?? null,
              riskLevel: args["risk-level"] ?? null,
            },
          ],
        };
  const result = await withSidecar({ need: "agent", stateDir: args["state-dir"] }, async (c) => {
    const agent = await c.post<IdentifyResponse>("/v1/agents/identify", { agent: { key: args.agent } });
    const declared = await c.post<{ agent_id: string; declared: number }>(`/v1/agents/${encodeURIComponent(agent.agent_id)}/capabilities/declare`, body);
    return { agent_key: args.agent, ...declared };
  });
  if (args.json) {
    io.out(JSON.stringify(result, null, 2) + "\n");
    return 0;
  }
  const parsed = DeclareCapabilitiesBodySchema.parse(body);
  io.out(`declared ${result.declared} ${result.declared === 1 ? "capability" : "capabilities"} for agent ${args.agent} (${result.agent_id}):\n`);
  for (const c of parsed.capabilities) {
    const parts = [
      `  ${c.tool.name}${c.tool.provider ? ` [${c.tool.provider}]` : ""}`,
      c.actions?.length ? `actions ${c.actions.join(", ")}` : "",
      c.resources?.length ? `resources ${c.resources.join(", ")}` : "",
      c.environments?.length ? `environments ${c.environments.join(", ")}` : "",
      c.riskLevel ? `risk ${c.riskLevel}` : "",
    ];
    io.out(parts.filter((p) => p !== "").join("; ") + "\n");
  }
  return 0;
}

/** Reads and validates caps.json, naming the bad field (`caps.json: capabilities[0].riskLevel: …`). */
async function readCapabilitiesFile(file: string): Promise<DeclareBody> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`--file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const bare = Array.isArray(json);
  const body = bare ? { capabilities: json } : json;
  const parsed = StrictFileSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol").slice(bare ? 1 : 0);
    const unknown = issue.code === "unrecognized_keys" ? `unknown field "${issue.keys[0]}"` : issue.message;
    throw new UsageError(`${file}: ${formatFieldPath(path) || "top level"}: ${unknown}`);
  }
  if (parsed.data.capabilities.length === 0) throw new UsageError(`${file}: capabilities: the list is empty`);
  return body as DeclareBody;
}
