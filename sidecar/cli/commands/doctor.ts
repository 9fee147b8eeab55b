import { stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { formatPolicyError, loadPolicy } from "../../guard/policyLoader";
import { readPolicyText } from "../../policy/policyFile";
import { EVENT_LOG_FILE } from "../../store/eventLog";
import { parseCommandArgs } from "../args";
import type { Io } from "../io";
import { DEFAULT_STATE_DIR, locateSidecar, SidecarClient, SidecarError, type SidecarLocation } from "../sidecarConnection";

export const doctorUsage = `Usage:
  apie doctor [--policy FILE] [--state-dir DIR] [--json] [--ascii]
Checks the local Apie setup and prints one line per check: the sidecar is reachable and accepts the key,
apie.policy.json is valid (and what the sidecar made of it), the mode, pending approvals, the event log.
The sidecar is found like every command finds it: APIE_BASE_URL + APIE_ADMIN_KEY (or APIE_API_KEY), else
.apie/sidecar.json.
Options:
  --policy FILE     policy file (default: apie.policy.json)
  --state-dir DIR   folder holding sidecar.json and ${EVENT_LOG_FILE} (default: ./.apie)
  --json            print {ok, checks: [{name, status, message, details}]} as JSON
  --ascii           [ok]/[FAIL] instead of ✓/✗
Exit codes: 0 all checks pass (warnings allowed), 1 a check failed, 2 usage.`;

const DoctorArgs = z.object({
  policy: z.string().min(1).default("apie.policy.json"),
  "state-dir": z.string().min(1).optional(),
  json: z.boolean().default(false),
  ascii: z.boolean().default(false),
  positionals: z.tuple([]),
});

export type CheckStatus = "ok" | "warn" | "fail" | "info";

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  details?: string[];
}

/** What /v1/health answers (read loosely: an older sidecar may lack fields). */
const HealthSchema = z
  .object({
    status: z.string(),
    policy: z.string().optional(),
    mode: z.string().optional(),
    uptime_ms: z.number().optional(),
    last_seq: z.number().optional(),
    pending_approvals: z.number().optional(),
    /** Not sent yet; used when the sidecar reports where its log is. */
    event_log: z.string().optional(),
  })
  .loose();
type Health = z.infer<typeof HealthSchema>;

const SYMBOLS: Record<CheckStatus, { unicode: string; ascii: string }> = {
  ok: { unicode: "✓", ascii: "[ok]  " },
  warn: { unicode: "!", ascii: "[warn]" },
  fail: { unicode: "✗", ascii: "[FAIL]" },
  info: { unicode: "-", ascii: "[info]" },
};

export async function doctorCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseCommandArgs(argv, { policy: { type: "string" }, "state-dir": { type: "string" }, json: { type: "boolean" }, ascii: { type: "boolean" } }, DoctorArgs);
  const stateDir = args["state-dir"] ?? DEFAULT_STATE_DIR;
  const checks: Check[] = [];
  checks.push(await policyFileCheck(args.policy));
  checks.push(...(await sidecarChecks(stateDir)));
  const mcp = path.join(path.dirname(args.policy), "apie.mcp.json");
  if (await exists(mcp)) checks.push({ name: "mcp config", status: "info", message: `${mcp} found; \`apie doctor --mcp\` validates it (comes with the MCP proxy)` });

  const ok = !checks.some((c) => c.status === "fail");
  if (args.json) {
    io.out(JSON.stringify({ ok, checks }, null, 2) + "\n");
  } else {
    for (const c of checks) {
      io.out(`${args.ascii ? SYMBOLS[c.status].ascii : SYMBOLS[c.status].unicode} ${c.name}: ${c.message}\n`);
      for (const d of c.details ?? []) io.out(`    ${d}\n`);
    }
    const failed = checks.filter((c) => c.status === "fail").length;
    io.out(ok ? "all checks passed\n" : `${failed} check${failed === 1 ? "" : "s"} failed\n`);
  }
  return ok ? 0 : 1;
}

async function policyFileCheck(file: string): Promise<Check> {
  const name = "policy file";
  let text: string | undefined;
  try {
    text = await readPolicyText(file);
  } catch (error) {
    return { name, status: "fail", message: `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  if (text === undefined) return { name, status: "warn", message: `no ${file}: defaults apply (no templates); start one with \`apie guardrails enable KEY\`` };
  const result = loadPolicy(text, file);
  if (!result.ok) {
    const n = result.errors.length;
    return { name, status: "fail", message: `${file} has ${n} error${n === 1 ? "" : "s"}`, details: result.errors.slice(0, 10).map(formatPolicyError) };
  }
  const doc = result.document;
  const templates = Object.entries(doc.templates ?? {}).filter(([, v]) => v === true || (typeof v === "object" && v.enabled !== false)).length;
  const guardrails = doc.guardrails?.length ?? 0;
  const agents = Object.keys(doc.capabilities ?? {}).length;
  const parts = [`${templates} template${templates === 1 ? "" : "s"}`, `${guardrails} custom guardrail${guardrails === 1 ? "" : "s"}`];
  if (agents > 0) parts.push(`capabilities for ${agents} agent${agents === 1 ? "" : "s"}`);
  return { name, status: "ok", message: `${file} is valid (${parts.join(", ")})` };
}

async function sidecarChecks(stateDir: string): Promise<Check[]> {
  let location: SidecarLocation;
  try {
    location = await locateSidecar({ need: "admin", stateDir }).catch((error: unknown) => {
      // Without the admin key the agent key still answers most checks.
      if (error instanceof SidecarError && process.env.APIE_BASE_URL) return locateSidecar({ need: "agent", stateDir });
      throw error;
    });
  } catch (error) {
    return [{ name: "sidecar", status: "fail", message: (error as Error).message }, ...(await eventLogCheck(stateDir, undefined, undefined))];
  }
  const client = new SidecarClient(location);
  try {
    const checks: Check[] = [];
    const where = `${location.baseUrl} (from ${location.source}${location.pid !== undefined ? `, pid ${location.pid}` : ""})`;
    let health: Health;
    try {
      health = HealthSchema.parse(await client.get("/v1/health"));
    } catch (error) {
      if (error instanceof SidecarError && error.status === 401) {
        checks.push({ name: "sidecar", status: "ok", message: `reachable at ${where}` });
        checks.push({ name: "key", status: "fail", message: error.message });
      } else {
        checks.push({ name: "sidecar", status: "fail", message: (error as Error).message });
      }
      return [...checks, ...(await eventLogCheck(stateDir, location, undefined))];
    }
    const uptime = health.uptime_ms === undefined ? "" : `, up ${Math.round(health.uptime_ms / 1000)} s`;
    checks.push({ name: "sidecar", status: "ok", message: `reachable at ${where}${uptime}` });

    let pending = health.pending_approvals;
    if (location.keyKind === "admin") {
      try {
        pending = (await client.get<{ approvals: unknown[] }>("/v1/approvals?status=pending")).approvals.length;
        checks.push({ name: "key", status: "ok", message: "admin key accepted" });
      } catch (error) {
        checks.push({ name: "key", status: "fail", message: `the key is accepted but is not the admin key: ${(error as Error).message}` });
      }
    } else {
      checks.push({ name: "key", status: "warn", message: "agent key accepted; resolving approvals needs the admin key (set APIE_ADMIN_KEY)" });
    }

    checks.push(sidecarPolicyCheck(health.policy));
    checks.push(modeCheck(health.mode));
    checks.push(
      pending === undefined
        ? { name: "approvals", status: "info", message: "the sidecar did not say how many approvals are pending" }
        : pending === 0
          ? { name: "approvals", status: "ok", message: "no pending approvals" }
          : { name: "approvals", status: "warn", message: `${pending} pending approval${pending === 1 ? "" : "s"}: see \`apie approvals list\`` },
    );
    checks.push(...(await eventLogCheck(stateDir, location, health)));
    return checks;
  } finally {
    client.close();
  }
}

function sidecarPolicyCheck(state: string | undefined): Check {
  const name = "sidecar policy";
  switch (state) {
    case "ok":
      return { name, status: "ok", message: "loaded (ok)" };
    case "none":
      return { name, status: "warn", message: "the sidecar found no apie.policy.json in its workspace: no templates are on" };
    case "stale":
      return { name, status: "fail", message: "stale: the sidecar's apie.policy.json is broken, the last valid version stays in force; fix the file (`apie policy check`)" };
    case "invalid":
      return { name, status: "fail", message: "invalid: apie.policy.json has never been valid, so every template is on at its default; fix the file (`apie policy check`)" };
    default:
      return { name, status: "info", message: `the sidecar reports policy state "${state ?? "unknown"}"` };
  }
}

function modeCheck(mode: string | undefined): Check {
  if (mode === "enforce") return { name: "mode", status: "ok", message: "enforce: blocks and approvals stop calls" };
  if (mode === "monitor") return { name: "mode", status: "ok", message: 'monitor: calls are never stopped, restricted ones are logged as "would block" (an agent in enforce mode is still enforced)' };
  return { name: "mode", status: "info", message: `the sidecar reports mode "${mode ?? "unknown"}"` };
}

/**
 * The log next to the discovery file, or where the sidecar says it is. A sidecar found through APIE_BASE_URL
 * may keep its state elsewhere (the editor's workspace storage): then a missing local log is not a failure.
 */
async function eventLogCheck(stateDir: string, location: SidecarLocation | undefined, health: Health | undefined): Promise<Check[]> {
  const name = "event log";
  const fromDiscovery = location !== undefined && location.source !== "APIE_BASE_URL";
  const file = health?.event_log ?? path.join(fromDiscovery ? path.dirname(location.source) : stateDir, EVENT_LOG_FILE);
  const seq = health?.last_seq === undefined ? "" : `, last seq ${health.last_seq}`;
  try {
    const info = await stat(file);
    if (!info.isFile()) return [{ name, status: "fail", message: `${file} is not a file` }];
    return [{ name, status: "ok", message: `${file} (${info.size} bytes${seq}); check it with \`apie audit verify\`` }];
  } catch {
    if (location === undefined) return [{ name, status: "info", message: `no ${file} (no sidecar has run with state dir ${stateDir})` }];
    if (fromDiscovery || health?.event_log !== undefined) return [{ name, status: "fail", message: `${file} is missing although the sidecar is running` }];
    return [{ name, status: "info", message: `not in ${stateDir}: the sidecar at ${location.baseUrl} keeps its state elsewhere${seq ? ` (it reports${seq.slice(1)})` : ""}; pass --state-dir DIR to check it` }];
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
