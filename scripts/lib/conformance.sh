# Shared by scripts/test-*-conformance.sh: runs a pytest suite of independent implementations
# (from PyPI) against our simulators.
#
# Creates (or reuses) the virtual environment .venv at the repository root, installs the suite's
# pinned requirements (only when its requirements.txt changed since the last install), checks
# the peers import, builds posdev and runs pytest. Fails loudly if anything is missing.
#
# Usage: run_conformance NAME SUITE_DIR PYTHON_IMPORTS [pytest args...]

run_conformance() {
  local name=$1 conformance=$2 imports=$3
  shift 3
  local root requirements venv python stamp target_dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cd "$root"
  requirements=$conformance/requirements.txt
  venv=$root/.venv
  die() { echo "test-$name-conformance: $*" >&2; exit 1; }

  python=${PYTHON:-python3}
  command -v "$python" >/dev/null || die "$python not found: install Python 3 (Debian: apt-get install -y python3 python3-venv)"
  [ -f "$requirements" ] || die "$requirements is missing"

  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || die "cannot create $venv: install the venv module (Debian: apt-get install -y python3-venv)"
  fi

  stamp=$venv/.$name-conformance-requirements
  if ! cmp -s "$requirements" "$stamp"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
      || die "pip install -r $requirements failed (PyPI must be reachable)"
    cp "$requirements" "$stamp"
  fi
  "$venv/bin/python" -c "import $imports" || die "the peers ($imports) did not install correctly in $venv"

  cargo build --quiet -p posdev || die "cargo build -p posdev failed"
  target_dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  export POSDEV_BIN=$target_dir/debug/posdev
  [ -x "$POSDEV_BIN" ] || die "posdev binary not found at $POSDEV_BIN"

  export PYTHONDONTWRITEBYTECODE=1
  exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$conformance" "$@"
}
