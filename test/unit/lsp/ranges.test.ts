import { strict as assert } from "node:assert";
import { TextDocument } from "vscode-languageserver-textdocument";
import { configFileOf } from "../../../sidecar/lsp/configFiles";
import { rangeOf, spanOf } from "../../../sidecar/lsp/ranges";

describe("lsp ranges and config files", () => {
  it("maps loader offsets to 0-based LSP ranges and back, in UTF-16 like the loaders", () => {
    const text = '{\n  "a": "😀",\n  "b": 1\n}\n';
    const doc = TextDocument.create("file:///w/apie.policy.json", "json", 1, text);
    const offset = text.indexOf('"b"');
    const range = rangeOf(doc, offset, 3);
    assert.deepEqual(range, { start: { line: 2, character: 2 }, end: { line: 2, character: 5 } });
    assert.deepEqual(spanOf(doc, range), { offset, length: 3 });
    // A zero-length error (a missing field reported at a point) stays a point.
    assert.deepEqual(rangeOf(doc, 0, 0), { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
  });

  it("recognises the config files by name in any folder, and nothing else", () => {
    assert.deepEqual(configFileOf("file:///work/ws/apie.policy.json"), { kind: "policy", file: "/work/ws/apie.policy.json", onDisk: true });
    assert.deepEqual(configFileOf("file:///work/my%20ws/sub/apie.mcp.json"), { kind: "mcp", file: "/work/my ws/sub/apie.mcp.json", onDisk: true });
    assert.equal(configFileOf("untitled:apie.mcp.json")?.onDisk, false);
    assert.equal(configFileOf("file:///work/ws/package.json"), undefined);
    assert.equal(configFileOf("file:///work/ws/apie.policy.json.bak"), undefined);
  });
});
