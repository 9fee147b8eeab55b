// A tiny agent for the extension-host tests: the TypeScript SDK (the built dist/sdk.js) against the window's
// sidecar, found through APIE_BASE_URL / APIE_API_KEY. One run (input summary: argv[2]) with two tool calls:
//   1. fs.read_file on README.md            no guardrail matches: allowed, the callback runs;
//   2. shell.exec `rm -rf /`                 the prod-shell template (block): ApieError "blocked", no callback.
// Prints one JSON line: {"node":"v20…","runId":…,"read":"ran","shellRan":false,"blocked":{"code":"blocked",…}}.
import { Apie, ApieError } from "../../../dist/sdk.js";

const summary = process.argv[2] ?? "extension-host test run";
const apie = await Apie.create({
  agent: { key: "host-test-agent", name: "Host test agent" },
  mode: "enforce",
  guardFailureMode: "fail_closed",
  runtime: { environment: "development" },
});
const out = { node: process.version, runId: null, read: null, shellRan: false, blocked: null };
try {
  await apie.withRun({ inputSummary: summary }, async (run) => {
    out.runId = run.id;
    out.read = await apie.withTool(
      {
        tool: { name: "fs.read_file", provider: "local" },
        action: { type: "read", name: "fs.read_file" },
        resource: { type: "file" },
        arguments: { path: "README.md" },
      },
      () => "ran",
    );
    try {
      await apie.withTool({ tool: { name: "shell.exec", provider: "local" }, arguments: { command: "rm -rf /" } }, () => {
        out.shellRan = true;
      });
    } catch (error) {
      out.blocked = { isApieError: error instanceof ApieError, code: error?.code ?? null, message: String(error?.message ?? error) };
    }
  });
} finally {
  await apie.shutdown();
}
console.log(JSON.stringify(out));
