import type { z } from "zod";

/**
 * The first problem zod found, as a dotted field path and a message: how every boundary (HTTP body, CLI
 * flag, request JSON) names what is wrong.
 */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { field: "", message: "invalid input" };
  return { field: issue.path.map(String).join("."), message: issue.message };
}
