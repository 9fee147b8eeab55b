import { z } from "zod";
import { ModeSchema, RiskLevelSchema } from "./policySchema";

/** A GuardRequest arriving from outside the process (CLI, tests); the sidecar's HTTP body maps onto it. */
export const GuardRequestSchema = z.strictObject({
  agentKey: z.string().min(1),
  runId: z.string().optional(),
  mode: ModeSchema.optional(),
  tool: z.strictObject({ name: z.string().optional(), provider: z.string().optional(), riskLevel: RiskLevelSchema.optional() }).optional(),
  action: z.strictObject({ type: z.string().optional(), name: z.string().optional() }).optional(),
  resource: z
    .strictObject({
      type: z.string().optional(),
      environment: z.string().optional(),
      externalId: z.string().optional(),
      provider: z.string().optional(),
    })
    .optional(),
  riskLevel: RiskLevelSchema.optional(),
  arguments: z.unknown().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
