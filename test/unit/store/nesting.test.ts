import { strict as assert } from "node:assert";
import { fieldOf, nestingBeyond, textNestsBeyond } from "../../../sidecar/protocol/nesting";
import { MAX_NESTING_DEPTH } from "../../../sidecar/protocol/v1";

/** `{"k": {"k": … leaf}}`: `levels` objects (or arrays) around `leaf`. */
function nested(levels: number, leaf: unknown = 1, array = false): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = array ? [value] : { k: value };
  return value;
}

describe("nestingBeyond: the iterative depth check at the API's boundary", () => {
  it("counts levels below the value itself and accepts exactly the limit", () => {
    assert.equal(nestingBeyond("scalar", 0), undefined);
    assert.equal(nestingBeyond({}, 0), undefined, "the value itself is level 0");
    assert.deepEqual(nestingBeyond({ a: {} }, 0), ["a"]);
    assert.equal(nestingBeyond({ a: { b: [1, 2] } }, 2), undefined);
    assert.deepEqual(nestingBeyond({ a: { b: [1, [2]] } }, 2), ["a", "b", 1]);
    const body = { agent_key: "bot", arguments: nested(MAX_NESTING_DEPTH) };
    assert.equal(nestingBeyond(body, MAX_NESTING_DEPTH), undefined, "arguments nesting 64 levels (counting itself) pass");
    const over = { agent_key: "bot", arguments: nested(MAX_NESTING_DEPTH + 1) };
    const path = nestingBeyond(over, MAX_NESTING_DEPTH);
    assert.equal(path?.length, MAX_NESTING_DEPTH + 1);
    assert.equal(fieldOf(path!), "arguments.k.k");
  });

  it("names the first path that goes too deep, past shallow siblings", () => {
    const body = { events: [{ type: "ok", metadata: { x: 1 } }, { type: "x", metadata: { a: [nested(10, 1, true)] } }] };
    const path = nestingBeyond(body, 8);
    assert.deepEqual(path?.slice(0, 6), ["events", 1, "metadata", "a", 0, 0]);
    assert.equal(fieldOf(path!), "events.1.metadata");
  });

  it("measures 100 000 levels of arrays and of objects without recursion, stopping at the limit", () => {
    for (const array of [true, false]) {
      const deep = nested(100_000, "x", array);
      const path = nestingBeyond(deep, MAX_NESTING_DEPTH);
      assert.equal(path?.length, MAX_NESTING_DEPTH + 1);
      assert.equal(nestingBeyond(deep, 200_000), undefined, "and can walk all of it when the limit allows");
    }
  });

  it("reports a reference cycle as too deep instead of looping", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(nestingBeyond(cyclic, 5)?.length, 6);
  });
});

describe("textNestsBeyond: depth read from the text, before parsing", () => {
  it("counts brackets of both kinds, and only past the limit is too deep", () => {
    assert.equal(textNestsBeyond("[".repeat(10) + "]".repeat(10), 10), false);
    assert.equal(textNestsBeyond("[".repeat(11) + "]".repeat(11), 10), true);
    assert.equal(textNestsBeyond('{"a":{"b":[{"c":1}]}}', 4), false);
    assert.equal(textNestsBeyond('{"a":{"b":[{"c":[1]}]}}', 4), true);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    assert.equal(textNestsBeyond(JSON.stringify({ command: "[[[[[[[[[[{{{{{{{{{{" }), 2), false);
    assert.equal(textNestsBeyond(JSON.stringify({ command: 'echo "\\"[[[[[[[[[[" \\\\' }), 2), false);
    assert.equal(textNestsBeyond('["\\\\", [[[1]]]]', 3), true);
  });

  it("agrees with nestingBeyond on parsed values (seeded random documents)", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const build = (level: number): unknown => {
      if (level > 12 || random() < 0.25) return random() < 0.5 ? "[{\\\"x" : 1;
      return random() < 0.5 ? [build(level + 1), build(level + 1)] : { a: build(level + 1), "b]": build(level + 1) };
    };
    for (let i = 0; i < 500; i++) {
      const value = build(0);
      const limit = Math.floor(random() * 10);
      assert.equal(textNestsBeyond(JSON.stringify(value), limit), nestingBeyond(value, limit - 1) !== undefined || (limit === 0 && typeof value === "object"), JSON.stringify(value));
    }
  });
});
