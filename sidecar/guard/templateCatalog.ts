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
 *   MCP tools, credentials inside arguments, writes outside the workspace (an agent may legitimately touch
 *   ~/.gitconfig or a sibling checkout, but a person should see it first), and a network call after the run
 *   has read a secret (the classic exfiltration shape; most such calls are innocent, so ask, don't refuse).
 * - require_approval, and on in every policy unless turned off by name, for changes to Apie's own files
 *   (guard-files): the policy, the hooks' settings, the sidecar's keys. A guard the guarded agent can edit
 *   is no guard; a person who wants the agent to edit them approves it, or turns the template off.
 * Every default can be overridden per template in apie.policy.json.
 */
export interface TemplateInfo {
  key: string;
  name: string;
  defaultDecision: Decision;
  /** Exactly what the template matches; shown in hovers and docs/policy.md. */
  description: string;
  /** On unless the policy turns it off (`"key": false`); the others are on only when the policy names them. */
  onByDefault?: boolean;
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
      "`git clean -fdx`, `git reset --hard`, `find … -delete` on such paths. In an environment of " +
      "`productionEnvironments` (the call's resource.environment, given or inferred) also every recursive or " +
      "forced delete: `rm -r`/`rm -f` on any path (`rm -rf build/`), any `find … -delete`, `git clean -f`, " +
      "`rsync --delete`/`--remove-source-files`. Seen through &&, ;, ||, pipes, $(…), backticks, bash -c, sudo, " +
      "env, xargs and find -exec. Also action `delete` on resource `shell_command` (the tool-metadata form, " +
      "e.g. `shell.rm_rf`).",
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
      "Reading, editing or copying credential files on the developer's machine: ~/.ssh (except *.pub, " +
      "known_hosts, config), ~/.aws, ~/.config/gcloud, ~/.azure, ~/.kube/config, ~/.docker/config.json, ~/.netrc, " +
      "~/.npmrc, ~/.pypirc, ~/.git-credentials, ~/.gnupg, .env and .env.* (except .env.example/.sample/.template/" +
      ".dist), *.pem, *.key, *.p12, *.pfx, id_rsa/id_ed25519/id_ecdsa/id_dsa and the sidecar's .apie/sidecar.json, in a shell command or a path " +
      "argument of any tool (path, file_path, filePath, notebook_path, absolute_path, paths[], the files of an " +
      "apply_patch, …): the coding agents' read, write and edit tools included. Relative paths (arguments, and " +
      "files a shell reader reads) are resolved against the call's metadata.cwd and ~ against the home directory.",
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
  {
    key: "outside-workspace-writes",
    name: "Writes outside the workspace",
    defaultDecision: "require_approval",
    description:
      "A file created, changed or deleted outside the workspace root: action create/update/delete on resource " +
      "`file` (a coding agent's write/edit/patch tools) with a path argument outside it, or a shell command " +
      "changing a file there (redirections, tee, cp/mv/install destinations, dd of=, the operands of rm/rmdir/" +
      "unlink/shred/mv/touch/mkdir/truncate). Paths are resolved lexically " +
      "against metadata.cwd (else the workspace root), ~ against the home directory; symlinks are not followed. " +
      "The temp directories (os.tmpdir(), /tmp, /var/tmp) and /dev/null-like devices count as inside.",
  },
  {
    key: "secret-then-network",
    name: "Network after a secret read",
    defaultDecision: "require_approval",
    description:
      "A network call in a run that has read a secret: once a call of the run proceeded (allowed, warned, in " +
      "monitor mode, or approved) after touching a credential file, reading one in a shell command, reading a " +
      "secret resource or carrying a credential in its arguments, its web fetch/search tools (resource " +
      "`http_request`), shell network commands (curl, wget, nc, ssh, scp, rsync to a host, git push/pull/fetch/" +
      "clone, …), MCP tools named fetch/http/url/browser/request/web… and calls with an http(s) URL argument " +
      "need approval. The reason names the decision that read the secret. Calls without a run id are not tracked.",
  },
  {
    key: "guard-files",
    name: "Changes to Apie's own files",
    defaultDecision: "require_approval",
    onByDefault: true,
    description:
      "On unless turned off by name. An agent changing what guards it: a file tool or shell command writing " +
      "apie.policy.json, apie.mcp.json or anything under .apie/ in the workspace, or the files the coding " +
      "agents' hooks are installed in (.claude/settings*.json, .codex/hooks.json and config.toml, " +
      ".cursor/hooks.json, .gemini/settings.json, .github/hooks/, .github/copilot/settings*.json, and under " +
      "the home directory .claude/settings.json, .codex/hooks.json and config.toml, .cursor/hooks.json, " +
      ".gemini/settings.json, .copilot/settings.json, config.json and hooks/) or the folders holding them as a whole, " +
      "or VS Code's settings.json when the change names a chat hook setting (chat.useHooks…); any " +
      "tool reading the sidecar's discovery file .apie/sidecar.json (it holds the admin key); and " +
      "`apie approvals approve|reject`, `apie guardrails enable` or `apie hooks install|uninstall` run by the agent.",
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
