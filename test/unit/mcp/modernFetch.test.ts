import { strict as assert } from "node:assert";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ModernFetch } from "../../../sidecar/mcp/modernFetch";
import { ToolParamHeaders } from "../../../sidecar/mcp/paramHeaders";

/**
 * ModernFetch against a real HTTP server on loopback that refuses a call with -32020 (a header the proxy did
 * not send) and never answers the proxy's own tools/list: the host must still get the call's answer.
 */
describe("mcp: ModernFetch's own tools/list after an upstream's -32020", () => {
  it("is given up at its deadline: the host gets the upstream's -32020 answer, and the listing's request is cancelled", async () => {
    const held: ServerResponse[] = [];
    let listingClosed = false;
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        const message = JSON.parse(text) as { id: unknown; method: string };
        if (message.method === "tools/list") {
          held.push(res); // never answered
          res.on("close", () => (listingClosed = true));
          return;
        }
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32020, message: "Mcp-Param-Region is missing" } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
      const call = { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "route", arguments: { region: "eu" }, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } } };
      const started = performance.now();
      const response = await new ModernFetch(new ToolParamHeaders(), 200).fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(call) });
      const body = (await response.json()) as { id: unknown; error: { code: number } };
      assert.deepEqual([response.status, body.id, body.error.code], [200, 4, -32020], "the call's own answer, handed on as a message");
      assert.ok(performance.now() - started < 5_000, "by the listing's deadline, not the default one or never");
      assert.equal(held.length, 1, "the proxy did list the tools");
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(listingClosed, true, "the request nobody waits for is closed, not left open");
    } finally {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
