import { z } from "zod";
import { ApprovalScopeSchema } from "./approvals";

/**
 * The zod schemas of what the extension sends on the private channel (`lsp.ts`), parsed by the sidecar.
 * The message constants and result types live in `lsp.ts`.
 */

/** `initializationOptions` of the LSP initialize request (extension → sidecar). */
export const SidecarInitOptionsSchema = z.object({
  /** The workspace folder whose apie.policy.json governs decisions. */
  workspace: z.string().min(1),
  /** Where the event log and discovery file live (default `<workspace>/.apie`). */
  stateDir: z.string().min(1).optional(),
  /** The `apie.mode` setting; absent = the policy's own mode. */
  mode: z.enum(["monitor", "enforce"]).optional(),
  /** HTTP port for agents; 0 (default) = any free port. */
  port: z.int().min(0).max(65535).optional(),
});

/** `apie/setMode` params. */
export const SetModeParamsSchema = z.object({ mode: z.enum(["monitor", "enforce"]) });

/** `apie/resolveApproval` params. */
export const ResolveApprovalParamsSchema = z.object({
  id: z.string().min(1),
  status: z.enum(["approved", "rejected"]),
  reason: z.string().max(2000).optional(),
  /** Approved only: `once` (default) or `session` (protocol/approvals.ts ApprovalScope). */
  scope: ApprovalScopeSchema.optional(),
});

/** `apie/getRun` params. */
export const GetRunParamsSchema = z.object({ runId: z.string().min(1) });
