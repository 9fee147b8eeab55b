import { strict as assert } from "node:assert";
import { ToolParamHeaders } from "../../../sidecar/mcp/paramHeaders";
import { ToolListing } from "../../../sidecar/mcp/toolListing";

const call = { params: { name: "route", _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": { name: "host" }, progressToken: 7 } } };
const route = { name: "route", inputSchema: { type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" } } } };

describe("mcp: the proxy's own tools/list before checking a call's Mcp-Param-* headers", () => {
  it("follows the pages until the tool is known, with the host's client identity but not its request's own _meta", async () => {
    const asked: any[] = [];
    const pages: Record<string, unknown> = { first: { tools: [{ name: "echo" }], nextCursor: "2" }, "2": { tools: [route] } };
    const lane = { ownRequest: async (_method: string, params: any) => (asked.push(params), { jsonrpc: "2.0" as const, id: "x", result: pages[params.cursor ?? "first"] as any }) };
    const params = new ToolParamHeaders();
    await new ToolListing(params).learn("route", call, lane);
    assert.equal(params.knows("route"), true);
    assert.deepEqual(asked.map((p) => p.cursor), [undefined, "2"]);
    assert.deepEqual(Object.keys(asked[0]._meta), ["io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientInfo"]);
  });

  it("an upstream that never answers holds up one round of calls, up to the deadline; the next calls do not wait, and nothing is listed again at once", async () => {
    let asked = 0;
    const lane = { ownRequest: () => (asked++, new Promise<undefined>(() => {})) };
    const listing = new ToolListing(new ToolParamHeaders(), 50);
    // Both calls wait for the one listing, which ends at its deadline (else this test would time out).
    await Promise.all([listing.learn("route", call, lane), listing.learn("other", call, lane)]);
    await listing.learn("route", call, lane);
    assert.equal(asked, 1, "one listing for all of them, and none again within the relist interval");
  });
});
