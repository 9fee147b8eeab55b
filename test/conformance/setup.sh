#!/usr/bin/env bash
# Installs what `npm run test:conformance` needs, idempotently, into a cacheable tools folder outside the
# clone: Node 24 (the conformance CLI needs Node >= 22; shared with the e2e tools, test/support/node24.sh) and
# @modelcontextprotocol/conformance, pinned. The folder is CONFORMANCE_TOOLS, else E2E_TOOLS, else
# ~/.cache/apie-vscode/e2e-tools (test/conformance/conformance.test.ts reads the same); a warm folder returns
# in a second. Only the npm registry is needed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${CONFORMANCE_TOOLS:-${E2E_TOOLS:-${HOME:-/tmp}/.cache/apie-vscode/e2e-tools}}
CONFORMANCE_VERSION=0.1.16

# Under `npm run`, npm's own variables (user agent, local prefix: this repository) would reach the installs.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(npm_|NODE$|INIT_CWD$)' || true)
source "$ROOT/test/support/node24.sh"

install_node24 "$TOOLS"
PKG=$TOOLS/conformance/node_modules/@modelcontextprotocol/conformance
if [ "$("$N24/bin/node" -p "require('$PKG/package.json').version" 2>/dev/null)" != "$CONFORMANCE_VERSION" ]; then
  echo "installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $TOOLS/conformance"
  npm_folder "$TOOLS/conformance"
  (cd "$TOOLS/conformance" && PATH="$N24/bin:$PATH" npm install --no-audit --no-fund --no-package-lock --no-save --loglevel=error "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
fi
echo "[conformance setup] ready: node $("$N24/bin/node" --version), @modelcontextprotocol/conformance $CONFORMANCE_VERSION (tools: $TOOLS)"
