import { mayHaveAnyKey } from "./argumentKeys";
import type { InferenceConfidence, RiskLevel } from "./types";

/**
 * Fills in action, resource and risk when a tool call arrives without them (monitor-mode instrumentation,
 * MCP tools). Follows Apie's documented table (boundaries/action-and-resource-metadata.mdx) but matches whole
 * name tokens rather than substrings, so `format_date` is not a `rm` and `address_lookup` not a `dd`.
 */
export interface NameInference {
  actionType: string;
  resourceType: string;
  riskLevel: RiskLevel;
  confidence: InferenceConfidence;
  reason: string;
}

interface Rule {
  tokens: readonly string[];
  actionType: string;
  resourceType: string;
  riskLevel: RiskLevel;
  confidence: InferenceConfidence;
}

/** First matching rule wins; order puts the most dangerous meanings first. */
const RULES: readonly Rule[] = [
  { tokens: ["vault", "secret", "secrets", "kms", "credential", "credentials", "keychain"], actionType: "read", resourceType: "secret", riskLevel: "critical", confidence: "high" },
  { tokens: ["deploy", "deployment", "release", "rollout", "rollback", "promote"], actionType: "execute", resourceType: "deployment_event", riskLevel: "high", confidence: "high" },
  { tokens: ["merge"], actionType: "merge", resourceType: "code_repository", riskLevel: "high", confidence: "high" },
  { tokens: ["rm", "rmdir", "destroy", "purge", "wipe", "nuke"], actionType: "delete", resourceType: "shell_command", riskLevel: "critical", confidence: "high" },
  { tokens: ["shell", "bash", "sh", "zsh", "terminal", "exec", "command", "cmd", "powershell"], actionType: "execute", resourceType: "shell_command", riskLevel: "high", confidence: "high" },
  { tokens: ["db", "database", "sql", "postgres", "postgresql", "mysql", "sqlite", "mongo", "mongodb", "redis", "dynamo", "dynamodb", "bigquery", "snowflake"], actionType: "update", resourceType: "database_record", riskLevel: "high", confidence: "medium" },
  { tokens: ["pipeline", "cicd", "ci", "workflow", "build", "job"], actionType: "execute", resourceType: "pipeline_run", riskLevel: "high", confidence: "medium" },
  { tokens: ["github", "gitlab", "bitbucket", "git", "repo", "repository", "pr", "branch", "commit"], actionType: "read", resourceType: "code_repository", riskLevel: "medium", confidence: "medium" },
  { tokens: ["file", "files", "fs", "filesystem", "directory", "dir", "path", "folder"], actionType: "read", resourceType: "file", riskLevel: "medium", confidence: "medium" },
  { tokens: ["send", "message", "email", "mail", "slack", "notify", "post", "sms", "chat"], actionType: "communicate", resourceType: "communication_event", riskLevel: "medium", confidence: "medium" },
  { tokens: ["ticket", "issue", "issues", "jira", "linear", "task"], actionType: "read", resourceType: "work_item", riskLevel: "medium", confidence: "medium" },
  { tokens: ["incident", "pagerduty", "opsgenie", "alert", "oncall"], actionType: "read", resourceType: "incident", riskLevel: "medium", confidence: "medium" },
  { tokens: ["log", "logs", "metric", "metrics", "trace", "traces"], actionType: "read", resourceType: "observability_event", riskLevel: "low", confidence: "medium" },
];

/** Verbs refine the action a resource rule gave (e.g. `github.create_issue` → create, `db.select` → read). */
const VERB_ACTIONS: ReadonlyMap<string, string> = new Map([
  ...["read", "get", "list", "search", "find", "fetch", "query", "select", "view", "show", "describe", "cat", "lookup", "stat", "download"].map((v) => [v, "read"] as const),
  ...["create", "add", "new", "insert", "open", "upload"].map((v) => [v, "create"] as const),
  ...["update", "write", "edit", "set", "put", "patch", "modify", "move", "rename", "replace", "append", "upsert", "alter", "comment"].map((v) => [v, "update"] as const),
  ...["delete", "remove", "drop", "truncate", "del", "unlink", "close"].map((v) => [v, "delete"] as const),
  ...["run", "execute", "exec", "trigger", "start", "invoke", "dispatch", "apply", "restart", "stop"].map((v) => [v, "execute"] as const),
  ...["merge"].map((v) => [v, "merge"] as const),
  ...["send", "notify", "post", "reply"].map((v) => [v, "communicate"] as const),
]);

const ACTION_RISK: Readonly<Record<string, RiskLevel>> = {
  read: "low",
  create: "medium",
  update: "medium",
  communicate: "medium",
  execute: "high",
  merge: "high",
  delete: "high",
};

/** Split `github.mergePR`, `shell.rm_rf`, `Deploy-Release` into lower-case tokens. */
export function toolNameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
}

const cache = new Map<string, NameInference | null>();
const CACHE_LIMIT = 4096;

/** Memoised: tool names repeat, and this runs on every guard call that lacks metadata. */
export function inferFromToolName(name: string): NameInference | null {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const result = inferUncached(name);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(name, result);
  return result;
}

function inferUncached(name: string): NameInference | null {
  const tokens = toolNameTokens(name);
  const verb = tokens.map((t) => VERB_ACTIONS.get(t)).find((a) => a !== undefined);
  for (const rule of RULES) {
    const hit = tokens.find((t) => rule.tokens.includes(t));
    if (hit === undefined) continue;
    // Nouns with a fixed meaning (deploy, vault, merge, rm) keep their action; others take the verb's.
    const fixed = rule.confidence === "high";
    const actionType = fixed || verb === undefined ? rule.actionType : verb;
    const riskLevel = fixed ? rule.riskLevel : maxRisk(rule.riskLevel, verb === undefined ? "low" : ACTION_RISK[verb] ?? "medium");
    return { actionType, resourceType: rule.resourceType, riskLevel, confidence: rule.confidence, reason: `tool name contains "${hit}"` };
  }
  if (verb !== undefined) {
    return {
      actionType: verb,
      resourceType: "internal_api",
      riskLevel: ACTION_RISK[verb] ?? "medium",
      confidence: "low",
      reason: `tool name verb "${tokens.find((t) => VERB_ACTIONS.has(t))}"`,
    };
  }
  return null;
}

function maxRisk(a: RiskLevel, b: RiskLevel): RiskLevel {
  const order: RiskLevel[] = ["low", "medium", "high", "critical"];
  return order[Math.max(order.indexOf(a), order.indexOf(b))]!;
}

export interface ArgumentInference {
  actionType?: string;
  resourceType?: string;
  environment?: string;
  reason: string;
  /** A weak hint (a `path` argument): the tool's name, when it says something, is trusted over it. */
  weak?: boolean;
}

const ENVIRONMENT_KEYS = ["environment", "env", "stage", "target_environment", "targetEnvironment"];
const SQL_KEYS = ["sql", "query", "statement"];
const SQL_SCHEMA_CHANGE = /^\s*(create|alter|drop|truncate|rename|grant|revoke)\b/i;
const SQL_WRITE = /^\s*(insert|update|delete|merge|upsert|replace)\b/i;
const SQL_READ = /^\s*(select|with|show|explain|describe)\b/i;
const PATH_KEYS = ["path", "file_path", "filePath", "filename", "file", "paths"];
/** Every key inferFromArguments reads: arguments with none of them say nothing. */
const INFERENCE_KEYS: ReadonlySet<string> = new Set([...ENVIRONMENT_KEYS, "command", "cmd", ...SQL_KEYS, ...PATH_KEYS]);

/** What the arguments themselves say: a shell command, a SQL statement, a file path, an environment. */
export function inferFromArguments(args: unknown): ArgumentInference | null {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return null;
  if (!mayHaveAnyKey(args, INFERENCE_KEYS)) return null;
  const record = args as Record<string, unknown>;
  const environment = ENVIRONMENT_KEYS.map((k) => record[k]).find((v): v is string => typeof v === "string");
  const envPart = environment === undefined ? {} : { environment };
  if (typeof record["command"] === "string" || typeof record["cmd"] === "string") {
    return { actionType: "execute", resourceType: "shell_command", ...envPart, reason: "arguments carry a shell command" };
  }
  const sql = SQL_KEYS.map((k) => record[k]).find((v): v is string => typeof v === "string");
  if (sql !== undefined) {
    const actionType = SQL_SCHEMA_CHANGE.test(sql) || SQL_WRITE.test(sql) ? "update" : SQL_READ.test(sql) ? "read" : undefined;
    if (actionType !== undefined) {
      return { actionType, resourceType: "database_record", ...envPart, reason: "arguments carry a SQL statement" };
    }
  }
  if (PATH_KEYS.some((k) => record[k] !== undefined)) {
    return { resourceType: "file", ...envPart, reason: "arguments carry a file path", weak: true };
  }
  return environment === undefined ? null : { environment, reason: `arguments name environment "${environment}"` };
}

/** True for statements that write data or change the schema (used by prod-database). */
export function isSqlWrite(sql: string): boolean {
  return SQL_WRITE.test(sql) || SQL_SCHEMA_CHANGE.test(sql) || /;\s*(insert|update|delete|create|alter|drop|truncate)\b/i.test(sql);
}
