import { strict as assert } from "node:assert";
import { approvalArgumentsPreview, PREVIEW_ITEMS, PREVIEW_STRING_CHARS, PREVIEW_TOTAL_CHARS } from "../../../sidecar/server/redaction";
import { REDACTED } from "../../../sidecar/guard/redact";

describe("approvalArgumentsPreview: what an approval holds of the arguments", () => {
  it("keeps small arguments as they are, redacted", () => {
    assert.deepEqual(approvalArgumentsPreview({ command: "rm -rf build/", token: "abc" }), { command: "rm -rf build/", token: REDACTED });
  });

  it("cuts long strings but keeps their start, saying how much is left out", () => {
    const content = "line\n".repeat(100_000);
    const preview = approvalArgumentsPreview({ path: "/etc/hosts", content }) as { path: string; content: string };
    assert.equal(preview.path, "/etc/hosts");
    assert.ok(preview.content.startsWith(content.slice(0, PREVIEW_STRING_CHARS)));
    assert.match(preview.content, new RegExp(`\\[${content.length - PREVIEW_STRING_CHARS} more characters\\]$`));
  });

  it("shortens long lists and objects, at every level", () => {
    const preview = approvalArgumentsPreview({ files: Array.from({ length: 1_000 }, (_, i) => `f${i}`), env: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`K${i}`, "v".repeat(5_000)])) }) as {
      files: string[];
      env: Record<string, string>;
    };
    assert.equal(preview.files.length, PREVIEW_ITEMS + 1);
    assert.equal(preview.files.at(-1), `… [${1_000 - PREVIEW_ITEMS} more items]`);
    assert.equal(Object.keys(preview.env).length, PREVIEW_ITEMS + 1);
    assert.equal(preview.env["…"], `${500 - PREVIEW_ITEMS} more members`);
    assert.ok(preview.env.K0!.length < 2 * PREVIEW_STRING_CHARS);
    assert.ok(JSON.stringify(preview).length < 2 * PREVIEW_TOTAL_CHARS, "a 2.5 MB argument set previews within the budget");
  });

  it("stays within its budget however the arguments nest, shallow members first", () => {
    let nested: unknown = "deep";
    for (let i = 0; i < 40; i++) nested = Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`k${k}`, k === 0 ? nested : "x".repeat(1_000)]));
    const preview = approvalArgumentsPreview({ command: "deploy --prod", nested }) as { command: string };
    assert.equal(preview.command, "deploy --prod");
    assert.ok(JSON.stringify(preview).length < 2 * PREVIEW_TOTAL_CHARS);
  });

  it("keeps a member named __proto__ as a member (it is data, not a prototype)", () => {
    const args = JSON.parse('{"__proto__": {"command": "rm -rf /"}}');
    assert.equal(JSON.stringify(approvalArgumentsPreview(args)), '{"__proto__":{"command":"rm -rf /"}}');
  });
});
