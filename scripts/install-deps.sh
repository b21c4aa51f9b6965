#!/usr/bin/env bash
# Installs what building and testing need on a Debian machine, only what is missing.
# Runs as root (CI and fresh machines); prints what it does.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
command -v hledger >/dev/null || need_apt+=(hledger)   # checks the accounting exports
command -v nats-server >/dev/null || need_apt+=(nats-server)   # the sync server's JetStream publisher tests
if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  need_apt+=(python3-venv)
fi

# The cashier app: Tauri's build packages (WebKitGTK), and what its tests drive: Chromium for
# the browser tests, WebKitWebDriver and a virtual display for the real window.
dpkg -s libwebkit2gtk-4.1-dev >/dev/null 2>&1 || need_apt+=(libwebkit2gtk-4.1-dev build-essential curl wget file \
  libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev)
command -v WebKitWebDriver >/dev/null || need_apt+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || need_apt+=(xvfb xauth)
command -v chromium >/dev/null || need_apt+=(chromium)
# The head-office app's browser tests: sqlite3 and psql change a stored ticket (tampering), psql
# creates their PostgreSQL database; curl is the HTTPS client of the web app's server test.
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v curl >/dev/null || need_apt+=(curl)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "install-deps: cargo is missing; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
if ! command -v tauri-driver >/dev/null; then
  echo "install-deps: installing tauri-driver (WebDriver for the app window's tests)"
  cargo install tauri-driver --locked
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "install-deps: adding the $component component"
    rustup component add "$component"
  fi
done

# The UI's build and tests (Vite 8, Vitest 4) need Node ^20.19 or >=22.12; Debian 12's nodejs is
# 18. When the Node here is missing or too old, take Debian's (for npm), then Node 22's official
# Linux build as the npm registry publishes it (package node-linux-<arch>), into /opt/node22;
# Debian's npm then runs on it (it starts the first `node` on the PATH).
node_ok() {
  command -v node >/dev/null && node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    process.exit((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23 ? 0 : 1);'
}
if [ -f ui/package.json ] || [ -f "$(dirname "$0")/../ui/package.json" ]; then
  if ! node_ok; then
    echo "install-deps: installing Node 22 from the npm registry (the UI needs Node 20.19+ or 22.12+)"
    export DEBIAN_FRONTEND=noninteractive
    command -v npm >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends nodejs npm; }
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    npm install --silent --no-save --prefix /opt/node22 "node-linux-${arch}@22"
    ln -sf /opt/node22/node_modules/node-linux-${arch}/bin/node /usr/local/bin/node
    hash -r
    node_ok || { echo "install-deps: Node 20.19+ or 22.12+ is still missing" >&2; exit 1; }
  fi
fi

# The OpenAPI fuzzer of the sync server's API (scripts/test-openapi-fuzz.sh): schemathesis, at
# the version pinned in scripts/openapi-fuzz/requirements.txt, in the repository's .venv.
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_requirements=$root/scripts/openapi-fuzz/requirements.txt
if ! cmp -s "$fuzz_requirements" "$root/.venv/.openapi-fuzz-requirements" 2>/dev/null; then
  echo "install-deps: installing the OpenAPI fuzzer ($fuzz_requirements) in .venv"
  [ -x "$root/.venv/bin/python" ] || python3 -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$fuzz_requirements"
  cp "$fuzz_requirements" "$root/.venv/.openapi-fuzz-requirements"
fi
