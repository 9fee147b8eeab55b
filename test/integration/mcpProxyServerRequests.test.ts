import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnUntilReady, type ReadyProcess } from "../support/readyProcess";
import { sidecarEnv, startHttpProxy, writeJson, type HttpProxy } from "./mcpProxyHarness";
import { startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";

const ELICITING = path.resolve(__dirname, "../fixtures/mcp/elicitingHttpServer.mjs");
const SESSIONS = 20;

/**
 * Issue 14, item 1: a request the upstream sends on its standalone GET stream (here an elicitation, sent
 * while the first tools/call of a fresh session runs) reaches the host through `--transport http` with a
 * Streamable HTTP upstream — in every fresh session, not only when the proxy's GET to the upstream happened
 * to open before the call was forwarded.
 */
describe("apie mcp proxy: server→client requests over Streamable HTTP (real processes)", function () {
  this.timeout(120_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let upstream: ReadyProcess;
  let proxy: HttpProxy;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-mcp-elicit-"));
    writeJson(workspace, "apie.policy.json", { version: 1, guardrails: [] });
    [sidecar, upstream] = await Promise.all([startSidecarProcess(workspace), spawnUntilReady([ELICITING])]);
    const { url } = JSON.parse(upstream.readyLine) as { url: string };
    const file = writeJson(workspace, "apie.mcp.json", { agentKey: "mcp-elicit", serverName: "eliciting", mode: "enforce", upstream: { url } });
    proxy = await startHttpProxy(["--config", file], sidecarEnv(sidecar));
  });
  after(async () => {
    proxy?.child.kill("SIGTERM");
    await proxy?.exited;
    upstream?.child.kill("SIGTERM");
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it(`the upstream's elicitation on its standalone stream reaches the host in ${SESSIONS} fresh sessions out of ${SESSIONS}`, async () => {
    const answers: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const client = new Client({ name: "elicit-test", version: "1.0.0" }, { capabilities: { elicitation: {} } });
      let asked = 0;
      client.setRequestHandler(ElicitRequestSchema, async () => {
        asked += 1;
        return { action: "accept", content: { name: `host ${i}` } };
      });
      await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url)));
      try {
        const result = (await client.callTool({ name: "ask", arguments: {} })) as { content: { text: string }[]; isError?: boolean };
        answers.push(result.content[0]!.text);
        assert.equal(asked, 1, `session ${i}: the host was asked ${asked} times`);
      } finally {
        await client.close();
      }
    }
    assert.deepEqual(answers, Array.from({ length: SESSIONS }, (_, i) => `accept: host ${i}`), proxy.stderr());
  });
});
