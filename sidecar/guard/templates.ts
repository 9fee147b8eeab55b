import type { CompiledRule, EvaluationContext } from "./context";
import { guardFileOf, isDiscoveryFile } from "./guardFiles";
import { isSqlWrite, toolNameTokens } from "./inference";
import type { TemplateSettings } from "./policySchema";
import { homeForm, isOutsideWorkspace, resolvePath } from "./paths";
import type { ShellFindingKind } from "./shell";
import { isCredentialPath } from "./shell";
import { templateInfo, type TemplateKey } from "./templateCatalog";

/**
 * The matching logic of each template in templateCatalog.ts. Each matcher returns the reason it matched
 * (specific enough for a person to act on) or null. Matchers read facts after inference, so a call that
 * arrived without metadata is judged on what its name and arguments imply.
 */
type TemplateMatcher = (ctx: EvaluationContext) => string | null;

const WRITE_ACTIONS = new Set(["create", "update", "delete", "execute", "merge", "write"]);
const DEPLOY_TOKENS = new Set(["deploy", "deployment", "release", "rollout", "rollback", "promote"]);
const PROTECTED_BRANCH = /^(refs\/heads\/)?(main|master|production|prod|live|release([/-].*)?)$/i;
const BRANCH_KEYS = ["base", "target", "target_branch", "targetBranch", "base_branch", "baseBranch", "into"];
const SQL_KEYS = ["sql", "query", "statement"];

function where(ctx: EvaluationContext): string {
  const env = ctx.facts["resource.environment"];
  return env === undefined ? "" : ` in ${env}`;
}

function shellFinding(kind: ShellFindingKind): TemplateMatcher {
  return (ctx) => {
    const finding = ctx.shellFinding(kind);
    return finding === undefined ? null : `${finding.reason} (\`${finding.command}\`)`;
  };
}

const MATCHERS: Record<TemplateKey, TemplateMatcher> = {
  "prod-secrets": (ctx) => {
    if (!ctx.isProduction || ctx.facts["resource.type"] !== "secret") return null;
    const target = ctx.facts["resource.externalId"];
    return `${ctx.facts["action.type"] ?? "access"} of secret${target ? ` "${target}"` : ""}${where(ctx)}`;
  },

  "prod-deploys": (ctx) => {
    if (!ctx.isProduction) return null;
    const { facts } = ctx;
    const byResource = facts["resource.type"] === "deployment_event";
    const byName =
      facts["action.type"] === "execute" &&
      facts["tool.name"] !== undefined &&
      toolNameTokens(facts["tool.name"]).some((t) => DEPLOY_TOKENS.has(t));
    if (!byResource && !byName) return null;
    const target = facts["resource.externalId"];
    return `deployment${target ? ` of "${target}"` : ""}${where(ctx)}`;
  },

  "prod-database": (ctx) => {
    if (!ctx.isProduction) return null;
    const sql = ctx.stringArgument(SQL_KEYS);
    if (sql !== undefined && isSqlWrite(sql)) return `SQL write or schema change${where(ctx)}`;
    const { facts } = ctx;
    if (facts["resource.type"] !== "database_record") return null;
    const action = facts["action.type"];
    if (action === undefined || !WRITE_ACTIONS.has(action)) return null;
    return `database ${action}${where(ctx)}`;
  },

  "prod-shell": (ctx) => {
    const finding = ctx.shellFinding("destructive");
    if (finding !== undefined) return `destructive shell command: ${finding.reason} (\`${finding.command}\`)`;
    // In production every recursive or forced delete deletes production data, `rm -rf build/` included.
    const deletion = ctx.isProduction ? ctx.shellFinding("forced_delete") : undefined;
    if (deletion !== undefined) return `recursive or forced delete${where(ctx)}: ${deletion.reason} (\`${deletion.command}\`)`;
    const { facts } = ctx;
    if (facts["action.type"] === "delete" && facts["resource.type"] === "shell_command") {
      return `destructive shell action "${facts["tool.name"] ?? facts["action.name"] ?? "delete"}"${where(ctx)}`;
    }
    return null;
  },

  "prod-merge": (ctx) => {
    const { facts } = ctx;
    if (facts["action.type"] !== "merge") return null;
    const branch = ctx.stringArgument(BRANCH_KEYS);
    if (branch !== undefined && PROTECTED_BRANCH.test(branch)) return `merge into protected branch "${branch}"`;
    if (ctx.isProduction && facts["resource.type"] === "code_repository") {
      const repo = facts["resource.externalId"];
      return `merge${repo ? ` in "${repo}"` : ""}${where(ctx)}`;
    }
    return null;
  },

  require_approval_unknown_mcp_tools: (ctx) => {
    const { facts } = ctx;
    const name = facts["tool.name"];
    if (facts["tool.provider"] !== "mcp" || name === undefined) return null;
    if (ctx.capabilities.isToolDeclared(facts["agent.key"], name)) return null;
    return `MCP tool "${name}" is not declared in the agent's capabilities`;
  },

  "local-secret-files": (ctx) => {
    const path = credentialPathArgument(ctx);
    if (path !== undefined) return `touches credential file "${path}"`;
    const finding = ctx.shellFinding("credential_read");
    return finding === undefined ? null : `${finding.reason} (\`${finding.command}\`)`;
  },

  "git-force-push": shellFinding("force_push"),
  "pipe-to-shell": shellFinding("pipe_to_shell"),
  "package-publish": shellFinding("package_publish"),

  "secret-in-arguments": (ctx) => {
    const findings = ctx.secretFindings;
    if (findings.length === 0) return null;
    const listed = findings.slice(0, 3).map((f) => `${f.label} at ${f.path}`).join(", ");
    return `credential in arguments: ${listed}${findings.length > 3 ? ` and ${findings.length - 3} more` : ""}`;
  },

  "outside-workspace-writes": (ctx) => {
    const root = ctx.pathContext.workspaceRoot;
    if (root === undefined) return null;
    const outside = (path: string): string | undefined => {
      const absolute = inWorkspace(ctx, ctx.resolve(path));
      return isOutsideWorkspace(absolute, ctx.pathContext) === true ? absolute : undefined;
    };
    if (isFileWrite(ctx)) {
      for (const path of ctx.pathArguments) {
        const target = outside(path);
        if (target !== undefined) return `${ctx.facts["action.type"]} of "${target}", outside the workspace ${root}`;
      }
    }
    for (const f of ctx.shellFindings) {
      if (f.kind !== "file_write" || f.path === undefined) continue;
      const target = outside(f.path);
      if (target !== undefined) return `changes "${target}", outside the workspace ${root} (\`${f.command}\`)`;
    }
    return null;
  },

  "guard-files": (ctx) => {
    // Any tool touching the sidecar's keys; a file tool writing one of Apie's files.
    let writes: boolean | undefined;
    for (const path of ctx.pathArguments) {
      const target = inWorkspace(ctx, path);
      if (isDiscoveryFile(target)) return `touches "${target}", the sidecar's keys`;
      const what = (writes ??= isFileWrite(ctx)) ? guardFileOf(target, ctx.pathContext, () => argumentsText(ctx)) : undefined;
      if (what !== undefined) return `${ctx.facts["action.type"]} of "${target}", ${what}`;
    }
    for (const f of ctx.shellFindings) {
      if (f.kind === "guard_change") return `${f.reason} (\`${f.command}\`)`;
      if (f.path === undefined || (f.kind !== "file_write" && f.kind !== "credential_read" && f.kind !== "relative_read")) continue;
      const target = inWorkspace(ctx, ctx.resolve(f.path));
      if (isDiscoveryFile(target)) return `${f.kind === "file_write" ? "changes" : "reads"} "${target}", the sidecar's keys (\`${f.command}\`)`;
      const what = f.kind === "file_write" ? guardFileOf(target, ctx.pathContext, () => argumentsText(ctx)) : undefined;
      if (what !== undefined) return `changes "${target}", ${what} (\`${f.command}\`)`;
    }
    return null;
  },

  "secret-then-network": (ctx) => {
    const taint = ctx.runTaint;
    if (taint === undefined) return null;
    const call = networkCall(ctx);
    if (call === null) return null;
    if (taint === "unknown") return `${call}; whether this run read a secret is for the sidecar to say`;
    return `${call} after this run read a secret: ${taint.reason} (decision ${taint.decisionId})`;
  },
};

/**
 * A path argument naming a credential file, or a relative path a shell reader reads that is one once resolved
 * against the call's cwd (resolved; under the home directory written as `~/…` to check).
 */
function credentialPathArgument(ctx: EvaluationContext): string | undefined {
  const isCredential = (p: string): boolean => isCredentialPath(homeForm(p, ctx.pathContext.homeDir));
  const path = ctx.pathArguments.find(isCredential);
  if (path !== undefined || ctx.cwd === undefined) return path;
  for (const f of ctx.shellFindings) {
    if (f.kind !== "relative_read" || f.path === undefined) continue;
    const resolved = ctx.resolve(f.path);
    if (isCredential(resolved)) return resolved;
  }
  return undefined;
}

/** A call's resolved path, absolute: one still relative (no cwd to resolve it against) is taken as the workspace's. */
function inWorkspace(ctx: EvaluationContext, path: string): string {
  const root = ctx.pathContext.workspaceRoot;
  return path.startsWith("/") || root === undefined ? path : resolvePath(path, root, undefined);
}

/** The call's arguments as text, for what only their content can tell (guardFiles.ts: VS Code's settings). */
function argumentsText(ctx: EvaluationContext): string {
  return JSON.stringify(ctx.args) ?? "";
}

const FILE_WRITE_ACTIONS = new Set(["create", "update", "delete", "write"]);

/** A file tool that changes files: action create/update/delete on resource `file` (issue 12 vocabulary). */
function isFileWrite(ctx: EvaluationContext): boolean {
  const action = ctx.facts["action.type"];
  return ctx.facts["resource.type"] === "file" && action !== undefined && FILE_WRITE_ACTIONS.has(action);
}

/** Name tokens of an MCP tool that reaches the web (`fetch.fetch`, `browser.navigate`, `http.request`…). */
const NETWORK_TOKENS = new Set([
  "fetch", "http", "https", "url", "browser", "browse", "request", "web", "download", "upload", "navigate", "webhook",
  "curl", "scrape", "crawl",
]);
const URL_KEYS = ["url", "uri", "href", "endpoint"];
const NETWORK_URL = /^(?:https?|wss?|ftp):\/\//i;

/**
 * What makes this call a network call, or null: a web fetch/search tool (resource `http_request`), a shell
 * command that reaches the network (shellEffects.ts), an MCP tool whose name says fetch/http/url/browser/
 * request/web…, or any tool given an http(s)/ws(s)/ftp URL argument.
 */
export function networkCall(ctx: EvaluationContext): string | null {
  const { facts } = ctx;
  const tool = facts["tool.name"] ?? facts["action.name"] ?? "tool";
  const url = ctx.stringArgument(URL_KEYS);
  const target = url !== undefined && NETWORK_URL.test(url) ? url : undefined;
  if (facts["resource.type"] === "http_request") return `network call ${tool}${target ? ` to ${target}` : ""}`;
  const shell = ctx.shellFinding("network");
  if (shell !== undefined) return `network command: ${shell.reason} (\`${shell.command}\`)`;
  if (facts["tool.provider"] === "mcp" && toolNameTokens(tool).some((t) => NETWORK_TOKENS.has(t))) return `network tool ${tool}`;
  if (target !== undefined) return `network call ${tool} to ${target}`;
  return null;
}

/**
 * What this call gives the agent that is secret, or null: a credential file it touches (path argument), a
 * shell command that reads one, a secret resource (vault/kms/secret tools, any environment), or a credential
 * inside its arguments (the model had it). A call that proceeds with this taints its run (secret-then-network).
 */
export function secretAccess(ctx: EvaluationContext): string | null {
  const path = credentialPathArgument(ctx);
  if (path !== undefined) return `credential file "${path}"`;
  const read = ctx.shellFinding("credential_read");
  if (read !== undefined) return `${read.reason} (\`${read.command}\`)`;
  if (ctx.facts["resource.type"] === "secret") {
    const target = ctx.facts["resource.externalId"] ?? ctx.facts["tool.name"];
    return `secret${target ? ` "${target}"` : ""}`;
  }
  const secrets = ctx.secretFindings;
  if (secrets.length > 0) return `${secrets[0]!.label} in the arguments at ${secrets[0]!.path}`;
  return null;
}

/** A rule for an enabled template, with the user's overrides applied. */
export function templateRule(key: TemplateKey, settings: TemplateSettings): CompiledRule {
  const info = templateInfo(key);
  return {
    key,
    name: info.name,
    decision: settings.decision ?? info.defaultDecision,
    source: "template",
    approvalTimeoutMs: settings.approvalTimeoutMs,
    test: MATCHERS[key],
  };
}
