import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import type { RunView } from "../../sidecar/protocol/runs";
import type { StreamRecord } from "../../sidecar/protocol/stream";
import { presentRecord } from "../model/presenters";
import { buildStory, type StoryLink } from "./storyBuilder";

/** What the panel asks the extension to do when a sentence or a replay step is clicked. */
export interface StoryActions {
  revealRecord(runId: string, seq: number): Promise<void>;
  openGuardrail(key: string): Promise<void>;
}

type PanelMessage = { type: "link"; link: StoryLink } | { type: "step"; seq: number };

/**
 * The story card of one run in a webview: the sentences of `buildStory`, each a link to the decision or
 * approval it came from (revealed in the Runs tree) and to the guardrails that decided (opened at their
 * line in apie.policy.json); below it, a replay that steps through every record of the run in order.
 * Scripts run only with this panel's nonce; messages from it are checked before use.
 */
export function showStoryPanel(run: RunView, records: readonly StreamRecord[], actions: StoryActions): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel("apie.story", `Story: ${run.input_summary ?? run.id}`, vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: false });
  panel.webview.html = render(run, records, panel.webview.cspSource);
  panel.webview.onDidReceiveMessage((message: unknown) => {
    const m = message as Partial<PanelMessage> | null;
    if (m?.type === "step" && typeof m.seq === "number") void actions.revealRecord(run.id, m.seq);
    if (m?.type === "link" && m.link?.kind === "record" && typeof m.link.seq === "number") void actions.revealRecord(run.id, m.link.seq);
    if (m?.type === "link" && m.link?.kind === "guardrail" && typeof m.link.key === "string") void actions.openGuardrail(m.link.key);
  });
  return panel;
}

function render(run: RunView, records: readonly StreamRecord[], cspSource: string): string {
  const nonce = randomBytes(16).toString("base64");
  const story = buildStory(run, records);
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const sentences = story.sentences
    .map((s) => {
      const [first, ...guardrails] = s.links;
      const chips = guardrails.map((g) => (g.kind === "guardrail" ? `<a href="#" class="chip" data-link='${esc(JSON.stringify(g))}'>${esc(g.key)}</a>` : "")).join(" ");
      return `<li class="${s.tone}"><a href="#" data-link='${esc(JSON.stringify(first))}'>${esc(s.text)}</a> ${chips}</li>`;
    })
    .join("\n");
  const steps = records.map((r) => {
    const p = presentRecord(r);
    return { seq: r.seq, text: `${new Date(r.ts).toLocaleTimeString()} · ${p.label} — ${p.description}` };
  });
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:0 1em}
li{margin:.4em 0} a{color:var(--vscode-textLink-foreground);text-decoration:none} a:hover{text-decoration:underline}
.blocked{border-left:3px solid var(--vscode-errorForeground);padding-left:.5em}
.waited{border-left:3px solid var(--vscode-editorWarning-foreground);padding-left:.5em}
.failed{border-left:3px solid var(--vscode-errorForeground);padding-left:.5em}
.chip{font-size:.85em;border:1px solid var(--vscode-panel-border);border-radius:3px;padding:0 .3em}
#step{font-family:var(--vscode-editor-font-family)} button{margin-right:.5em}
</style></head><body>
<h2>${esc(story.title)}</h2><p>${esc(story.summary)}</p>
<ol>${sentences}</ol>
<h3>Replay</h3>
<p><button id="prev">◀ Previous</button><button id="next">Next ▶</button><span id="pos"></span></p>
<p id="step"></p>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const steps = ${JSON.stringify(steps).replace(/</g, "\\u003c")};
let at = -1;
for (const a of document.querySelectorAll("a[data-link]")) a.addEventListener("click", (e) => { e.preventDefault(); vscode.postMessage({ type: "link", link: JSON.parse(a.dataset.link) }); });
function show() { const s = steps[at]; document.getElementById("step").textContent = s ? s.text : ""; document.getElementById("pos").textContent = steps.length ? (at + 1) + " / " + steps.length : "no records"; if (s) vscode.postMessage({ type: "step", seq: s.seq }); }
document.getElementById("next").addEventListener("click", () => { if (at < steps.length - 1) { at++; show(); } });
document.getElementById("prev").addEventListener("click", () => { if (at > 0) { at--; show(); } });
show();
</script></body></html>`;
}
