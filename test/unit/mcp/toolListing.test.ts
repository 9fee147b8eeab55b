import { strict as assert } from "node:assert";
import { ToolParamHeaders } from "../../../sidecar/mcp/paramHeaders";
import { StatelessClientSide } from "../../../sidecar/mcp/statelessClientSide";
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

  it("an upstream that never answers holds up one round of calls, up to the deadline, and its request is cancelled; the next calls do not wait, and nothing is listed again at once", async () => {
    let asked = 0;
    let cancelled = 0;
    // A lane whose upstream never answers: only the deadline's abort ends the request.
    const lane = {
      ownRequest: (_method: string, _params: unknown, signal?: AbortSignal) =>
        (asked++, new Promise<undefined>((resolve) => signal?.addEventListener("abort", () => (cancelled++, resolve(undefined))))),
    };
    const listing = new ToolListing(new ToolParamHeaders(), 50);
    // Both calls wait for the one listing, which ends at its deadline (else this test would time out).
    await Promise.all([listing.learn("route", call, lane), listing.learn("other", call, lane)]);
    await listing.learn("route", call, lane);
    assert.equal(asked, 1, "one listing for all of them, and none again within the relist interval");
    assert.equal(cancelled, 1, "the request nobody waits for is cancelled, not left pending");
  });
});

describe("mcp: the stateless lane's own requests", () => {
  it("an abandoned request goes into the pump as a cancellation of its id, and its late answer is dropped", async () => {
    const lane = new StatelessClientSide();
    const intoPump: any[] = [];
    lane.onmessage = (message) => void intoPump.push(message);
    const stop = new AbortController();
    const asked = lane.ownRequest("tools/list", {}, stop.signal);
    stop.abort();
    assert.equal(await asked, undefined);
    const id = intoPump[0].id;
    assert.deepEqual([intoPump[0].method, intoPump[1].method, intoPump[1].params.requestId], ["tools/list", "notifications/cancelled", id]);
    await lane.send({ jsonrpc: "2.0", id, result: { tools: [] } }); // the upstream answered anyway: nobody gets it
    const answered = lane.ownRequest("tools/list", {});
    await lane.send({ jsonrpc: "2.0", id: intoPump[2].id, result: { tools: [route] } });
    assert.deepEqual(await answered, { jsonrpc: "2.0", id: intoPump[2].id, result: { tools: [route] } }, "an answered request resolves with its answer");
    assert.equal(intoPump.length, 3, "no cancellation for an answered request");
  });
});
