import { z } from "zod";

/**
 * Official clients send `null` for absent fields (python-sdk) or omit them (ours); both parse to `undefined`
 * so internal code has one notion of "absent".
 */
export const opt = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/**
 * Strings the sidecar keeps in memory for as long as it runs — agent keys, run, session and approval ids, tool,
 * action and resource names, environments — are bounded at the boundary: unbounded, every hostile request could
 * pin a string of up to a whole body (1 MiB) in the projection for good (issue 11: after 10 000 fuzzed requests
 * 3.3 MB of the live heap were 200 KB names, growing with every request). Real ones are short slugs.
 */
export const MAX_IDENT_CHARS = 256;
export const ident = () => z.string().max(MAX_IDENT_CHARS);
/** Free text the sidecar keeps (descriptions, reasons, summaries). */
export const MAX_TEXT_CHARS = 10_000;
export const text = () => z.string().max(MAX_TEXT_CHARS);
