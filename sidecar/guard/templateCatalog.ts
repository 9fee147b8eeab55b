import type { Decision } from "./types";

/**
 * The guardrail templates a user can enable in apie.policy.json, with the default decision each one takes.
 * This is the catalog only (names, defaults, documentation); the matching logic lives in templates.ts.
 *
 * Defaults, chosen as a careful security engineer would:
 * - block where the harm is irreversible and no routine workflow needs an agent to do it unattended:
 *   reading production secrets (a secret that reached a model's context cannot be un-leaked), destructive
 *   shell commands, piping a download into a shell.
 * - require_approval where the action is a normal part of delivery but must have a human's eyes: production
 *   deploys, database writes and merges, force pushes, publishing packages, local credential files, unknown
 *   MCP tools, credentials inside arguments.
 * Every default can be overridden per template in apie.policy.json.
 */
export interface TemplateInfo {
  key: string;
  name: string;
  defaultDecision: Decision;
  /** Exactly what the template matches; shown in hovers and the README. */
  description: string;
}

export const TEMPLATE_CATALOG = [
  {
    key: "prod-secrets",
    name: "Production secret reads",
    defaultDecision: "block",
    description:
      "Reading a secret in production: resource type `secret` (or a tool named vault/secret/kms/credential), " +
      "any action, environment in `productionEnvironments`.",
  },
  {
    key: "prod-deploys",
    name: "Production deploys",
    defaultDecision: "require_approval",
    description:
      "Executing a deployment or release in production: resource type `deployment_event`, or action `execute` " +
      "by a tool named deploy/release/rollout/rollback, environment in `productionEnvironments`.",
  },
  {
    key: "prod-database",
    name: "Production database writes",
    defaultDecision: "require_approval",
    description:
      "Writing to a production database: resource type `database_record` with action create/update/delete/" +
      "execute, or a SQL argument containing INSERT/UPDATE/DELETE/MERGE/UPSERT or schema changes " +
      "(CREATE/ALTER/DROP/TRUNCATE/RENAME/GRANT/REVOKE), environment in `productionEnvironments`.",
  },
  {
    key: "prod-shell",
    name: "Destructive shell commands",
    defaultDecision: "block",
    description:
      "A destructive shell command in any environment (a developer's machine is production to its owner): " +
      "`rm -r` on /, ~, $HOME, ., *, or system directories; mkfs, dd to a device, shred, wipefs, fork bombs, " +
      "`git clean -fdx`, `git reset --hard`, `find … -delete` on such paths. Seen through &&, ;, ||, pipes, " +
      "$(…), backticks, bash -c, sudo, env, xargs and find -exec. Also action `delete` on resource " +
      "`shell_command` (the tool-metadata form, e.g. `shell.rm_rf`).",
  },
  {
    key: "prod-merge",
    name: "Production branch merges",
    defaultDecision: "require_approval",
    description:
      "Merging code: action `merge` on resource `code_repository` in production, or a merge whose target " +
      "branch argument (base/target/branch/into) is main, master, production, prod, live or release/*.",
  },
  {
    key: "require_approval_unknown_mcp_tools",
    name: "Unknown MCP tools",
    defaultDecision: "require_approval",
    description:
      "An MCP tool (provider `mcp`) that the agent has not declared in its capabilities.",
  },
  {
    key: "local-secret-files",
    name: "Local credential files",
    defaultDecision: "require_approval",
    description:
      "Reading or copying credential files on the developer's machine: ~/.ssh (except *.pub, known_hosts, " +
      "config), ~/.aws, ~/.config/gcloud, ~/.azure, ~/.kube/config, ~/.docker/config.json, ~/.netrc, ~/.npmrc, " +
      "~/.pypirc, ~/.git-credentials, ~/.gnupg, .env and .env.* (except .env.example/.sample/.template/.dist), " +
      "*.pem, *.key, *.p12, *.pfx and id_rsa/id_ed25519/id_ecdsa/id_dsa, in a path argument or a shell command.",
  },
  {
    key: "git-force-push",
    name: "Git force push",
    defaultDecision: "require_approval",
    description:
      "`git push` with --force, -f, --force-with-lease, --force-if-includes, --mirror, or a +refspec, in a shell " +
      "command (including inside bash -c, $(…) and chains).",
  },
  {
    key: "pipe-to-shell",
    name: "Download piped into a shell",
    defaultDecision: "block",
    description:
      "curl/wget output run by an interpreter: `curl … | sh`, `wget -qO- … | sudo bash`, `bash <(curl …)`, " +
      "`sh -c \"$(curl …)\"`, `eval \"$(curl …)\"`.",
  },
  {
    key: "package-publish",
    name: "Package publish",
    defaultDecision: "require_approval",
    description:
      "Publishing a package or image: npm/pnpm/yarn/bun publish (not --dry-run), cargo publish, twine upload, " +
      "gem push, poetry/uv publish, vsce/ovsx publish, dotnet nuget push, mvn deploy, gradle publish, " +
      "docker push, helm push.",
  },
  {
    key: "secret-in-arguments",
    name: "Credentials in tool arguments",
    defaultDecision: "require_approval",
    description:
      "A credential inside the tool call's arguments: AWS keys, private-key blocks, GitHub/GitLab/Slack/npm/PyPI " +
      "tokens, Stripe live keys, OpenAI/Anthropic/Google API keys, JWTs, and password/secret/token fields. " +
      "The finding names the kind and JSON path, never the value.",
  },
] as const satisfies readonly TemplateInfo[];

export type TemplateKey = (typeof TEMPLATE_CATALOG)[number]["key"];

export const TEMPLATE_KEYS: readonly TemplateKey[] = TEMPLATE_CATALOG.map((t) => t.key);

export function isTemplateKey(key: string): key is TemplateKey {
  return (TEMPLATE_KEYS as readonly string[]).includes(key);
}

export function templateInfo(key: TemplateKey): TemplateInfo {
  return TEMPLATE_CATALOG.find((t) => t.key === key)!;
}
