/**
 * Records the hook payloads the REAL Claude Code and Codex CLIs send, as test/fixtures/hooks/<host>-<step>-<event>.json:
 *
 *   bash test/hosts/setup.sh && node --import tsx test/hosts/recordFixtures.ts
 *
 * Each CLI runs headless against a scripted model that calls a few tools one after the other (a shell command,
 * a file read/write or patch, a failing command; for Claude Code also a subagent's command), with test/hosts/recordingHook.sh on every tool event. The
 * temp paths are then rewritten to a stable /home/dev (the project: /home/dev/project); everything else (ids,
 * durations, field order, extra fields) is kept as the CLI sent it, so a re-run changes the ids and durations.
 * Re-run after bumping a pinned version in setup.sh and review the diff.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CLAUDE_BIN,
  CODEX_BIN,
  claudeEnv,
  codexEnv,
  missingCli,
  startClaude,
  startCodex,
  trustCodexHooks,
  writeCodexConfig,
} from "../support/agentClis";
import { recordedPayloads } from "../support/hostPayloads";
import { makeHostSandbox, type HostSandbox } from "../support/hostSandbox";
import { startScriptedAnthropic, toolResultCount } from "../support/scriptedAnthropic";
import { startScriptedResponses, type ResponsesRequest } from "../support/scriptedResponses";

const RECORDING_HOOK = path.resolve(__dirname, "recordingHook.sh");
const OUT = path.resolve(__dirname, "../fixtures/hooks");

/** Every tool event each host has, so the recorder sees them all (Claude Code: failures have their own event). */
function recordingHooks(events: string[]): { hooks: Record<string, unknown> } {
  const handler = [{ matcher: "*", hooks: [{ type: "command", command: RECORDING_HOOK, timeout: 900 }] }];
  return { hooks: Object.fromEntries(events.map((e) => [e, handler])) };
}

interface Step<Call> {
  name: string;
  call: (box: HostSandbox) => Call;
}

const claudeSteps: Array<Step<{ name: string; input: Record<string, unknown> }>> = [
  { name: "bash", call: () => ({ name: "Bash", input: { command: "echo hi > marker", description: "Write a marker file" } }) },
  { name: "read", call: (box) => ({ name: "Read", input: { file_path: path.join(box.project, "notes.txt") } }) },
  { name: "write", call: (box) => ({ name: "Write", input: { file_path: path.join(box.project, "out.txt"), content: "hello\n" } }) },
  { name: "edit", call: (box) => ({ name: "Edit", input: { file_path: path.join(box.project, "out.txt"), old_string: "hello", new_string: "goodbye" } }) },
  { name: "bash-fails", call: () => ({ name: "Bash", input: { command: "exit 3", description: "Fail on purpose" } }) },
];

const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n";
const codexSteps: Array<Step<{ fn?: { name: string; arguments: Record<string, unknown> }; custom?: { name: string; input: string } }>> = [
  { name: "bash", call: () => ({ fn: { name: "exec_command", arguments: { cmd: "echo hi > marker" } } }) },
  { name: "apply_patch", call: () => ({ custom: { name: "apply_patch", input: PATCH } }) },
  { name: "apply_patch-in-shell", call: () => ({ fn: { name: "exec_command", arguments: { cmd: `apply_patch <<'EOF'\n${PATCH.replace("hello.txt", "hello2.txt")}EOF\n` } } }) },
  { name: "bash-fails", call: () => ({ fn: { name: "exec_command", arguments: { cmd: "exit 3" } } }) },
];

const codexToolResults = (req: ResponsesRequest): number => req.input.filter((i) => i.type === "function_call_output" || i.type === "custom_tool_call_output").length;

async function recordClaude(): Promise<void> {
  const box = makeHostSandbox("record-claude");
  try {
    mkdirSync(path.join(box.project, ".claude"));
    writeFileSync(path.join(box.project, "notes.txt"), "some notes\n");
    writeFileSync(path.join(box.project, ".claude/settings.local.json"), JSON.stringify(recordingHooks(["PreToolUse", "PostToolUse", "PostToolUseFailure"])));
    const model = await startScriptedAnthropic((req) => {
      const step = claudeSteps[toolResultCount(req)];
      return step ? { toolUse: step.call(box) } : { text: "done" };
    });
    try {
      const result = await startClaude("do the steps", { cwd: box.project, env: claudeEnv(box.home, model.baseUrl, { RECORD_DIR: box.records }) }).done;
      if (result.code !== 0) throw new Error(`claude exited ${result.code}: ${result.stderr}${result.stdout}`);
    } finally {
      await model.close();
    }
    save("claude-code", box, recordedPayloads(box.records), (p) => claudeSteps[Number(/toolu_scripted_(\d+)/.exec(String(p.tool_use_id))?.[1]) - 1]?.name);
  } finally {
    box.remove();
  }
}

/** A subagent's call: the main conversation starts a general-purpose subagent, which runs one Bash command. */
async function recordClaudeSubagent(): Promise<void> {
  const box = makeHostSandbox("record-claude-sub");
  try {
    mkdirSync(path.join(box.project, ".claude"));
    writeFileSync(path.join(box.project, ".claude/settings.local.json"), JSON.stringify(recordingHooks(["PreToolUse", "PostToolUse"])));
    const model = await startScriptedAnthropic((req) => {
      const done = toolResultCount(req) > 0;
      if (JSON.stringify(req.messages.find((m) => m.role === "user")?.content ?? "").includes("SUBTASK")) {
        return done ? { text: "sub done" } : { toolUse: { name: "Bash", input: { command: "echo sub > submarker", description: "Write a marker file" } } };
      }
      return done ? { text: "done" } : { toolUse: { name: "Agent", input: { description: "Write a marker", prompt: "SUBTASK: write the marker", subagent_type: "general-purpose" } } };
    });
    try {
      const result = await startClaude("delegate the marker", { cwd: box.project, env: claudeEnv(box.home, model.baseUrl, { RECORD_DIR: box.records }) }).done;
      if (result.code !== 0) throw new Error(`claude exited ${result.code}: ${result.stderr}${result.stdout}`);
    } finally {
      await model.close();
    }
    save("claude-code", box, recordedPayloads(box.records), (p) => (p.agent_type !== undefined ? "subagent-bash" : "agent"), false);
  } finally {
    box.remove();
  }
}

async function recordCodex(): Promise<void> {
  const box = makeHostSandbox("record-codex");
  try {
    const model = await startScriptedResponses((req) => {
      const step = codexSteps[codexToolResults(req)];
      if (!step) return { text: "done" };
      const c = step.call(box);
      return c.fn ? { functionCall: c.fn } : { customCall: c.custom! };
    });
    try {
      writeCodexConfig(box.codexHome, model.baseUrl);
      writeFileSync(path.join(box.codexHome, "hooks.json"), JSON.stringify(recordingHooks(["PreToolUse", "PostToolUse"])));
      trustCodexHooks(box.codexHome);
      const result = await startCodex("do the steps", { cwd: box.project, env: codexEnv(box.home, box.codexHome, { RECORD_DIR: box.records }) }).done;
      if (result.code !== 0) throw new Error(`codex exited ${result.code}: ${result.stderr}${result.stdout}`);
    } finally {
      await model.close();
    }
    save("codex", box, recordedPayloads(box.records), (p) => codexSteps[Number(/call_scripted_(\d+)/.exec(String(p.tool_use_id))?.[1]) - 1]?.name);
  } finally {
    box.remove();
  }
}

const EVENT_SUFFIX: Record<string, string> = { PreToolUse: "pre", PostToolUse: "post", PostToolUseFailure: "post-failure" };

function save(host: string, box: HostSandbox, payloads: Array<Record<string, unknown>>, stepOf: (p: Record<string, unknown>) => string | undefined, fresh = true): void {
  if (fresh) for (const f of readdirSync(OUT).filter((f) => f.startsWith(`${host}-`))) rmSync(path.join(OUT, f));
  for (const payload of payloads) {
    const step = stepOf(payload) ?? "unknown";
    const file = path.join(OUT, `${host}-${step}-${EVENT_SUFFIX[String(payload.hook_event_name)] ?? String(payload.hook_event_name)}.json`);
    writeFileSync(file, `${JSON.stringify(stable(payload, box), null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

/** The sandbox's temp paths → /home/dev, also in the dash-encoded form Claude Code names transcript folders with. */
function stable(payload: unknown, box: HostSandbox): unknown {
  const text = JSON.stringify(payload)
    .split(box.home).join("/home/dev")
    .split(box.home.replace(/[/.]/g, "-")).join("-home-dev");
  return JSON.parse(text);
}

async function main(): Promise<void> {
  for (const bin of [CLAUDE_BIN, CODEX_BIN]) {
    const missing = missingCli(bin);
    if (missing) throw new Error(missing);
  }
  mkdirSync(OUT, { recursive: true });
  await recordClaude();
  await recordClaudeSubagent();
  await recordCodex();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
