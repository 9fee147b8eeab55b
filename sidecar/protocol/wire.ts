import { z } from "zod";

/**
 * Official clients send `null` for absent fields (python-sdk) or omit them (ours); both parse to `undefined`
 * so internal code has one notion of "absent".
 */
export const opt = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);
