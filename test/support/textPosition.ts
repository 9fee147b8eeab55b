import { strict as assert } from "node:assert";

/** Line and column (1-based) of the first occurrence of `needle` in `text`: where an error should point. */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `needle ${needle} not in text`);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}
