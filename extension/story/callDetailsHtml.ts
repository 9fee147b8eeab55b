import type { CallDetails } from "../model/callDetails";

/**
 * The call details panel's page (story/callPanel.ts): every text escaped — arguments, reasons and names come
 * from agents and policies — and scripts only with the page's nonce; a guardrail's link posts its key.
 */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function table(rows: { name: string; value: string }[]): string {
  return `<table>${rows.map((r) => `<tr><th>${esc(r.name)}</th><td>${esc(r.value)}</td></tr>`).join("")}</table>`;
}

export function renderCallDetails(d: CallDetails, cspSource: string, nonce: string): string {
  const guardrails = d.guardrails.length
    ? `<ul>${d.guardrails.map((g) => `<li><a href="#" data-guardrail="${esc(g.key)}">${esc(g.name)}</a> <code>${esc(g.key)}</code> — ${esc(g.decision.replace("_", " "))}${g.reason ? `: ${esc(g.reason)}` : ""}</li>`).join("")}</ul>`
    : "<p>No guardrail matched.</p>";
  const decisions = d.decisions.map((x) => `<li><code>${esc(x.id)}</code> at ${esc(x.at)}: ${esc(x.text)}</li>`).join("");
  const approval = d.approval === null ? "<p>None asked.</p>" : `<p><code>${esc(d.approval.id)}</code></p><ul>${d.approval.events.map((e) => `<li>${esc(e.at)}: ${esc(e.text)}</li>`).join("")}</ul>`;
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:0 1em}
a{color:var(--vscode-textLink-foreground);text-decoration:none} a:hover{text-decoration:underline}
th{text-align:left;padding-right:1em;font-weight:normal;color:var(--vscode-descriptionForeground)}
pre{background:var(--vscode-textCodeBlock-background);padding:.5em;overflow:auto}
.state{font-weight:bold}
</style></head><body>
<h2>${esc(d.title)}</h2>
<p class="state">${esc(d.stateLabel)}</p>
<h3>Request</h3>${table(d.facts)}
<h4>Arguments (redacted)</h4>${d.arguments === null ? "<p>None recorded.</p>" : `<pre>${esc(d.arguments)}</pre>`}
<h3>Guardrails</h3>${guardrails}
<h3>Decisions</h3>${decisions ? `<ul>${decisions}</ul>` : "<p>None by Apie.</p>"}
<h3>Approval</h3>${approval}
<h3>Outcome</h3><p>${d.outcome === null ? "Not reported." : `${esc(d.outcome.text)} (${esc(d.outcome.at)})`}</p>
<h3>Timings</h3>${table(d.timings)}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const a of document.querySelectorAll("a[data-guardrail]")) a.addEventListener("click", (e) => { e.preventDefault(); vscode.postMessage({ type: "guardrail", key: a.dataset.guardrail }); });
</script></body></html>`;
}
