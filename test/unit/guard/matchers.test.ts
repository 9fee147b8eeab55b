import { strict as assert } from "node:assert";
import { compileJsonPath, selectJsonPath } from "../../../sidecar/guard/jsonPath";
import { compileMatcher } from "../../../sidecar/guard/matchers";
import type { Matcher } from "../../../sidecar/guard/policySchema";

const test = (m: Matcher, value: unknown, present = value !== undefined) => compileMatcher(m)(value, present);

describe("matchers", () => {
  it("scalar is exact, array is any-of", () => {
    assert.ok(test("production", "production"));
    assert.ok(!test("production", "Production"));
    assert.ok(test(["a", "b"], "b"));
    assert.ok(!test(["a", "b"], "c"));
    assert.ok(test(3, 3) && !test(3, "3"));
  });

  it("glob", () => {
    assert.ok(test({ glob: "deploy.*" }, "deploy.release"));
    assert.ok(!test({ glob: "deploy.*" }, "predeploy.release"));
    assert.ok(test({ glob: "{github,gitlab}.merge_*" }, "gitlab.merge_mr"));
    assert.ok(test({ glob: "src/**/*.ts" }, "src/a/b/c.ts"));
    assert.ok(!test({ glob: "x*" }, 5));
  });

  it("regex with flags; non-strings never match", () => {
    assert.ok(test({ regex: "drop\\s+table", flags: "i" }, "DROP  TABLE users"));
    assert.ok(!test({ regex: "^drop" }, "select; drop"));
    assert.ok(!test({ regex: "1" }, 1));
  });

  it("numeric comparisons", () => {
    assert.ok(test({ gt: 10 }, 11) && !test({ gt: 10 }, 10));
    assert.ok(test({ gte: 10, lt: 20 }, 10) && !test({ gte: 10, lt: 20 }, 20));
    assert.ok(!test({ lte: 5 }, "4"));
  });

  it("risk levels compare by rank", () => {
    assert.ok(test({ gte: "high" }, "critical"));
    assert.ok(test({ gte: "high" }, "high"));
    assert.ok(!test({ gte: "high" }, "medium"));
    assert.ok(!test({ gte: "high" }, 5));
  });

  it("exists and not see absent fields", () => {
    assert.ok(test({ exists: false }, undefined, false));
    assert.ok(!test({ exists: true }, undefined, false));
    assert.ok(test({ not: "production" }, undefined, false));
    assert.ok(test({ not: { in: ["staging", "dev"] } }, "production"));
    assert.ok(!test({ not: { in: ["staging", "dev"] } }, "dev"));
  });

  it("invalid patterns fail at compile time with the operator in the path", () => {
    assert.throws(() => compileMatcher({ regex: "(" }), (e: Error & { path?: unknown }) => /invalid regex/.test(e.message) && JSON.stringify(e.path) === '["regex"]');
    assert.throws(() => compileMatcher({ not: { regex: "[" } }), (e: Error & { path?: unknown }) => JSON.stringify(e.path) === '["not","regex"]');
  });
});

describe("JSON path", () => {
  const doc = { a: { b: [{ c: 1 }, { c: 2 }], "weird key": "w" }, list: ["x", "y"], deep: { n: { password: "p1" }, password: "p0" } };
  const select = (path: string) => selectJsonPath(compileJsonPath(path), doc);

  it("dots, brackets, indexes and wildcards", () => {
    assert.deepEqual(select("$.a.b[1].c"), [2]);
    assert.deepEqual(select("$.a.b[*].c"), [1, 2]);
    assert.deepEqual(select('$.a["weird key"]'), ["w"]);
    assert.deepEqual(select("$.list.*"), ["x", "y"]);
    assert.deepEqual(select("$"), [doc]);
  });

  it("recursive descent finds a key at any depth", () => {
    assert.deepEqual(select("$..password").sort(), ["p0", "p1"]);
  });

  it("recursive descent reaches every depth a request may nest (64): nesting cannot hide an argument", () => {
    let nested: unknown = { command: "rm -rf /" };
    for (let i = 0; i < 62; i++) nested = { a: nested };
    assert.deepEqual(selectJsonPath(compileJsonPath("$..command"), nested), ["rm -rf /"]);
  });

  it("missing paths select nothing; index past the end selects nothing", () => {
    assert.deepEqual(select("$.a.zz"), []);
    assert.deepEqual(select("$.list[5]"), []);
    assert.deepEqual(selectJsonPath(compileJsonPath("$.a"), "not an object"), []);
  });

  it("bad paths are rejected when compiled", () => {
    for (const bad of ["a.b", "$.", "$[", "$[x]", "$..", "$a"]) assert.throws(() => compileJsonPath(bad), bad);
  });

  it("hostile nesting is bounded", () => {
    let deep: unknown = { password: "x" };
    for (let i = 0; i < 5000; i++) deep = { n: deep };
    assert.deepEqual(selectJsonPath(compileJsonPath("$..password"), deep), []);
  });
});
