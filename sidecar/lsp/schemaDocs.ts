import type { z } from "zod";

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  getter?: () => z.ZodType;
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Wrappers whose inner schema describes the same value. */
function unwrap(schema: z.ZodType): z.ZodType | undefined {
  const def = defOf(schema);
  if (def.type === "lazy") return def.getter?.();
  if (def.type === "pipe") return def.in;
  return def.innerType;
}

/** The schema and every wrapper and union branch under it, outermost first. */
function expand(schema: z.ZodType, out: z.ZodType[] = [], depth = 0): z.ZodType[] {
  if (depth > 20) return out;
  out.push(schema);
  const inner = unwrap(schema);
  if (inner !== undefined) expand(inner, out, depth + 1);
  const def = defOf(schema);
  if (def.type === "union") for (const option of def.options ?? []) expand(option, out, depth + 1);
  return out;
}

/**
 * The `.describe()` text of the field at `path` (JSON path into the document: property names and array
 * indices) in `schema`, if any schema along the way describes it. Used for hovers over field names.
 */
export function describeAt(schema: z.ZodType, path: readonly (string | number)[]): string | undefined {
  let current: z.ZodType[] = [schema];
  for (const segment of path) {
    const next: z.ZodType[] = [];
    for (const candidate of current.flatMap((s) => expand(s))) {
      const def = defOf(candidate);
      if (def.type === "object" && typeof segment === "string") {
        const field = def.shape?.[segment];
        if (field !== undefined) next.push(field);
      } else if (def.type === "record" && typeof segment === "string" && def.valueType) {
        next.push(def.valueType);
      } else if (def.type === "array" && typeof segment === "number" && def.element) {
        next.push(def.element);
      }
    }
    if (next.length === 0) return undefined;
    current = next;
  }
  for (const candidate of current.flatMap((s) => expand(s))) {
    const description = candidate.description;
    if (description) return description;
  }
  return undefined;
}
