import type { TooLargePlaceholder } from "../protocol/v1";
import { canonicalJson } from "../store/canonical";
import { sha256Hex } from "../store/recordCodec";

/**
 * Reports of the replica's decisions (LocalGuard) must always fit what the sidecar takes, or the decision of
 * a call that ran would never be journaled (issue 14, item 3: 2 MiB of arguments made the report a 413).
 * A report whose JSON is over {@link MAX_REPORT_BYTES} carries its arguments as a {@link TooLargePlaceholder}
 * — size, SHA-256 of their canonical JSON, a preview — instead: small enough for any batch, and a copy of
 * the call can still be matched to its record by the hash.
 */

/** One report at most: alone in a batch it stays under the EventQueue's 900 000-byte batch cut and the 1 MiB body limit. */
export const MAX_REPORT_BYTES = 800 * 1024;
const PREVIEW_MEMBERS = 20;
const PREVIEW_CHARS = 200;

/**
 * A report's JSON text, `build` given its arguments' JSON (undefined: none), with the arguments digested
 * (tooLargePlaceholder) when the text would be too large.
 */
export function boundedReport(args: unknown, build: (argsJson: string | undefined) => string): string {
  const json = build(args === undefined ? undefined : JSON.stringify(args));
  if (json.length <= MAX_REPORT_BYTES / 3 || Buffer.byteLength(json) <= MAX_REPORT_BYTES) return json;
  return build(JSON.stringify(tooLargePlaceholder(args)));
}

export function tooLargePlaceholder(args: unknown): TooLargePlaceholder {
  // One serialization for both the size and the hash (these are the largest arguments the proxy sees).
  const canonical = canonicalJson(args);
  return { apie_too_large: { bytes: Buffer.byteLength(canonical), max_bytes: MAX_REPORT_BYTES, sha256: sha256Hex(canonical), preview: preview(args) } };
}

/** The first members of an object, each value cut to a few hundred characters; anything else, cut as one text. */
function preview(args: unknown): Record<string, string> | string {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return cut(args);
  const entries = Object.entries(args);
  const kept: Record<string, string> = {};
  for (const [key, value] of entries.slice(0, PREVIEW_MEMBERS)) kept[key.slice(0, PREVIEW_CHARS)] = cut(value);
  if (entries.length > PREVIEW_MEMBERS) kept["…"] = `${entries.length - PREVIEW_MEMBERS} more members`;
  return kept;
}

function cut(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length <= PREVIEW_CHARS ? text : `${text.slice(0, PREVIEW_CHARS)}… [${text.length - PREVIEW_CHARS} more characters]`;
}
