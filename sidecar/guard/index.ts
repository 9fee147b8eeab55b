/** The guard engine's public surface: what the sidecar, the CLI, the MCP proxy and the benchmarks import. */
export { GuardEngine, type GuardEngineOptions, type PolicyStatus } from "./engine";
export { evaluate, type EvaluationEnvironment } from "./evaluate";
export { compilePolicy, safeBaselinePolicy, DEFAULT_APPROVAL_TIMEOUT_MS, type CompiledPolicy } from "./compile";
export { loadPolicy, formatPolicyError, type PolicyError, type PolicyLoadResult } from "./policyLoader";
export { PolicySchema, CapabilitySchema, policyJsonSchema, type PolicyDocument, type Capability, type CustomGuardrail } from "./policySchema";
/** Only for esbuild.mjs, which writes media/schemas/apie.mcp.schema.json from this bundle. */
export { mcpConfigJsonSchema } from "../mcp/configJsonSchema";
export { TEMPLATE_CATALOG, TEMPLATE_KEYS, isTemplateKey, type TemplateKey, type TemplateInfo } from "./templateCatalog";
export { CapabilityRegistry } from "./boundary";
export { inferFromToolName } from "./inference";
export type { ToolDefinition } from "./facts";
export * from "./types";
