import { strict as assert } from "node:assert";
import { paramHeaderDeclarations, paramHeaderMismatch, paramHeaders, ToolParamHeaders } from "../../../sidecar/mcp/paramHeaders";
import { headerMismatch } from "../../../sidecar/mcp/requestMetadata";

describe("Mcp-Param-* headers from x-mcp-header declarations (SEP-2243)", () => {
  const schema = {
    type: "object",
    properties: {
      region: { type: "string", "x-mcp-header": "Region" },
      limits: { type: "object", properties: { tier: { type: "integer", "x-mcp-header": "Tier" }, dryRun: { type: "boolean", "x-mcp-header": "Dry-Run" } } },
      tags: { type: "array", items: { type: "string", "x-mcp-header": "Tag" } },
      spaced: { type: "string", "x-mcp-header": "Has Space" },
      payload: { type: "object", "x-mcp-header": "Payload" },
    },
  };

  it("finds declarations on chains of properties, at any depth, and skips the ones no server checks", () => {
    assert.deepEqual(paramHeaderDeclarations(schema), [
      { path: ["region"], name: "Region", type: "string" },
      { path: ["limits", "tier"], name: "Tier", type: "integer" },
      { path: ["limits", "dryRun"], name: "Dry-Run", type: "boolean" },
    ]);
    assert.deepEqual(paramHeaderDeclarations({ type: "string", "x-mcp-header": "Root" }), [], "not the arguments object itself");
    assert.deepEqual(paramHeaderDeclarations(null), []);
  });

  it("walks a hostile schema without recursion: 100 000 levels of properties end at the depth bound", () => {
    let deep: Record<string, unknown> = { type: "string", "x-mcp-header": "Deep" };
    for (let i = 0; i < 100_000; i++) deep = { type: "object", properties: { a: deep } };
    assert.deepEqual(paramHeaderDeclarations(deep), []);
  });

  it("writes a header per argument given: plain ASCII as is, anything else as =?base64?…?=, none for absent or null", () => {
    const declarations = paramHeaderDeclarations(schema);
    assert.deepEqual(paramHeaders(declarations, { region: "eu-west-1", limits: { tier: 3, dryRun: false } }), {
      "mcp-param-region": "eu-west-1",
      "mcp-param-tier": "3",
      "mcp-param-dry-run": "false",
    });
    assert.deepEqual(paramHeaders(declarations, { region: "zürich", limits: null }), { "mcp-param-region": `=?base64?${Buffer.from("zürich").toString("base64")}?=` });
    assert.deepEqual(paramHeaders(declarations, { region: " padded" }), { "mcp-param-region": `=?base64?${Buffer.from(" padded").toString("base64")}?=` });
    assert.deepEqual(paramHeaders(declarations, { region: null, limits: { tier: Number.MAX_SAFE_INTEGER + 2 } }), {}, "null and unsafe integers: no header");
  });

  it("checks a host's headers against its body: present and equal for every argument given, integers by value, Base64 canonical", () => {
    const declarations = paramHeaderDeclarations(schema);
    const args = { region: "eu-west-1", limits: { tier: 3 } };
    assert.equal(paramHeaderMismatch(declarations, args, { "mcp-param-region": "eu-west-1", "mcp-param-tier": "3.0" }), undefined);
    assert.equal(paramHeaderMismatch(declarations, { region: null }, {}), undefined, "nothing is expected for a null argument");
    assert.match(paramHeaderMismatch(declarations, args, { "mcp-param-region": "eu-west-1" })!, /Mcp-Param-Tier header is absent/);
    assert.match(paramHeaderMismatch(declarations, args, { "mcp-param-region": "us-east-1", "mcp-param-tier": "3" })!, /is "us-east-1", the body's region is "eu-west-1"/);
    const encoded = Buffer.from("eu-west-1").toString("base64");
    assert.equal(paramHeaderMismatch(declarations, args, { "mcp-param-region": `=?base64?${encoded}?=`, "mcp-param-tier": "3" }), undefined);
    assert.match(paramHeaderMismatch(declarations, args, { "mcp-param-region": "=?base64?not base64!?=", "mcp-param-tier": "3" })!, /invalid Base64/);
    // The same decoder serves Mcp-Name: a sentinel that is not canonical Base64 is refused there too.
    const call = { jsonrpc: "2.0" as const, id: 1, method: "tools/call", params: { name: "route" } };
    assert.equal(headerMismatch(call, { "mcp-name": `=?base64?${Buffer.from("route").toString("base64")}?=` }, undefined), undefined);
    assert.match(headerMismatch(call, { "mcp-name": "=?base64?cm91dGU?=" }, undefined)!, /invalid Base64/);
  });

  it("learns per tool from tools/list results, and forgets a tool listed again without declarations", () => {
    const tools = new ToolParamHeaders();
    assert.equal(tools.knows("route"), false);
    tools.learn({ tools: [{ name: "route", inputSchema: schema }, { name: "echo", inputSchema: { type: "object" } }, { nameless: true }] });
    assert.deepEqual([tools.knows("route"), tools.knows("echo"), tools.knows("other")], [true, true, false], "a tool listed without declarations is known too");
    assert.deepEqual(tools.headersFor("route", { region: "us" }), { "mcp-param-region": "us" });
    assert.deepEqual(tools.headersFor("echo", { region: "us" }), {});
    tools.learn({ tools: [{ name: "route", inputSchema: { type: "object" } }] });
    assert.deepEqual(tools.headersFor("route", { region: "us" }), {});
    tools.learn("not a result");
  });
});
