/**
 * Apie for VS Code — the TypeScript SDK agents import (`import { Apie } from "apie-vscode"`). It speaks the
 * Apie v1 API to the local sidecar (`APIE_BASE_URL`, `APIE_API_KEY`), like the official Python SDK.
 */
export { Apie, type ApieOptions } from "./apie";
export { ApieError, isApieError, type ApieErrorCode } from "./errors";
export type { ApieDecision, GuardFailureMode } from "./decision";
export { resolveConfig, ConfigSchema, CONFIG_FILE, type ConfigInput, type ConfigOptions, type ResolvedConfig } from "./config";
export { currentRunContext, type RunContext } from "./context";
export type { QueueDiagnostics } from "./eventQueue";
export { DEFAULT_REDACT_KEYS, redactEvent, redactValue, type RedactOptions } from "../guard/redact";
export type {
  ActionRef,
  ApieLogger,
  Approval,
  ApprovalStatus,
  ApprovalWaitStatus,
  CapabilityInput,
  GuardInput,
  Registration,
  ResourceRef,
  RiskLevel,
  Run,
  RunCompletion,
  RunInput,
  Session,
  SessionInput,
  SessionKind,
  ToolCallInput,
  ToolDefinition,
  ToolRef,
} from "./types";
