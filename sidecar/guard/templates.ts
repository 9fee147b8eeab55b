import type { CompiledRule, EvaluationContext } from "./context";
import { isSqlWrite, toolNameTokens } from "./inference";
import type { TemplateSettings } from "./policySchema";
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
    const finding = ctx.shellFindings.find((f) => f.kind === kind);
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
    const finding = ctx.shellFindings.find((f) => f.kind === "destructive");
    if (finding !== undefined) return `destructive shell command: ${finding.reason} (\`${finding.command}\`)`;
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
    const path = ctx.pathArguments.find(isCredentialPath);
    if (path !== undefined) return `touches credential file "${path}"`;
    const finding = ctx.shellFindings.find((f) => f.kind === "credential_read");
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
};

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
