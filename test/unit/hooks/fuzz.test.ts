import { strict as assert } from "node:assert";
import { runHook, type HookOptions } from "../../../sidecar/hooks/adapter";
import { HOOK_HOSTS } from "../../../sidecar/hooks/hosts";
import { seededRandom } from "../../support/seededRandom";
import { COPILOT_PASCAL, DOCUMENTED } from "./payloads";
import { ALLOW, scriptedEnvironment, type Script } from "./scriptedSidecar";

/**
 * 10 000 seeded payloads — documented ones mutated (fields dropped, retyped, swapped between dialects, tool
 * names and inputs from every vocabulary and none, deep and long values), truncated, garbled — through the
 * in-process adapter core, with the sidecar down or answering anything (decisions, approvals, errors,
 * garbage). Each run must resolve to exactly one valid answer: "" or one JSON object on one line; never an
 * allow or no opinion where the sidecar answered an error, or where it was down and hooks.failureMode is
 * fail_closed. A failure names its seed; `FUZZ_SEED=N` replays that one seed and prints its input.
 */

const RUNS = 10_000;
const TOOL_NAMES = ["Bash", "Read", "Write", "Edit", "run_in_terminal", "apply_patch", "bash", "view", "Shell", "MCP:x", "mcp__a__b", "mcp__", "run_shell_command", "", "??", "constructor", "__proto__"];
const KEYS = ["session_id", "sessionId", "tool_name", "toolName", "tool_input", "toolArgs", "tool_use_id", "hook_event_name", "hookEventName", "cwd", "permission_mode", "turn_id", "conversation_id", "transcript_path", "agent_type", "timestamp", "toolResult", "tool_response", "error", "workspace_roots"];

function generator(seed: number) {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const value = (depth = 0): unknown => {
    switch (int(depth > 3 ? 5 : 9)) {
      case 0: return pick(TOOL_NAMES);
      case 1: return int(1e6) - 5e5;
      case 2: return null;
      case 3: return random() < 0.5;
      case 4: return "x".repeat(int(3) === 0 ? 20_000 : int(50));
      case 5: return [value(depth + 1), value(depth + 1)];
      case 6: return { command: pick(["rm -rf /", "npm test", "*** Begin Patch\n*** Add File: a\n*** End Patch", '{"command":"ls"}']) };
      case 7: return JSON.stringify({ command: pick(["ls", "cat ~/.ssh/id_rsa"]) });
      default: return { [pick(KEYS)]: value(depth + 1) };
    }
  };
  return { random, int, pick, value };
}

function payloadText(g: ReturnType<typeof generator>): string {
  const base: Record<string, unknown> = { ...g.pick([...Object.values(DOCUMENTED), COPILOT_PASCAL]) };
  for (let i = g.int(4); i > 0; i--) {
    const key = g.pick(KEYS);
    if (g.random() < 0.4) delete base[key];
    else base[key] = g.value();
  }
  if (g.random() < 0.05) base.tool_input = JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`);
  let text = JSON.stringify(base);
  const damage = g.int(10);
  if (damage === 0) text = text.slice(0, g.int(text.length));
  else if (damage === 1) text = text.replace(/[,:]/, g.pick(["", "}", "\u0000", "\ud800"]));
  else if (damage === 2) text = g.pick(["", "null", "[]", "42", '"str"', "{}", "\u00ff\u00fe"]);
  return text;
}

function script(g: ReturnType<typeof generator>): Script {
  switch (g.int(9)) {
    case 0:
    case 1: return { down: true };
    case 2: return { missing: true };
    case 3: return { reply: { status: g.pick([400, 403, 413, 500, 503]), json: g.random() < 0.5 ? { error: { code: "x", message: "refused" } } : undefined } };
    case 4: return { reply: { status: 200, json: g.value() } };
    case 5: return { decision: { enforcement_action: "block", reason: "no", matched_guardrails: [{ key: "k", decision: "block" }] } };
    case 6: return { decision: { enforcement_action: "wait_for_approval", reason: "r", approval_request: g.random() < 0.9 ? { id: "apr_f", status: "pending" } : null }, approval: g.pick(["approved", "rejected", "expired", "timeout"] as const), redeemed: g.random() < 0.8 ? {} : { enforcement_action: "block", reason: "used" } };
    case 7: return { decision: { enforcement_action: "warn", reason: "w", annotation: g.pick([null, "would_block"]) } };
    default: return { decision: { ...ALLOW } };
  }
}

const isPostish = (text: string): boolean => /post|after|toolresult|tool_result/i.test(text);
const refusesOrAsks = (out: string): boolean => /"(deny|ask)"/.test(out);

describe("hooks: fuzz (10 000 seeded payloads, sidecar down and up)", () => {
  it("0 throws, always exactly one valid answer, never an allow where the guard refused or fail_closed applies", async function () {
    this.timeout(120_000);
    for (let seed = Number(process.env.FUZZ_SEED ?? 1); seed <= (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : RUNS); seed++) {
      const g = generator(seed);
      const text = payloadText(g);
      const s = script(g);
      const failureMode = g.random() < 0.5 ? "fail_open" : "fail_closed";
      const options: HookOptions = { host: g.pick([...HOOK_HOSTS, "auto"] as const), event: g.random() < 0.85 ? "pre" : "post", timeoutS: g.pick([1, 30, 900, undefined]) };
      const scripted = scriptedEnvironment(s, { failureMode, approvals: g.random() < 0.3 ? "host" : "editor" });
      if (process.env.FUZZ_SEED) console.log(text.slice(0, 500), options, s, failureMode);
      let out: string;
      try {
        out = await runHook(options, { text }, scripted.env);
      } catch (error) {
        assert.fail(`seed ${seed}: threw ${String(error)}`);
      }
      assert.ok(!out.includes("\n"), `seed ${seed}: one line`);
      if (out !== "") {
        const parsed = JSON.parse(out) as unknown;
        assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `seed ${seed}: an object`);
      }
      const pre = options.event === "pre" && !isPostish(text);
      const evaluated = scripted.requests.some((r) => r.path === "/v1/hooks/evaluate");
      if (pre && evaluated && s.reply !== undefined && s.reply.status !== 200) assert.ok(/"deny"/.test(out), `seed ${seed}: an error answered must deny: ${out}`);
      if (pre && (s.down || s.missing) && failureMode === "fail_closed") assert.ok(refusesOrAsks(out), `seed ${seed}: fail_closed must not proceed: ${out}`);
    }
  });
});
