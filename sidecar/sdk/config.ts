import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { RiskLevelSchema } from "../guard/policySchema";
import { compilePatterns } from "../guard/redact";
import { firstIssue } from "../protocol/issues";
import { ApieError } from "./errors";

/**
 * Client configuration: the official SDKs' fields and defaults (apie-sh/python-sdk `config.py`/`types.py`)
 * in camelCase, plus `guardTimeoutMs` and `timeoutMs` (every request has a deadline). Sources, strongest
 * first: the options passed to `new Apie(...)`, the environment (`APIE_BASE_URL`, `APIE_API_KEY`,
 * `APIE_MODE`), then `apie.config.json` in the working directory (or `configPath`; snake_case keys as the
 * Python SDK writes them are accepted there). Objects merge field by field. Unknown fields are errors, so a
 * misspelt `guardFailureMode` cannot silently fall back to fail_open.
 */

export const CONFIG_FILE = "apie.config.json";

const ModeInput = z.preprocess((v) => (v === "guard" ? "enforce" : v), z.enum(["monitor", "enforce"]));
const Text = z.string().min(1);
const Millis = z.int().positive();

const CapabilityConfigSchema = z.strictObject({
  tool: z.strictObject({ name: Text, provider: Text.optional() }),
  actions: z.array(Text).default([]),
  resources: z.array(Text).default([]),
  environments: z.array(Text).optional(),
  riskLevel: RiskLevelSchema.optional(),
});

const ToolConfigSchema = z.strictObject({
  name: Text,
  provider: Text.optional(),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  actionTypes: z.array(Text).default([]),
  resourceTypes: z.array(Text).default([]),
  environments: z.array(Text).default([]),
  riskLevel: RiskLevelSchema.optional(),
});

export const ConfigSchema = z
  .strictObject({
    /** Sidecar key (`APIE_API_KEY`). Required unless `enabled: false`. */
    apiKey: Text.optional(),
    /** Sidecar URL (`APIE_BASE_URL`), e.g. http://127.0.0.1:41234. Required unless `enabled: false`. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** `false` makes a no-op client: callbacks run, nothing is sent, nothing is guarded. */
    enabled: z.boolean().default(true),
    agent: z.strictObject({
      key: Text,
      /** Defaults to the key. */
      name: Text.optional(),
      purpose: z.string().optional(),
      owner: z.string().optional(),
      team: z.string().optional(),
      description: z.string().optional(),
    }),
    runtime: z
      .strictObject({
        environment: Text.optional(),
        framework: Text.optional(),
        language: Text.optional(),
        sdkVersion: Text.optional(),
      })
      .default({}),
    model: z.strictObject({ provider: Text.optional(), name: Text.optional() }).optional(),
    version: z
      .strictObject({ version: Text.optional(), framework: Text.optional(), modelProvider: Text.optional(), modelName: Text.optional() })
      .optional(),
    source: z.strictObject({ gitSha: Text.optional(), deploymentId: Text.optional() }).optional(),
    /** The agent's own mode (default monitor). It can only tighten the workspace's: enforce wins. */
    mode: ModeInput.optional(),
    /** The Python SDK's older name for `mode`. */
    releaseMode: ModeInput.optional(),
    promptHash: Text.optional(),
    /** Tool metadata sent with identify. */
    tools: z.array(ToolConfigSchema).default([]),
    /** Declared by `ready()`: the agent's boundary contract (drift is reported against it). */
    capabilities: z.array(CapabilityConfigSchema).default([]),
    boundary: z
      .strictObject({
        warnOnUndeclaredTools: z.boolean().optional(),
        warnOnUnknownResourceTypes: z.boolean().optional(),
        autoInferFromToolNames: z.boolean().optional(),
      })
      .optional(),
    /** When the sidecar is unreachable, too slow or answers garbage: proceed, block, or throw. */
    guardFailureMode: z.enum(["fail_open", "fail_closed", "throw"]).default("fail_open"),
    /** How long `withTool` waits for a human on require_approval before cancelling and throwing. */
    approvalTimeoutMs: Millis.default(300_000),
    /** Deadline of each guard decision (POST /v1/guardrails/evaluate); past it, `guardFailureMode` applies. */
    guardTimeoutMs: Millis.default(2_000),
    /** Deadline of every other request (identify, runs, events, approvals). */
    timeoutMs: Millis.default(10_000),
    flushIntervalMs: Millis.default(2_000),
    /** Events per POST /v1/events (the sidecar takes at most 500). */
    maxBatchSize: z.int().min(1).max(500).default(25),
    maxQueueSize: z.int().positive().default(5_000),
    queueDropPolicy: z.enum(["drop_oldest", "drop_newest"]).default("drop_oldest"),
    retry: z
      .strictObject({ attempts: z.int().min(1).default(3), baseDelayMs: z.int().min(0).default(250) })
      .default({ attempts: 3, baseDelayMs: 250 }),
    /** What a failed background flush or registration does: log through `logger` or stay silent. */
    onError: z.enum(["warn", "silent"]).default("warn"),
    redactKeys: z.array(Text).default([]),
    redactDenyPatterns: z
      .array(Text.refine((p) => compilePatterns([p]).length === 1, { message: "not a valid regular expression" }))
      .default([]),
    redactAllowPaths: z.array(Text).default([]),
    /**
     * Above this many bytes of JSON an event's payload is replaced by a truncation marker. Default 256 KiB
     * (the Python SDK has none; the sidecar refuses request bodies over 1 MiB).
     */
    maxEventPayloadBytes: z.int().min(1024).default(262_144),
    /** Extra headers on every request. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Where to read the file config instead of ./apie.config.json (relative to the working directory). */
    configPath: Text.optional(),
  })
  .superRefine((config, ctx) => {
    if (!config.enabled) return;
    if (config.apiKey === undefined) ctx.addIssue({ code: "custom", path: ["apiKey"], message: "required (or set APIE_API_KEY)" });
    if (config.baseUrl === undefined) ctx.addIssue({ code: "custom", path: ["baseUrl"], message: "required (or set APIE_BASE_URL)" });
  });

export type ConfigInput = z.input<typeof ConfigSchema>;
/** What callers pass: any part of the config (the rest may come from env and apie.config.json). */
export type ConfigOptions = Omit<Partial<ConfigInput>, "agent"> & { agent?: Partial<ConfigInput["agent"]> | undefined };
type Parsed = z.output<typeof ConfigSchema>;

/** The resolved configuration a client runs with. */
export interface ResolvedConfig extends Omit<Parsed, "mode" | "releaseMode" | "agent"> {
  agent: Parsed["agent"] & { name: string };
  /** `mode`, else `releaseMode`, else monitor. */
  mode: "monitor" | "enforce";
}

export interface ConfigSources {
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

/** Merges inline options, environment and file (in that order of strength) and validates the result. */
export function resolveConfig(inline: ConfigOptions | undefined, sources: ConfigSources = {}): ResolvedConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const file = readConfigFile(inline?.configPath, cwd);
  const merged = deepMerge(deepMerge(file, fromEnv(env)), (inline ?? {}) as Record<string, unknown>);
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const { field, message } = describeIssue(result.error);
    throw new ApieError("invalid_config", `invalid Apie config: ${field ? `${field}: ` : ""}${message}`, { field: field || undefined });
  }
  const { mode, releaseMode, agent, ...rest } = result.data;
  return { ...rest, agent: { ...agent, name: agent.name ?? agent.key }, mode: mode ?? releaseMode ?? "monitor" };
}

/** The first problem; an unknown field is named itself (zod reports it on its parent). */
function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys" && issue.keys[0] !== undefined) {
    return { field: [...issue.path.map(String), issue.keys[0]].join("."), message: "unknown field" };
  }
  return firstIssue(error);
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const baseUrl = env.APIE_BASE_URL?.trim();
  const apiKey = env.APIE_API_KEY?.trim();
  const mode = env.APIE_MODE?.trim();
  if (baseUrl) {
    if (!z.url({ protocol: /^https?$/ }).safeParse(baseUrl).success) invalidEnv("APIE_BASE_URL", `"${baseUrl}" is not an http(s) URL`);
    out.baseUrl = baseUrl;
  }
  if (apiKey) out.apiKey = apiKey;
  if (mode) {
    if (!ModeInput.safeParse(mode).success) invalidEnv("APIE_MODE", `"${mode}" is not monitor or enforce`);
    out.mode = mode;
  }
  return out;
}

function invalidEnv(variable: string, message: string): never {
  throw new ApieError("invalid_config", `invalid Apie config: ${variable}: ${message}`, { field: variable });
}

/** `apie.config.json` (or the named file). A missing default file is no config; a missing named one is an error. */
function readConfigFile(configPath: string | undefined, cwd: string): Record<string, unknown> {
  const file = path.resolve(cwd, configPath ?? CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (configPath === undefined && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ApieError("invalid_config", `invalid Apie config: cannot read ${file}: ${(error as Error).message}`, { field: "configPath", cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApieError("invalid_config", `invalid Apie config: ${file} is not JSON: ${(error as Error).message}`, { field: "configPath", cause: error });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ApieError("invalid_config", `invalid Apie config: ${file} must hold a JSON object`, { field: "configPath" });
  }
  return camelizeFileConfig(parsed as Record<string, unknown>);
}

/** Subtrees whose keys are data, not config fields: never renamed. */
const VERBATIM_KEYS = new Set(["headers", "inputSchema"]);

/** Python-style file: snake_case keys → camelCase; flat retry fields → `retry`. */
export function camelizeFileConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const out = camelize(raw) as Record<string, unknown>;
  if ("retryAttempts" in out || "retryBaseDelayMs" in out) {
    const retry = (typeof out.retry === "object" && out.retry !== null ? { ...out.retry } : {}) as Record<string, unknown>;
    if ("retryAttempts" in out) retry.attempts = out.retryAttempts;
    if ("retryBaseDelayMs" in out) retry.baseDelayMs = out.retryBaseDelayMs;
    delete out.retryAttempts;
    delete out.retryBaseDelayMs;
    out.retry = retry;
  }
  return out;
}

function camelize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelize);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, nested] of Object.entries(value)) {
    const name = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    out[name] = VERBATIM_KEYS.has(name) ? nested : camelize(nested);
  }
  return out;
}

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
