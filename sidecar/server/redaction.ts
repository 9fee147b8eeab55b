import { createRedactor } from "../guard/redact";

/**
 * What the sidecar writes to its log and shows in approval prompts never holds a secret, even when an SDK
 * failed to redact: the default keys and value patterns of the official SDKs, compiled once.
 */
export const logRedactor = createRedactor();

/** A string longer than this is cut in an approval's arguments preview. */
export const PREVIEW_STRING_CHARS = 2_048;
/** Array items and object members kept per level of the preview. */
export const PREVIEW_ITEMS = 100;
/** Characters of strings and member names in a whole preview; past it, what is left becomes "…". */
export const PREVIEW_TOTAL_CHARS = 32 * 1024;

/**
 * The arguments an approval carries (and the sidecar holds in memory for as long as it runs), redacted, with
 * long strings cut, long lists shortened and the whole kept under a budget, so one approval stays small
 * whatever an agent sends. The preview is filled level by level (breadth first): the command, the path and
 * the first lines of a file's content come before anything nested deep. The approval is bound to the hash of
 * the full arguments, and the decision record in the log keeps them in full (redacted).
 * Iterative over the redacted value, which nests at most MAX_REDACT_DEPTH levels.
 */
export function approvalArgumentsPreview(args: unknown): unknown {
  const root: Record<string, unknown> = { value: logRedactor.redactValue(args) };
  const queue: [Record<string | number, unknown>, string | number][] = [[root, "value"]];
  let budget = PREVIEW_TOTAL_CHARS;
  for (let next = 0; next < queue.length; next++) {
    const [holder, slot] = queue[next]!;
    const value = holder[slot];
    if (value === null || (typeof value !== "string" && typeof value !== "object")) continue;
    if (budget <= 0) {
      holder[slot] = "…";
      continue;
    }
    if (typeof value === "string") {
      const keep = Math.min(PREVIEW_STRING_CHARS, budget);
      budget -= Math.min(value.length, keep);
      if (value.length > keep) holder[slot] = `${value.slice(0, keep)}… [${value.length - keep} more characters]`;
    } else if (Array.isArray(value)) {
      const items = value as unknown[];
      for (let i = 0; i < Math.min(items.length, PREVIEW_ITEMS); i++) queue.push([items as unknown as Record<number, unknown>, i]);
      if (items.length > PREVIEW_ITEMS) items.splice(PREVIEW_ITEMS, items.length - PREVIEW_ITEMS, `… [${items.length - PREVIEW_ITEMS} more items]`);
    } else {
      const entries = Object.entries(value);
      const kept: Record<string, unknown> = Object.fromEntries(entries.slice(0, PREVIEW_ITEMS));
      for (const key of Object.keys(kept)) {
        budget -= key.length;
        queue.push([kept, key]);
      }
      if (entries.length > PREVIEW_ITEMS) kept["…"] = `${entries.length - PREVIEW_ITEMS} more members`;
      holder[slot] = kept;
    }
  }
  return root.value;
}
