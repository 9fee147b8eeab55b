#!/usr/bin/env bash
# Installs the real coding-agent CLIs that test/integration/agentHosts*.test.ts drive headless, idempotently,
# into a cache folder outside the clone (AGENT_CLIS, default ~/.cache/apie-vscode/agent-clis):
#   - Claude Code  (@anthropic-ai/claude-code, pinned below)  → $AGENT_CLIS/claude-code/node_modules/.bin/claude
#   - Codex CLI    (@openai/codex, pinned below; its native binary comes as an optional dependency,
#                   @openai/codex-linux-x64 → npm:@openai/codex@<v>-linux-x64) → $AGENT_CLIS/codex/node_modules/.bin/codex
# Only the npm registry is needed. Each CLI is checked by running `--version` against the pinned version and
# a marker; a warm machine returns in about a second. The tests find the CLIs through test/support/agentClis.ts
# (same default folder, same AGENT_CLIS override) and skip with a message naming this script when absent.
set -euo pipefail
AGENT_CLIS=${AGENT_CLIS:-${HOME:-/tmp}/.cache/apie-vscode/agent-clis}
CLAUDE_VERSION=2.1.332
CODEX_VERSION=0.171.0
NPM_FLAGS=(--no-audit --no-fund --no-package-lock --no-save --loglevel=error)

log() { printf '[agent-clis setup] %s\n' "$*"; }

# Under `npm run …` npm's own variables would point the installs below at this repository.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(npm_|INIT_CWD$)' || true)

# install NAME PACKAGE VERSION BIN: one folder per CLI with its own package.json (without one, npm walks up to
# the nearest package.json and installs there); the marker is written only after `BIN --version` names VERSION.
install() {
  local name=$1 pkg=$2 version=$3 bin=$4
  local dir=$AGENT_CLIS/$name
  local marker=$dir/.installed-$version
  if [ -f "$marker" ] && "$dir/node_modules/.bin/$bin" --version 2>/dev/null | grep -qF "$version"; then
    return 0
  fi
  log "installing $pkg@$version into $dir"
  rm -rf "$dir/node_modules" "$dir"/.installed-*
  mkdir -p "$dir"
  echo '{"private":true,"description":"Apie agent CLIs for tests; see test/hosts/setup.sh"}' > "$dir/package.json"
  (cd "$dir" && npm install "${NPM_FLAGS[@]}" "$pkg@$version")
  local got
  got=$("$dir/node_modules/.bin/$bin" --version 2>&1) || { log "$bin --version failed: $got"; exit 1; }
  grep -qF "$version" <<<"$got" || { log "$bin --version says '$got', expected $version"; exit 1; }
  touch "$marker"
}

install claude-code @anthropic-ai/claude-code "$CLAUDE_VERSION" claude
install codex @openai/codex "$CODEX_VERSION" codex

log "ready: claude $("$AGENT_CLIS/claude-code/node_modules/.bin/claude" --version), $("$AGENT_CLIS/codex/node_modules/.bin/codex" --version) (in $AGENT_CLIS)"
