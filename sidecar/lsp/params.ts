import { ErrorCodes, ResponseError } from "vscode-languageserver/node";
import type { z } from "zod";
import { firstIssue } from "../protocol/issues";

/**
 * Parses a custom request's params with its zod schema (protocol/lsp.ts). A bad value answers the request
 * with InvalidParams naming the field, e.g. `status: Invalid option: expected one of "approved"|"rejected"`.
 */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.infer<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new ResponseError(ErrorCodes.InvalidParams, field ? `${field}: ${message}` : message);
}
