import type { AgentBoundaryReport, BoundaryReport, ReportCounts } from "./reports";

/** Boundary reports as markdown: readable in a terminal, in a PR description, a wiki, or an editor tab. */

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
