# Shared by scripts/test-window.sh and scripts/bench-window.sh: builds the cashier app with its
# UI inside and runs a command under Xvfb next to tauri-driver (WebDriver on 127.0.0.1:4444).

window_prepare() {
  for tool in xvfb-run WebKitWebDriver node npm; do
    command -v "$tool" >/dev/null || {
      echo "$0: $tool is missing: run scripts/install-deps.sh" >&2
      exit 1
    }
  done
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v tauri-driver >/dev/null; then
    echo "$0: installing tauri-driver" >&2
    cargo install tauri-driver --locked --quiet
  fi
  if [ ! -f ui/dist/index.html ]; then
    (cd ui && npm ci --no-audit --no-fund && npm run build)
  fi
  cargo build --quiet -p pos-cashier --features custom-protocol
  # The window test enrolls its till with a head office: the sync server and the till CLI.
  cargo build --quiet -p sync-server --bin sync-server -p pos-till --bin till
  (cd tests/window && npm ci --no-audit --no-fund --silent)
  export CASHIER_APP="$PWD/target/debug/pos-cashier"
}

# window_run CMD...: runs CMD in tests/window with a fresh XDG_DATA_HOME, under Xvfb, while
# tauri-driver listens.
window_run() {
  local data status=0
  data=$(mktemp -d)
  XDG_DATA_HOME="$data" xvfb-run -a -s "-screen 0 1366x900x24" bash -c '
    tauri-driver --port 4444 >/dev/null 2>&1 &
    driver=$!
    # SIGTERM, never SIGKILL: tauri-driver then stops its WebKitWebDriver too.
    trap "kill -TERM $driver; wait $driver 2>/dev/null" EXIT
    for _ in $(seq 100); do
      (echo > /dev/tcp/127.0.0.1/4444) 2>/dev/null && break
      sleep 0.1
    done
    cd tests/window && "$@"
  ' window "$@" || status=$?
  rm -rf "$data"
  return $status
}
