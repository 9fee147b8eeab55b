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

/**
 * The arguments an approval carries (and the sidecar holds in memory for as long as it runs), redacted, with
 * long strings cut and long lists shortened so that one approval stays small whatever an agent sends: the
 * human still reads the command, the path and the first lines of a file's content. The approval is bound to
 * the hash of the full arguments, and the decision record in the log keeps them in full (redacted).
 * Iterative over the redacted value, which nests at most MAX_REDACT_DEPTH levels.
 */
export function approvalArgumentsPreview(args: unknown): unknown {
  const root = { value: logRedactor.redactValue(args) };
  const stack: [Record<string, unknown> | unknown[], string | number][] = [[root, "value"]];
  while (stack.length > 0) {
    const [holder, slot] = stack.pop()!;
    const value = (holder as Record<string | number, unknown>)[slot];
    if (typeof value === "string" && value.length > PREVIEW_STRING_CHARS) {
      (holder as Record<string | number, unknown>)[slot] = `${value.slice(0, PREVIEW_STRING_CHARS)}… [${value.length - PREVIEW_STRING_CHARS} more characters]`;
    } else if (Array.isArray(value)) {
      if (value.length > PREVIEW_ITEMS) value.splice(PREVIEW_ITEMS, value.length - PREVIEW_ITEMS, `… [${value.length - PREVIEW_ITEMS} more items]`);
      for (let i = 0; i < value.length; i++) stack.push([value, i]);
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      if (entries.length > PREVIEW_ITEMS) {
        const kept: Record<string, unknown> = Object.fromEntries(entries.slice(0, PREVIEW_ITEMS));
        kept["…"] = `${entries.length - PREVIEW_ITEMS} more members`;
        (holder as Record<string | number, unknown>)[slot] = kept;
        for (const key of Object.keys(kept)) stack.push([kept, key]);
      } else {
        for (const key of Object.keys(value)) stack.push([value as Record<string, unknown>, key]);
      }
    }
  }
  return root.value;
}
