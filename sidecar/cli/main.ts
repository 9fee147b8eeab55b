import { UsageError } from "./args";
import { approvalsCommand, approvalsUsage } from "./commands/approvals";
import { auditCommand, auditUsage } from "./commands/audit";
import { capabilitiesCommand, capabilitiesUsage } from "./commands/capabilities";
import { demoCommand, demoUsage } from "./commands/demo";
import { doctorCommand, doctorUsage } from "./commands/doctor";
import { evaluateCommand, evaluateUsage } from "./commands/evaluate";
import { guardrailsCommand, guardrailsUsage } from "./commands/guardrails";
import { hooksCommand, hooksUsage } from "./commands/hooks";
import { HOOK_USAGE, hookMain } from "../hooks/hookProcess";
import { mcpCommand, mcpUsage } from "./commands/mcp";
import { policyCommand, policyUsage } from "./commands/policy";
import { reportCommand, reportUsage } from "./commands/report";
import { sendTestEventCommand, sendTestEventUsage } from "./commands/sendTestEvent";
import { sidecarCommand, sidecarUsage } from "./commands/sidecar";
import { processIo, type Io } from "./io";

interface Command {
  summary: string;
  usage: string;
  run(argv: readonly string[], io: Io): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  approvals: { summary: "list, approve or reject a running sidecar's approvals (admin key)", usage: approvalsUsage, run: approvalsCommand },
  audit: { summary: "verify the tamper-evident event log (hash chain)", usage: auditUsage, run: auditCommand },
  capabilities: { summary: "declare an agent's capabilities (its boundary) to the sidecar", usage: capabilitiesUsage, run: capabilitiesCommand },
  demo: { summary: "run sample tool calls through the guard engine", usage: demoUsage, run: demoCommand },
  doctor: { summary: "check the sidecar, keys, apie.policy.json, mode, approvals, event log", usage: doctorUsage, run: doctorCommand },
  evaluate: { summary: "decide one tool call (JSON) with the local engine", usage: evaluateUsage, run: evaluateCommand },
  guardrails: { summary: "list or enable guardrail templates", usage: guardrailsUsage, run: guardrailsCommand },
  hook: {
    summary: "answer one coding-agent hook call (stdin → stdout; what the hosts' configs run)",
    usage: HOOK_USAGE,
    run: async (argv) => {
      await hookMain(argv);
      return 0;
    },
  },
  hooks: { summary: "install, remove or check coding agents' hooks (Claude Code, Codex, Copilot, Cursor, Gemini, VS Code)", usage: hooksUsage, run: hooksCommand },
  mcp: { summary: "proxy an MCP server: every tools/call decided by the sidecar", usage: mcpUsage, run: mcpCommand },
  policy: { summary: "validate apie.policy.json", usage: policyUsage, run: policyCommand },
  report: { summary: "boundary report: declared vs observed tools, drift, decisions", usage: reportUsage, run: reportCommand },
  "send-test-event": { summary: "send a sample session, runs and events to the sidecar", usage: sendTestEventUsage, run: sendTestEventCommand },
  sidecar: { summary: "run the local Apie sidecar (HTTP API on 127.0.0.1)", usage: sidecarUsage, run: sidecarCommand },
};

function mainUsage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`);
  return `Usage: apie COMMAND [options]   (apie COMMAND --help for details)\n\nCommands:\n${lines.join("\n")}\n`;
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failure, 2 usage, 3/4 guard outcomes). */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(mainUsage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`apie: unknown command "${name}"\n\n${mainUsage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.usage + "\n");
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`apie ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    io.err(`apie ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), processIo).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`apie: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
