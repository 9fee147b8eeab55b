// End-to-end test of the extension as a user gets it: the VSIX (npm run package) installed into a real VS Code
// (code-server: VS Code for the browser with a real Node extension host), driven by playwright-core in a
// headless Chromium. The extension starts its sidecar; an agent using the TypeScript SDK (Node 20, the built
// dist/sdk.js) talks to that sidecar over HTTP, and a person's clicks answer it in the editor.
//
//   npm run test:e2e          setup (test/e2e/setup.sh) + npm run package + this file
//   node --import tsx test/e2e/run.ts     this file alone (VSIX: E2E_VSIX, default apie-vscode.vsix)
//
// Environment: E2E_TOOLS (tools folder, default .tools/e2e), E2E_CHROMIUM (default /usr/bin/chromium),
// E2E_PORT (default: a free one), E2E_RUN_PARENT (where the run folder goes, default the temp dir), E2E_KEEP=1
// (keep the run folder), E2E_SKIP_HOST=1 (skip the extension-host tests). Screenshots and logs go to
// test-results/e2e/. The extension-host tests (test/e2e/hostRun.ts) run after these; the last line,
// "N passed, N failed", counts both.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { runHostTests } from "./hostRun";
import { cleanEnv, CodeServer, findTools, freePort, isRunning, launchBrowser, listFiles, ROOT, RunDir, waitFor } from "./harness";
import { api, readDiscovery, type Discovery } from "./host/sidecarAccess";
import { exitWithSummary } from "../support/runnerExit";

const RESULTS = path.join(ROOT, "test-results/e2e");
const VSIX = path.resolve(process.env.E2E_VSIX ?? path.join(ROOT, "apie-vscode.vsix"));
const AGENT = path.join(__dirname, "agent.mjs");
const PACKAGE_VERSION: string = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;

const t0 = Date.now();
const lap = (message: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}`);

interface AgentOutcome {
  deployed: number;
  done: { ok: boolean; code?: string | null; name?: string; isApieError?: boolean; message?: string; deploys: number };
}

/** The deploy call of examples/release-gate.mjs, as a raw v1 evaluate body (no `mode`: the workspace's applies). */
const DEPLOY_REQUEST = {
  agent_key: "release-gate",
  action: { type: "execute", name: "deploy.release" },
  resource: { type: "deployment_event", environment: "production" },
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
};

/** How much (t) widens the side bar for the Runs view's descriptions (and narrows it back after). */
const SIDEBAR_WIDENED = 260;

/** How long the approvals of (d)'s guardrail wait (apie.policy.json's approvalTimeoutMs). */
const SHORT_APPROVAL_MS = 6000;

/** A medium-risk call the workspace's `short-approval` guardrail sends for approval (`mode`: (d) runs in enforce). */
const RESTART_REQUEST = {
  agent_key: "ops-bot",
  mode: "enforce",
  action: { type: "execute", name: "service.restart" },
  resource: { type: "service", environment: "staging" },
  tool: { name: "service.restart", provider: "ops", riskLevel: "medium" },
};

/** Runs in the page (a string: this project's TypeScript has no DOM types). At most 2 s. */
const SETTLE_ANIMATIONS = `Promise.race([
  Promise.all(document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished)),
  new Promise((r) => setTimeout(r, 2000)),
])`;

class Session {
  private shot = 0;
  discovery: Discovery | undefined;
  private agents = 0;
  private closing: Promise<boolean> | undefined;

  constructor(
    readonly page: Page,
    readonly run: RunDir,
    private readonly browser: BrowserContext,
    private readonly server: CodeServer,
  ) {}

  /** Closes the browser, then stops code-server; resolves whether its process group ended by itself. Idempotent. */
  closeEditor(): Promise<boolean> {
    this.closing ??= (async () => {
      await this.browser.close().catch(() => undefined);
      return this.server.stop();
    })();
    return this.closing;
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(RESULTS, `${String(++this.shot).padStart(2, "0")}-${name}.png`);
    // Let finite CSS animations end (a toast sliding in is half transparent); spinners run forever.
    await this.page.evaluate(SETTLE_ANIMATIONS).catch(() => undefined);
    await this.page.screenshot({ path: file });
    return file;
  }

  // --- the workbench -------------------------------------------------------------------------------------

  /** The Apie status bar item (id PUBLISHER.NAME.ITEMID). */
  get status(): Locator {
    return this.page.locator('[id="apie-local.apie-vscode.apie.status"]');
  }

  /** The status item once the sidecar runs in `mode`: the mode's icon, and no "starting"/"pending" tail. */
  statusShows(mode: "Enforce" | "Monitor"): Locator {
    return this.status.filter({ hasText: new RegExp(`^\\s*Apie: ${mode}\\s*$`) }).filter({ has: this.page.locator(mode === "Enforce" ? ".codicon-shield" : ".codicon-eye") });
  }

  approvalToast(): Locator {
    return this.page.locator(".notification-toast", { hasText: "Apie: release-gate wants to run deploy.release" });
  }

  /**
   * Checks an approval's notification (extension/approvalNotifier.ts): a message notification at `level`
   * (its severity icon) with Approve, Deny and More… buttons (and Approve for Session, for a call in a run),
   * and no link anywhere in its text.
   */
  async checkApprovalToast(toast: Locator, level: "warning" | "info"): Promise<string> {
    const text = await toast.innerText();
    for (const name of ["Approve", "Deny", "More…"]) check((await toast.getByRole("button", { name, exact: true }).count()) === 1, `no ${name} button: ${text}`);
    check((await toast.locator(".notification-list-item-message a").count()) === 0, `a link in the notification's text: ${await toast.locator(".notification-list-item-message").innerHTML()}`);
    const other = level === "warning" ? "info" : "warning";
    check((await toast.locator(`.codicon-${level}`).count()) === 1 && (await toast.locator(`.codicon-${other}`).count()) === 0, `not ${level} level: ${await toast.innerHTML()}`);
    check(/Why: .+\. Expires at \d\d:\d\d:\d\d \(in \d+ (min|s)\)\./.test(text), `the notification does not say why and until when: ${text}`);
    return text;
  }

  /**
   * The notification of an approval that is opening: waits until the sidecar lists a pending approval, then
   * gives its toast, or its row in the notification center (where VS Code may put it straight away when
   * earlier notifications are still around: then it raises no toast).
   */
  async pendingNotification(hasText: string): Promise<Locator> {
    await waitFor("the approval to open", async () => (await this.admin("GET", "/v1/approvals?status=pending")).approvals.length > 0, 30_000);
    const toast = this.page.locator(".notification-toast", { hasText });
    await toast.waitFor({ state: "visible", timeout: 5_000 }).catch(() => undefined);
    return this.notification(hasText);
  }

  /**
   * A notification still on screen: its toast, else its row in the notification center (a message
   * notification's toast hides itself after some seconds; the center keeps it, buttons and all).
   */
  async notification(hasText: string): Promise<Locator> {
    const toast = this.page.locator(".notification-toast", { hasText });
    if (await toast.isVisible()) return toast;
    await this.quickPick(">Notifications: Show Notifications", /Show Notifications/);
    const item = this.page.locator(".notifications-center .notification-list-item", { hasText });
    await item.waitFor({ state: "visible" });
    return item;
  }

  pane(title: string): Locator {
    return this.page.locator(".pane", { has: this.page.locator(".pane-header", { hasText: new RegExp(`^\\s*${title}`) }) });
  }

  /** Opens the Apie container in the activity bar (unless its Runs view is already showing); returns Runs. */
  async openApieViews(): Promise<Locator> {
    const runsPane = this.pane("Runs");
    if (!(await runsPane.isVisible())) await this.page.locator('.activitybar .action-item a[aria-label^="Apie"]').click();
    await runsPane.waitFor({ state: "visible" });
    return runsPane;
  }

  /**
   * Closes the secondary side bar if it is open, with the title bar's layout toggle: the command palette is
   * not reliable right after the walkthrough opens (its webview takes the focus, and F1 with it).
   */
  async closeSecondarySideBar(): Promise<void> {
    const bar = this.page.locator(".part.auxiliarybar");
    if (!(await bar.isVisible())) return;
    const toggle = this.page.locator('.titlebar .action-item a[aria-label^="Toggle Secondary Side Bar"]').first();
    if (await toggle.isVisible()) await toggle.click();
    else {
      lap("  no secondary side bar toggle in the title bar; closing it from the command palette");
      await this.quickPick(">Secondary Side Bar", /(Close|Hide) Secondary Side Bar/);
    }
    await bar.waitFor({ state: "hidden", timeout: 10_000 });
  }

  /** Expands every collapsed run row of the agent's runs, so their records show. */
  async expandRuns(runsPane: Locator): Promise<void> {
    await runsPane.locator(".monaco-list-row", { hasText: "Production deploy attempt" }).first().waitFor();
    await this.expandAll(runsPane.locator('.monaco-list-row[aria-expanded="false"]', { hasText: "Production deploy attempt" }), "the run row");
  }

  /** Clicks each of `collapsed` (tree rows whose aria-expanded is false) until none is left. */
  async expandAll(collapsed: Locator, what: string): Promise<void> {
    while ((await collapsed.count()) > 0) {
      const before = await collapsed.count();
      // A row's click can go unanswered: the hover card of the row just expanded covers the next one, or a live
      // refresh re-renders the row under the click. A user clicks again; so does this, up to three times.
      for (let attempt = 1; ; attempt++) {
        await this.page.mouse.move(0, 0);
        await collapsed.first().click();
        try {
          await waitFor(`${what} to expand`, async () => (await collapsed.count()) < before, 5_000);
          break;
        } catch (error) {
          if (attempt === 3) throw error;
          lap(`  ${what} did not expand on click (${(error as Error).message}); clicking it again`);
        }
      }
    }
  }

  /** Drags the side bar's edge by `dx` pixels (wider when positive). */
  async resizeSideBar(dx: number): Promise<void> {
    const box = await this.page.locator(".part.sidebar").boundingBox();
    check(box !== null, "no side bar");
    const x = box.x + box.width;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(x + dx, y, { steps: 5 });
    await this.page.mouse.up();
    await waitFor("the side bar to resize", async () => Math.abs(((await this.page.locator(".part.sidebar").boundingBox())?.width ?? 0) - (box.width + dx)) < 20, 5000);
  }

  /** F1, then `text` in the quick input (">…" for commands, a file name for Go to File), and the row `pick`. */
  /**
   * The command palette: F1, type, pick. The workbench sometimes takes the palette away right after it opened
   * (a view or an editor grabbing focus as it finishes opening leaves the input inert, then hidden); that is a
   * race of the workbench, not of what is tested, so the palette is opened again, at most three times, and
   * each retry is logged.
   */
  async quickPick(text: string, pick: string | RegExp): Promise<void> {
    const input = this.page.locator(".quick-input-widget input");
    // The palette can close under us (a notification or a webview taking focus) while we type or pick: open it
    // again, up to three times.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press("F1");
      try {
        await input.waitFor({ state: "visible", timeout: 10_000 });
        await input.fill(text, { timeout: 5_000 });
        await this.page.locator(".quick-input-list .monaco-list-row", { hasText: pick }).first().click({ timeout: 10_000 });
        return;
      } catch (error) {
        if (attempt === 3) throw error;
        lap(`  the command palette went away before "${text}" was picked (${(error as Error).message.split("\n")[0]}); opening it again`);
        await this.page.keyboard.press("Escape");
      }
    }
  }

  // --- the sidecar and the agent -------------------------------------------------------------------------

  /**
   * Runs Claude Code's PreToolUse hook exactly as Claude Code would (the command from the settings (h) wrote,
   * through a shell, the payload on stdin); `answer` resolves with its parsed stdout once it exits.
   */
  claudeHook(payload: Record<string, unknown>): { answer: Promise<any>; exited: () => boolean; kill: () => void } {
    const settings = JSON.parse(readFileSync(path.join(this.run.workspace, ".claude/settings.local.json"), "utf8"));
    const hook = spawn("/bin/sh", ["-c", settings.hooks.PreToolUse[0].hooks[0].command], { cwd: this.run.workspace, env: cleanEnv({ HOME: this.run.home }), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let exited = false;
    hook.stdout.on("data", (b: Buffer) => (stdout += b));
    hook.stderr.on("data", (b: Buffer) => (stderr += b));
    const answer = new Promise<any>((resolve, reject) =>
      hook.once("exit", (code) => {
        exited = true;
        if (code === 0) resolve(JSON.parse(stdout));
        else reject(new Error(`hook exit ${code}: ${stderr}`));
      }),
    );
    answer.catch(() => undefined);
    hook.stdin.end(JSON.stringify({ transcript_path: path.join(this.run.dir, "transcript.jsonl"), cwd: this.run.workspace, hook_event_name: "PreToolUse", permission_mode: "default", ...payload }));
    return { answer, exited: () => exited, kill: () => void (exited || hook.kill("SIGKILL")) };
  }

  async readDiscovery(): Promise<Discovery> {
    this.discovery = await readDiscovery(this.run.workspace);
    return this.discovery;
  }

  async http(method: string, route: string, body?: unknown): Promise<any> {
    return api(this.discovery ?? (await this.readDiscovery()), method, route, body);
  }

  /** The same with the admin key (what `apie approvals approve` uses). */
  async admin(method: string, route: string, body?: unknown): Promise<any> {
    const d = this.discovery ?? (await this.readDiscovery());
    return api(d, method, route, body, d.adminKey);
  }

  /** Starts test/e2e/agent.mjs on this Node (20) against the editor's sidecar; resolves with its report. */
  startAgent(): { outcome: Promise<AgentOutcome>; stop: () => void } {
    const n = ++this.agents;
    const file = path.join(this.run.dir, `agent-${n}.jsonl`);
    const log = path.join(RESULTS, `agent-${n}.log`);
    const d = this.discovery!;
    const child = spawn(process.execPath, [AGENT], {
      cwd: this.run.workspace,
      env: cleanEnv({ APIE_BASE_URL: d.baseUrl, APIE_API_KEY: d.apiKey, E2E_OUTCOME: file }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (b: Buffer) => (output += b));
    child.stderr.on("data", (b: Buffer) => (output += b));
    let exit: string | undefined;
    child.once("exit", (code, signal) => {
      exit = `exit ${code ?? signal}`;
      writeFileSync(log, output + `\n[${exit}]\n`);
    });
    const read = (): AgentOutcome | undefined => {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {
        // not written yet
      }
      const facts = text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const done = facts.find((f) => f.event === "done");
      if (done !== undefined) return { deployed: facts.filter((f) => f.event === "deployed").length, done };
      if (exit !== undefined) throw new Error(`the agent ended (${exit}) without reporting: ${output.trim()}`);
      return undefined;
    };
    const outcome = waitFor("the agent's report", read, 90_000).then(async (o) => {
      await waitFor("the agent to exit", () => exit !== undefined, 10_000);
      return o;
    });
    // A test that fails before awaiting the outcome stops the agent; the rejection that follows must not end
    // the runner as unhandled (that skipped the cleanup and left code-server running).
    outcome.catch(() => undefined);
    return { outcome, stop: () => child.exitCode === null && child.kill("SIGKILL") };
  }
}

interface Test {
  name: string;
  /** Later tests need this one (the sidecar): if it fails they are not attempted, and count as failed. */
  essential?: boolean;
  run: (s: Session) => Promise<void>;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const TESTS: Test[] = [
  {
    name: "(a) activation: the status bar shows 'Apie: Enforce' once the sidecar is up",
    essential: true,
    async run(s) {
      await s.statusShows("Enforce").waitFor({ state: "visible", timeout: 60_000 });
      const d = await s.readDiscovery();
      const health = await s.http("GET", "/v1/health");
      check(health.status === "ok" && health.mode === "enforce" && health.policy === "ok", `health: ${JSON.stringify(health)}`);
      check(health.workspace === s.run.workspace, `the sidecar serves ${health.workspace}, not the window's folder`);
      lap(`  sidecar pid ${d.pid} at ${d.baseUrl}: ${JSON.stringify(health)}`);
      await s.screenshot("status-enforce");
    },
  },
  {
    name: "(b) enforce: an SDK agent hits prod-deploys, the notification's Approve lets the deploy run once; Runs shows the call 'approved'",
    async run(s) {
      const runs = await s.openApieViews();
      const pendingRow = s.pane("Approvals").locator(".monaco-list-row", { hasText: "deploy.release" }).filter({ hasText: "release-gate" });
      const agent = s.startAgent();
      try {
        const toast = s.approvalToast();
        await toast.waitFor({ state: "visible", timeout: 30_000 });
        // The same approval in the Approvals view and in the status bar while it waits.
        await pendingRow.waitFor({ state: "visible" });
        await s.status.filter({ hasText: "Apie: Enforce · 1 pending" }).waitFor({ state: "visible" });
        await s.screenshot("approval-notification");
        // Approve, Deny and Details are buttons of a warning-level message (extension/approvalNotifier.ts).
        const text = await s.checkApprovalToast(toast, "warning");
        check(/HIGH RISK · Apie: release-gate wants to run deploy\.release \(execute\) on deployment_event in production\. Why: guardrail prod-deploys/.test(text), `the notification: ${text}`);
        await toast.getByRole("button", { name: "Approve", exact: true }).click();
        const outcome = await agent.outcome;
        check(outcome.done.ok && outcome.deployed === 1 && outcome.done.deploys === 1, `agent: ${JSON.stringify(outcome)}`);
        await toast.waitFor({ state: "hidden", timeout: 10_000 });
        await pendingRow.waitFor({ state: "hidden" });
      } finally {
        agent.stop();
      }
      await s.expandRuns(runs);
      await runs.locator(".monaco-list-row", { hasText: "deploy.release · production" }).filter({ hasText: /approved · Production deploys/ }).waitFor({ state: "visible", timeout: 15_000 });
      await s.screenshot("runs-approved");
    },
  },
  {
    name: "(c) enforce: the notification's Deny, with a reason, ends the agent's call with ApieError approval_rejected carrying that reason",
    async run(s) {
      const agent = s.startAgent();
      try {
        const toast = s.approvalToast();
        await toast.waitFor({ state: "visible", timeout: 30_000 });
        await s.screenshot("deny-notification");
        await toast.getByRole("button", { name: "Deny", exact: true }).click();
        const input = s.page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible" });
        await input.fill("not on a Friday");
        await s.screenshot("deny-reason");
        await input.press("Enter");
        const outcome = await agent.outcome;
        await toast.waitFor({ state: "hidden", timeout: 10_000 });
        check(!outcome.done.ok && outcome.done.isApieError && outcome.done.code === "approval_rejected", `agent: ${JSON.stringify(outcome)}`);
        check(outcome.done.message?.endsWith(": not on a Friday"), `the agent's ApieError does not carry the reason: ${JSON.stringify(outcome)}`);
        check(outcome.deployed === 0, `the deploy ran ${outcome.deployed} time(s) after a Deny`);
      } finally {
        agent.stop();
      }
      const runs = await s.openApieViews();
      await s.expandRuns(runs);
      await runs.locator(".monaco-list-row", { hasText: "deploy.release · production" }).filter({ hasText: /rejected · Production deploys/ }).waitFor({ state: "visible", timeout: 15_000 });
      await s.screenshot("runs-rejected");
    },
  },
  {
    name: "(k) \"Apie: Approve Pending…\" from the command palette picks the waiting deploy and approves it; the agent proceeds",
    async run(s) {
      const agent = s.startAgent();
      try {
        await s.approvalToast().waitFor({ state: "visible", timeout: 30_000 });
        // "Approve Pending…", not "Approve Pending for Session…" (the second row: move the pointer off the pick,
        // or the hover of the approval's row that opens under it covers the row).
        await s.quickPick(">Apie: Approve Pending", /Approve Pending…/);
        await s.page.mouse.move(400, 300);
        // One approval pending: still a pick (who, what, why), so no keypress approves unseen.
        const row = s.page.locator(".quick-input-list .monaco-list-row", { hasText: "deploy.release" }).filter({ hasText: "release-gate" });
        await row.filter({ hasText: /Why: guardrail prod-deploys/ }).waitFor({ state: "visible" });
        await s.screenshot("approve-pending-pick");
        await row.first().click();
        const outcome = await agent.outcome;
        check(outcome.done.ok && outcome.deployed === 1, `agent: ${JSON.stringify(outcome)}`);
        await s.status.filter({ hasText: /^\s*Apie: Enforce\s*$/ }).waitFor({ state: "visible", timeout: 10_000 });
        // Its notification is still on screen (VS Code cannot close it from code): Approve there now says so.
        await s.approvalToast().getByRole("button", { name: "Approve", exact: true }).click();
        await s.page.locator(".notification-toast", { hasText: /deploy\.release \(release-gate\) was already approved in the editor at \d\d:\d\d:\d\d; nothing was done/ }).waitFor({ state: "visible", timeout: 10_000 });
        await s.approvalToast().waitFor({ state: "hidden" });
        // The pointer rests on that answer's toast, whose hover would cover the next toast's buttons.
        await s.page.mouse.move(400, 300);
      } finally {
        agent.stop();
      }
    },
  },
  {
    name: "(l) Escape in Deny's reason box denies nothing (the approval still pends); ctrl+alt+n (Apie: Deny Pending…) then denies it with a reason the agent gets",
    async run(s) {
      const agent = s.startAgent();
      try {
        const toast = s.approvalToast();
        await toast.waitFor({ state: "visible", timeout: 30_000 });
        await toast.getByRole("button", { name: "Deny", exact: true }).click();
        const input = s.page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible" });
        await input.press("Escape");
        await input.waitFor({ state: "hidden" });
        // (Had Escape denied it, the agent would end below without the reason "rolled back".)
        const { approvals } = await s.admin("GET", "/v1/approvals?status=pending");
        check(approvals.length === 1 && approvals[0].agent_key === "release-gate", `pending after Escape: ${JSON.stringify(approvals)}`);
        await s.status.filter({ hasText: "Apie: Enforce · 1 pending" }).waitFor({ state: "visible" });
        // The default keybinding (package.json, while apie.approvalsPending) opens the pick.
        await s.page.locator(".monaco-workbench").press("Control+Alt+n");
        await s.page.locator(".quick-input-list .monaco-list-row", { hasText: "deploy.release" }).first().click();
        await input.waitFor({ state: "visible" });
        await input.fill("rolled back");
        await input.press("Enter");
        const outcome = await agent.outcome;
        check(!outcome.done.ok && outcome.done.code === "approval_rejected" && outcome.done.message?.endsWith(": rolled back") && outcome.deployed === 0, `agent: ${JSON.stringify(outcome)}`);
      } finally {
        agent.stop();
      }
    },
  },
  {
    name: "(d) an approval nobody answers expires: the Approvals view and the status bar drop it; its notification's Deny then says it expired and does nothing",
    async run(s) {
      const decision = await s.http("POST", "/v1/guardrails/evaluate", RESTART_REQUEST);
      const id: string | undefined = decision.approval_request?.id;
      check(decision.enforcement_action === "wait_for_approval" && id !== undefined, `evaluate: ${JSON.stringify(decision)}`);
      const toast = s.page.locator(".notification-toast", { hasText: "Apie: ops-bot wants to run service.restart" });
      await toast.waitFor({ state: "visible", timeout: 15_000 });
      const text = await s.checkApprovalToast(toast, "info");
      check(/\(in \d+ s\)/.test(text) && !/RISK/.test(text), `the notification: ${JSON.stringify(text)}`);
      await s.screenshot("expiring-notification");
      await waitFor("the approval to expire", async () => (await s.http("GET", `/v1/approvals/${id}`)).approval.status !== "pending", SHORT_APPROVAL_MS + 10_000);
      const { approval } = await s.http("GET", `/v1/approvals/${id}`);
      check(approval.status === "expired" && approval.resolved_by === "expiry", `the approval: ${JSON.stringify(approval)}`);
      // What is always current: the view and the status bar.
      await s.openApieViews();
      await s.pane("Approvals").locator(".monaco-list-row", { hasText: "service.restart" }).filter({ hasText: "ops-bot" }).waitFor({ state: "hidden", timeout: 10_000 });
      await s.status.filter({ hasText: /^\s*Apie: Enforce\s*$/ }).waitFor({ state: "visible", timeout: 10_000 });
      // VS Code cannot close a message notification from code: a click on it now says so, and asks nothing.
      const stale = await s.notification("Apie: ops-bot wants to run service.restart");
      await stale.getByRole("button", { name: "Deny", exact: true }).click();
      await s.page.locator(".notification-toast", { hasText: /service\.restart \(ops-bot\) expired at \d\d:\d\d:\d\d; nothing was done/ }).waitFor({ state: "visible", timeout: 10_000 });
      check(!(await s.page.locator(".quick-input-widget input").isVisible()), "a Deny of an expired approval asked for a reason");
      await s.screenshot("expired-notification-click");
      const after = (await s.http("GET", `/v1/approvals/${id}`)).approval;
      check(after.status === "expired" && after.resolved_at === approval.resolved_at, `the click changed the approval: ${JSON.stringify(after)}`);
    },
  },
  {
    name: "(h) \"Apie: Guard Coding Agents…\" writes Claude Code's hooks into .claude/settings.local.json; the launcher runs the extension's dist/hook.js",
    async run(s) {
      await s.quickPick(">Apie: Guard Coding Agents", /Guard Coding Agents/);
      const rows = s.page.locator(".quick-input-list .monaco-list-row");
      // ~/.claude exists in the editor's HOME (writeWorkspace): Claude Code is found on this machine.
      await rows.filter({ hasText: /^\s*Claude Code/ }).filter({ hasText: /found on this machine/ }).waitFor({ state: "visible" });
      await s.screenshot("guard-agents-hosts");
      await rows.filter({ hasText: /^\s*Claude Code/ }).first().click();
      const workspaceScope = rows.filter({ hasText: /^\s*This workspace/ });
      await workspaceScope.filter({ hasText: ".claude/settings.local.json" }).waitFor({ state: "visible" });
      await s.screenshot("guard-agents-scope");
      await workspaceScope.first().click();
      const file = path.join(s.run.workspace, ".claude/settings.local.json");
      const settings = await waitFor(file, () => (existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined));
      const pre = settings.hooks?.PreToolUse?.[0]?.hooks?.[0];
      check(pre?.timeout === 900 && /exec "\$HOME\/\.apie\/bin\/apie-hook" --host claude-code --event pre --timeout 900/.test(pre.command), `PreToolUse: ${JSON.stringify(settings)}`);
      check(settings.hooks.PostToolUse?.length === 1 && settings.hooks.PostToolUseFailure?.length === 1, `post hooks: ${JSON.stringify(settings)}`);
      await s.page.locator(".notification-toast", { hasText: "Apie: guarded Claude Code → .claude/settings.local.json" }).waitFor({ state: "visible" });
      // Activation pointed the launcher at the installed extension's adapter, run by the editor's node.
      const launcher = readFileSync(path.join(s.run.home, ".apie/bin/apie-hook"), "utf8");
      const hookJs = path.join(s.run.extensions, `apie-local.apie-vscode-${PACKAGE_VERSION}`, "dist/hook.js");
      check(launcher.includes(`'${hookJs}'`) && launcher.includes("export ELECTRON_RUN_AS_NODE=1") && existsSync(hookJs), `launcher:\n${launcher}`);
      await s.screenshot("guard-agents-done");
    },
  },
  {
    name: "(i) a Claude Code hook's secret read waits for approval: the notification names Claude Code, Approve makes the hook answer allow; Boundary lists Claude Code",
    async run(s) {
      const settings = JSON.parse(readFileSync(path.join(s.run.workspace, ".claude/settings.local.json"), "utf8"));
      const command: string = settings.hooks.PreToolUse[0].hooks[0].command;
      const payload = { session_id: "e2e-session", transcript_path: path.join(s.run.dir, "transcript.jsonl"), cwd: s.run.workspace, hook_event_name: "PreToolUse", permission_mode: "default", tool_name: "Read", tool_input: { file_path: "~/.ssh/id_rsa" }, tool_use_id: "toolu_e2e_1" };
      // Exactly what Claude Code runs: the command from its settings, through a shell, the payload on stdin.
      const hook = spawn("/bin/sh", ["-c", command], { cwd: s.run.workspace, env: cleanEnv({ HOME: s.run.home }), stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let exit: number | null | undefined;
      hook.stdout.on("data", (b: Buffer) => (stdout += b));
      hook.stderr.on("data", (b: Buffer) => (stderr += b));
      hook.once("exit", (code) => (exit = code));
      hook.stdin.end(JSON.stringify(payload));
      try {
        const toast = s.page.locator(".notification-toast", { hasText: "Apie: Claude Code wants to run" });
        await toast.waitFor({ state: "visible", timeout: 30_000 });
        check((await toast.innerText()).includes("Read ~/.ssh/id_rsa"), `the notification: ${await toast.innerText()}`);
        check(exit === undefined, `the hook answered before anyone approved: ${stdout} ${stderr}`);
        await s.screenshot("hook-approval-notification");
        await s.checkApprovalToast(toast, "info");
        await toast.getByRole("button", { name: "Approve", exact: true }).click();
        await waitFor("the hook to answer", () => exit !== undefined, 30_000);
        check(exit === 0, `hook exit ${exit}: ${stderr}`);
        const answer = JSON.parse(stdout);
        check(answer.hookSpecificOutput?.permissionDecision === "allow", `hook answer: ${stdout} (stderr: ${stderr})`);
        await toast.waitFor({ state: "hidden", timeout: 10_000 });
      } finally {
        if (exit === undefined) hook.kill("SIGKILL");
      }
      // The Boundary view lists the host as an agent, by its display name, with the tool it was seen using.
      await s.openApieViews();
      const boundary = s.pane("Boundary");
      if (!(await boundary.locator(".monaco-list-row").first().isVisible().catch(() => false))) await boundary.locator(".pane-header").click();
      await boundary.locator(".monaco-list-row", { hasText: /^\s*Claude Code/ }).waitFor({ state: "visible", timeout: 15_000 });
      await boundary.locator(".monaco-list-row", { hasText: /^\s*Read/ }).waitFor({ state: "visible" });
      await s.screenshot("boundary-claude-code");
    },
  },
  {
    name: "(j) a stale notification: the approval is approved with the admin key first; the notification's Approve then says 'already approved' and changes nothing",
    async run(s) {
      const decision = await s.http("POST", "/v1/guardrails/evaluate", { ...DEPLOY_REQUEST, agent_key: "night-ops" });
      const id: string | undefined = decision.approval_request?.id;
      check(decision.enforcement_action === "wait_for_approval" && id !== undefined, `evaluate: ${JSON.stringify(decision)}`);
      const toast = s.page.locator(".notification-toast", { hasText: "Apie: night-ops wants to run deploy.release" });
      await toast.waitFor({ state: "visible", timeout: 15_000 });
      // More… → Details opens the approval as a document and raises the notification again (a click closes it).
      await toast.getByRole("button", { name: "More…", exact: true }).click();
      await s.page.locator(".quick-input-list .monaco-list-row", { hasText: "Details" }).first().click();
      await s.page.locator(".monaco-editor .view-lines", { hasText: `# Approval ${id}: pending` }).waitFor({ state: "visible", timeout: 10_000 });
      await s.page.locator(".monaco-editor .view-lines", { hasText: "guardrail prod-deploys (require_approval)" }).waitFor({ state: "visible" });
      // A read-only document named for the approval: never dirty, so closing it asks nothing.
      const detailsTab = s.page.locator(".tabs-container .tab", { hasText: `Approval ${id}.md` });
      await detailsTab.waitFor({ state: "visible" });
      check(!(await detailsTab.evaluate((el) => (el as { classList: { contains(c: string): boolean } }).classList.contains("dirty"))), "the approval's details tab is dirty (an untitled document would ask to be saved)");
      await toast.getByRole("button", { name: "Approve", exact: true }).waitFor({ state: "visible", timeout: 10_000 });
      await s.admin("POST", `/v1/approvals/${id}/approve`, { reason: "done from the CLI" });
      const { approval } = await s.http("GET", `/v1/approvals/${id}`);
      check(approval.status === "approved" && approval.resolved_by === "admin-key", `the approval: ${JSON.stringify(approval)}`);
      await s.pane("Approvals").locator(".monaco-list-row", { hasText: "deploy.release" }).filter({ hasText: "night-ops" }).waitFor({ state: "hidden", timeout: 10_000 });
      await s.status.filter({ hasText: /^\s*Apie: Enforce\s*$/ }).waitFor({ state: "visible", timeout: 10_000 });
      const stale = await s.notification("Apie: night-ops wants to run deploy.release");
      await stale.getByRole("button", { name: "Approve", exact: true }).click();
      await s.page
        .locator(".notification-toast", { hasText: /deploy\.release \(night-ops\) was already approved with the admin key \(apie approvals or the API\) at \d\d:\d\d:\d\d \(done from the CLI\); nothing was done/ })
        .waitFor({ state: "visible", timeout: 10_000 });
      await s.screenshot("stale-notification-click");
      const after = (await s.http("GET", `/v1/approvals/${id}`)).approval;
      check(after.status === "approved" && after.resolved_by === "admin-key" && after.resolved_at === approval.resolved_at, `the click changed the approval: ${JSON.stringify(after)}`);
    },
  },
  {
    name: "(t) Runs timeline: agents and hosts → sessions named for people → one row per tool call; the approved deploy's children are its decision, approval and outcome; its details link to the guardrail",
    async run(s) {
      // A Claude Code session whose first prompt names it: its hook's calls, as `apie hook` sends them.
      const transcript = path.join(s.run.dir, "login-transcript.jsonl");
      writeFileSync(transcript, JSON.stringify({ type: "user", message: { role: "user", content: "fix the login bug" } }) + "\n");
      const metadata = { cwd: s.run.workspace, hook: { host: "claude-code", session_id: "e2e-login", tool_use_id: "toolu_login_1", transcript_path: transcript } };
      const bash = { agent_key: "claude-code", tool: { name: "Bash", provider: "claude-code" } };
      const answer = await s.http("POST", "/v1/hooks/evaluate", { ...bash, action: { type: "execute", name: "Bash" }, resource: { type: "shell_command" }, arguments: { command: "npm test" }, metadata });
      check(answer.enforcement_action === "proceed", `npm test: ${JSON.stringify(answer)}`);
      await s.http("POST", "/v1/hooks/outcome", { ...bash, metadata, status: "completed" });

      const runs = await s.openApieViews();
      // Room for the Runs view (its rows are virtualized: only what fits is in the page): the other views fold.
      const others = [s.pane("Approvals"), s.pane("Boundary")];
      for (const pane of others) if ((await pane.locator(".pane-header").getAttribute("aria-expanded")) === "true") await pane.locator(".pane-header").click();
      // …and room for the rows' descriptions (state, guardrail, duration).
      await s.resizeSideBar(SIDEBAR_WIDENED);
      try {
        const row = (text: string | RegExp) => runs.locator(".monaco-list-row", { hasText: text });
        await row(/^\s*release-gate/).first().waitFor({ state: "visible", timeout: 15_000 });
        await row("fix the login bug").first().waitFor({ state: "visible", timeout: 15_000 });
        await s.expandRuns(runs);
        // One row per call: each run's only child is its deploy (aria-setsize counts a row's siblings).
        const deploys = row("deploy.release · production");
        await deploys.first().waitFor({ state: "visible" });
        for (const deploy of await deploys.all()) {
          check((await deploy.getAttribute("aria-level")) === "3" && (await deploy.getAttribute("aria-setsize")) === "1", `not one row per call: ${await deploy.innerText()} (level ${await deploy.getAttribute("aria-level")}, ${await deploy.getAttribute("aria-setsize")} siblings)`);
        }
        const raw = row(/approval\.requested|approval\.resolved|action\.completed|agent\.|run started|run completed/);
        check((await raw.count()) === 0, `raw record rows: ${(await raw.allInnerTexts()).join(" | ")}`);
        // The approved deploy (b): its children are the decision, the approval and the outcome, in words.
        const approved = deploys.filter({ hasText: /approved · Production deploys/ }).first();
        await approved.locator(".monaco-tl-twistie").click();
        for (const child of ["Decision: approval required", "Approval: approved by editor", "Outcome: completed"]) {
          const r = row(child).first();
          await r.waitFor({ state: "visible", timeout: 10_000 });
          check((await r.getAttribute("aria-level")) === "4" && (await r.getAttribute("aria-setsize")) === "3", `${child}: level ${await r.getAttribute("aria-level")}, ${await r.getAttribute("aria-setsize")} siblings`);
        }
        // The Claude Code sessions' runs (level 3, under the host's group and the session): the call in the host's words.
        await s.expandAll(runs.locator('.monaco-list-row[aria-level="3"][aria-expanded="false"]', { hasText: /^\s*Claude Code/ }), "the Claude Code run");
        await row("Bash · npm test").filter({ hasText: "completed" }).first().waitFor({ state: "visible", timeout: 10_000 });
        // Its details: a panel titled with the call and its state; the guardrail's link opens apie.policy.json.
        await approved.locator(".label-name").click();
        await s.page.locator(".tab", { hasText: "deploy.release · production — approved" }).waitFor({ state: "visible", timeout: 10_000 });
        const details = s.page.frameLocator("iframe.webview").last().frameLocator("iframe#active-frame");
        await details.getByText("Approval").first().waitFor({ state: "visible", timeout: 10_000 });
        await details.getByText(/approved by editor · scope: this call only/).waitFor({ state: "visible" });
        await s.screenshot("runs-timeline");
        await details.locator('a[data-guardrail="prod-deploys"]').click();
        await s.page.locator(".tab.active", { hasText: "apie.policy.json" }).waitFor({ state: "visible", timeout: 10_000 });
        // Leave the window as the next tests expect it: the policy file and the details panel closed…
        for (const title of ["apie.policy.json", "deploy.release · production — approved"]) {
          // A middle click closes an editor's tab.
          const tab = s.page.locator(".tab", { hasText: title });
          await tab.click({ button: "middle" });
          await tab.waitFor({ state: "detached" });
        }
      } finally {
        // …and, pass or fail, the side bar at its width and the views unfolded: a failure here is not the next
        // test's too (the walkthrough hides its media column in a narrow editor).
        await s.resizeSideBar(-SIDEBAR_WIDENED);
        for (const pane of others) if ((await pane.locator(".pane-header").getAttribute("aria-expanded")) === "false") await pane.locator(".pane-header").click();
      }
    },
  },
  {
    name: "(n) \"Approve for Session\" on a Claude Code hook's secret read: the same read again runs without a prompt; another file still prompts",
    async run(s) {
      const read = (file: string, n: number) => s.claudeHook({ session_id: "e2e-scopes", tool_name: "Read", tool_input: { file_path: file }, tool_use_id: `toolu_scopes_${n}` });
      const first = read("~/.ssh/id_rsa", 1);
      try {
        const toast = await s.pendingNotification("Apie: Claude Code wants to run `Read ~/.ssh/id_rsa`");
        await s.checkApprovalToast(toast, "info");
        check(/Approve for Session also allows Read of .*\/\.ssh\/id_rsa until this session ends\./.test(await toast.innerText()), `the notification does not say what the session grant covers: ${await toast.innerText()}`);
        await s.screenshot("approve-for-session-notification");
        await toast.getByRole("button", { name: "Approve for Session", exact: true }).click();
        const answer = await first.answer;
        check(answer.hookSpecificOutput?.permissionDecision === "allow", `first read: ${JSON.stringify(answer)}`);
      } finally {
        first.kill();
      }
      const { approvals } = await s.admin("GET", "/v1/approvals?status=approved");
      const granted = approvals.find((a: any) => a.tool.name === "Read" && a.scope === "session");
      check(granted?.resolved_by === "editor", `no approval approved for the session in the editor: ${JSON.stringify(approvals)}`);

      // The same read again: allowed by the session grant, and no notification is raised for it.
      const second = read("~/.ssh/id_rsa", 2);
      const again = await second.answer;
      check(again.hookSpecificOutput?.permissionDecision === "allow" && again.hookSpecificOutput.permissionDecisionReason === `apie: approved for this session (${granted.id})`, `second read: ${JSON.stringify(again)}`);
      check((await s.admin("GET", "/v1/approvals?status=pending")).approvals.length === 0, "the second read opened an approval");

      // Another secret file still prompts.
      const other = read("~/.aws/credentials", 3);
      try {
        const toast = await s.pendingNotification("Apie: Claude Code wants to run `Read ~/.aws/credentials`");
        await toast.getByRole("button", { name: "Deny", exact: true }).click();
        const reason = s.page.locator(".quick-input-widget input");
        await reason.waitFor({ state: "visible" });
        await reason.fill("not the AWS keys");
        await s.page.keyboard.press("Enter");
        const answer = await other.answer;
        check(answer.hookSpecificOutput?.permissionDecision === "deny" && /not the AWS keys/.test(answer.hookSpecificOutput.permissionDecisionReason), `other read: ${JSON.stringify(answer)}`);
      } finally {
        other.kill();
      }
      await s.openApieViews();
      await s.screenshot("approve-for-session-runs");
    },
  },
  {
    name: "(o) \"Always allow…\" (More…): with code-server's Auto Save on it asks first (Cancel adds nothing); with it off, apie.policy.json opens with the proposed guardrail unsaved; the approval stays pending",
    async run(s) {
      const policyFile = path.join(s.run.workspace, "apie.policy.json");
      const before = readFileSync(policyFile, "utf8");
      const isDirty = (tab: Locator) => tab.evaluate((el) => (el as { classList: { contains(c: string): boolean } }).classList.contains("dirty"));
      const alwaysAllow = async () => {
        const toast = await s.pendingNotification("Apie: Claude Code wants to run `Read .env`");
        await toast.getByRole("button", { name: "More…", exact: true }).click();
        await s.page.locator(".quick-input-list .monaco-list-row", { hasText: "Always allow…" }).first().click();
      };
      const call = s.claudeHook({ session_id: "e2e-always", tool_name: "Read", tool_input: { file_path: ".env" }, tool_use_id: "toolu_always_1" });
      let autoSaveOff = false;
      try {
        // code-server (like vscode.dev) saves edits after a delay by default: the rule would apply at once, so
        // the human is asked first; Cancel adds nothing.
        await alwaysAllow();
        const dialog = s.page.locator(".monaco-dialog-box", { hasText: "add guardrail always-allow-read-1 to apie.policy.json?" });
        await dialog.waitFor({ state: "visible", timeout: 15_000 });
        check(/Auto Save is on/.test(await dialog.innerText()), `the dialog: ${await dialog.innerText()}`);
        await s.screenshot("always-allow-autosave-confirm");
        await dialog.getByRole("button", { name: "Cancel" }).click();
        await dialog.waitFor({ state: "hidden" });
        check(readFileSync(policyFile, "utf8") === before, "Cancel changed apie.policy.json");

        // Auto Save off (the desktop default): the proposal is inserted unsaved, for review.
        await s.quickPick(">File: Toggle Auto Save", /Toggle Auto Save/);
        autoSaveOff = true;
        await alwaysAllow();
        const tab = s.page.locator(".tabs-container .tab", { hasText: "apie.policy.json" });
        await tab.waitFor({ state: "visible", timeout: 15_000 });
        await s.page.locator(".monaco-editor .view-lines", { hasText: '"always-allow-read-1"' }).waitFor({ state: "visible", timeout: 10_000 });
        await s.page.locator(".monaco-editor .view-lines", { hasText: '"local-secret-files"' }).waitFor({ state: "visible" });
        check(await isDirty(tab), "the proposed guardrail was saved, not left for review");
        check(readFileSync(policyFile, "utf8") === before, "apie.policy.json changed on disk before the user saved");
        const said = s.page.locator(".notification-toast, .notifications-center .notification-list-item", { hasText: /proposed guardrail always-allow-read-1 in apie\.policy\.json \(unsaved\).*is still pending/ });
        await waitFor("the proposal's message", async () => (await said.count()) > 0, 10_000);
        await s.screenshot("always-allow-proposal");
        const pending = (await s.admin("GET", "/v1/approvals?status=pending")).approvals;
        check(pending.length === 1 && pending[0].tool.name === "Read", `the approval did not stay pending: ${JSON.stringify(pending)}`);
        check(!call.exited(), "the hook was answered by Always allow…");
        // Leave the workspace as it was: drop the unsaved proposal, deny the read.
        await s.quickPick(">File: Revert File", /Revert File/);
        await waitFor("the tab to be clean", async () => !(await isDirty(tab)), 10_000);
        await s.admin("POST", `/v1/approvals/${pending[0].id}/reject`, { reason: "e2e" });
        await call.answer;
      } finally {
        call.kill();
        if (autoSaveOff) await s.quickPick(">File: Toggle Auto Save", /Toggle Auto Save/);
      }
    },
  },
  {
    name: "(e) the status bar switches to Monitor (after the modal) and the next decision follows",
    async run(s) {
      await s.statusShows("Enforce").click();
      const dialog = s.page.locator(".monaco-dialog-box", { hasText: "Switch Apie to Monitor?" });
      await dialog.waitFor({ state: "visible" });
      await s.screenshot("monitor-modal");
      await dialog.getByRole("button", { name: "Switch to Monitor" }).click();
      await s.statusShows("Monitor").waitFor({ state: "visible", timeout: 15_000 });
      const mode = await s.http("GET", "/v1/mode");
      check(mode.mode === "monitor", `GET /v1/mode: ${JSON.stringify(mode)}`);
      const decision = await s.http("POST", "/v1/guardrails/evaluate", DEPLOY_REQUEST);
      check(
        decision.policy_decision === "require_approval" && decision.effective_decision === "allow" && decision.annotation === "would_require_approval" && decision.approval_request === null,
        `evaluate in monitor: ${JSON.stringify(decision)}`,
      );
      const settings = JSON.parse(readFileSync(path.join(s.run.workspace, ".vscode/settings.json"), "utf8"));
      check(settings["apie.mode"] === "monitor", `workspace settings: ${JSON.stringify(settings)}`);
      await s.screenshot("status-monitor");
    },
  },
  {
    name: "(m) the walkthrough opens; its \"Try it safely\" step raises a real approval (enforced for that call, in a monitor workspace) that the notification answers; the step completes",
    async run(s) {
      await s.quickPick(">Welcome: Open Walkthrough", /Open Walkthrough/);
      await s.page.locator(".quick-input-list .monaco-list-row", { hasText: "Get Started with Apie" }).first().click();
      const page = s.page.locator(".gettingStartedContainer");
      await page.locator(".getting-started-step", { hasText: "Guard your coding agents" }).waitFor({ state: "visible", timeout: 20_000 });
      for (const title of ["Enable guardrail templates", "Switch to enforce", "Try it safely"]) await page.locator(".getting-started-step", { hasText: title }).waitFor({ state: "visible" });
      // Room for the step's media column (the walkthrough hides it in a narrow editor).
      await s.closeSecondarySideBar();
      const step = page.locator(".getting-started-step", { hasText: "Try it safely" });
      await step.click();
      // The step's markdown (media/walkthrough/try-approval.md, shipped in the VSIX) renders in a webview.
      await s.page.frameLocator(".getting-started-media iframe").frameLocator("iframe#active-frame").getByText("Nothing is deployed").first().waitFor({ state: "visible", timeout: 20_000 });
      await s.screenshot("walkthrough");
      await page.getByRole("button", { name: "Raise a Demo Approval" }).click();
      // (e) left the workspace in monitor: the demo's own mode "enforce" still makes its approval wait.
      const toast = s.page.locator(".notification-toast", { hasText: "deploy.release" }).filter({ hasText: "apie-demo" });
      await toast.waitFor({ state: "visible", timeout: 20_000 });
      await s.screenshot("walkthrough-demo-approval");
      // A link in today's progress notification; a button once notifications get real buttons.
      await toast.getByRole("link", { name: "Approve" }).or(toast.getByRole("button", { name: "Approve" })).first().click();
      await s.page.locator(".notification-toast", { hasText: "Apie demo: approved by editor" }).waitFor({ state: "visible", timeout: 20_000 });
      await toast.waitFor({ state: "hidden", timeout: 10_000 });
      check((await s.http("GET", "/v1/mode")).mode === "monitor", "the demo changed the workspace's mode");
      // The step's check mark (completionEvents: onCommand:apie.tryApproval).
      await step.locator('.codicon.complete[aria-checked="true"]').waitFor({ state: "visible", timeout: 10_000 });
      await s.screenshot("walkthrough-demo-approved");
    },
  },
  {
    name: "(f) a broken apie.mcp.json shows the language server's diagnostic in the Problems panel",
    async run(s) {
      await s.quickPick("apie.mcp.json", "apie.mcp.json");
      await s.page.locator(".tabs-container .tab", { hasText: "apie.mcp.json" }).waitFor({ state: "visible" });
      await s.quickPick(">Focus on Problems View", /Focus on Problems View/);
      // sidecar/lsp/diagnostics.ts: `field: message`, source "apie" (the JSON schema's own check says otherwise).
      const marker = s.page.locator(".markers-panel .monaco-list-row", { hasText: 'releaseMode: releaseMode "guard" is no longer supported: use mode: "enforce"' });
      await marker.waitFor({ state: "visible", timeout: 30_000 });
      const text = await marker.innerText();
      check(/apie/.test(text), `the diagnostic's row does not name its source apie: ${JSON.stringify(text)}`);
      await s.screenshot("problems-mcp-json");
    },
  },
  {
    name: "(g) closing the editor stops the sidecar: no process left, discovery file removed, audit chain intact",
    async run(s) {
      const d = s.discovery!;
      const endedByItself = await s.closeEditor();
      check(endedByItself, "code-server's process group had to be killed");
      check(!isRunning(d.pid), `the sidecar (pid ${d.pid}) outlived the editor`);
      const discoveryFile = path.join(s.run.workspace, ".apie/sidecar.json");
      check(!existsSync(discoveryFile), `${discoveryFile} still points at a stopped sidecar`);
      const verify = spawnSync(process.execPath, [path.join(ROOT, "dist/cli.js"), "audit", "verify", "--state-dir", path.join(s.run.workspace, ".apie")], { encoding: "utf8" });
      check(verify.status === 0, `apie audit verify: ${verify.status} ${verify.stdout}${verify.stderr}`);
      lap(`  apie audit verify: ${verify.stdout.trim()}`);
    },
  },
];

/**
 * The window's folder: enforce with prod-deploys and local-secret-files (require_approval), a guardrail whose
 * approvals expire after SHORT_APPROVAL_MS for (d), and a broken apie.mcp.json for (f).
 */
function writeWorkspace(run: RunDir): void {
  const shortApproval = { key: "short-approval", decision: "require_approval", reason: "restarts need a quick yes", approvalTimeoutMs: SHORT_APPROVAL_MS, match: { "tool.name": "service.restart" } };
  writeFileSync(path.join(run.workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true, "local-secret-files": true }, guardrails: [shortApproval] }, null, 2) + "\n");
  // Claude Code "is on this machine" for (h): its config folder in the editor's HOME.
  mkdirSync(path.join(run.home, ".claude"), { recursive: true });
  // releaseMode was replaced by mode; the loader refuses it with a message that names the fix.
  writeFileSync(path.join(run.workspace, "apie.mcp.json"), JSON.stringify({ releaseMode: "guard", servers: {} }, null, 2) + "\n");
}

async function main(): Promise<{ passed: number; failed: number }> {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  check(existsSync(VSIX), `${VSIX} is missing: npm run package`);
  lap(`VSIX ${path.relative(ROOT, VSIX)} (${(statSync(VSIX).size / 1024).toFixed(0)} KB)`);
  const tools = findTools();
  const run = new RunDir();
  run.writeUserSettings();
  writeWorkspace(run);
  lap(`run folder ${run.dir}`);
  CodeServer.installExtension(tools, run, VSIX);
  lap("extension installed from the VSIX");

  let server: CodeServer | undefined;
  let browser: BrowserContext | undefined;
  let session: Session | undefined;
  let endedByItself: boolean | undefined;
  let passed = 0;
  let failed = 0;
  try {
    server = await CodeServer.start(tools, run, await freePort());
    lap(`code-server ${server.url} (process group ${server.pid})`);
    const launched = await launchBrowser(tools, run);
    browser = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(20_000);
    const browserLog: string[] = [];
    page.on("pageerror", (e) => browserLog.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && browserLog.push(`console.error: ${m.text()}`));
    page.on("requestfailed", (r) => browserLog.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
    page.on("close", () => writeFileSync(path.join(RESULTS, "browser.log"), browserLog.join("\n") + "\n"));
    session = new Session(page, run, browser, server);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(run.workspace)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    lap("workbench loaded");
    await session.screenshot("workbench");

    let blocked: string | undefined;
    for (const test of TESTS) {
      const started = Date.now();
      if (blocked !== undefined) {
        failed++;
        console.log(`  ✗ ${test.name}\n      not run: ${blocked}`);
        continue;
      }
      try {
        await test.run(session);
        passed++;
        lap(`✓ ${test.name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      } catch (error) {
        failed++;
        lap(`✗ ${test.name} (${((Date.now() - started) / 1000).toFixed(1)}s)\n      ${(error as Error).message.split("\n").join("\n      ")}`);
        await session.screenshot(`FAILED-${test.name.slice(1, 2)}`).catch(() => undefined);
        if (test.essential) blocked = `${test.name.split(":")[0]} failed`;
      }
    }
  } catch (error) {
    failed += TESTS.length - passed - failed;
    console.log(`harness failure: ${(error as Error).stack ?? String(error)}`);
    await session?.screenshot("FAILED-harness").catch(() => undefined);
  } finally {
    if (session !== undefined) endedByItself = await session.closeEditor();
    else {
      await browser?.close().catch(() => undefined);
      endedByItself = await server?.stop();
    }
    lap(`browser closed, code-server stopped${endedByItself === false ? " (its process group had to be killed)" : ""}`);
    const pid = session?.discovery?.pid;
    if (pid !== undefined && isRunning(pid)) {
      console.log(`warning: the sidecar (pid ${pid}) outlived code-server; killing it`);
      process.kill(pid, "SIGKILL");
    }
    run.collectLogs(path.join(RESULTS, "logs"));
    if (failed > 0 || process.env.E2E_KEEP) console.log(`run folder kept: ${run.dir}`);
    else run.remove();
  }
  console.log(`screenshots and logs in ${path.relative(ROOT, RESULTS)}/: ${listFiles(RESULTS).filter((f) => f.endsWith(".png")).join(", ")}`);

  // Then mocha inside the extension host (test/e2e/hostRun.ts): its own code-server, this repository as the
  // extension under development. Its tests count in the summary line.
  if (!process.env.E2E_SKIP_HOST) {
    try {
      const host = await runHostTests(lap);
      passed += host.passed;
      failed += host.failed;
    } catch (error) {
      failed++;
      console.log(`extension-host tests: harness failure: ${(error as Error).stack ?? String(error)}`);
    }
  }
  return { passed, failed };
}

exitWithSummary(main());
