#!/usr/bin/env bash
# Conformance of `posdev sim terminal --concert-pty` with independent Concert V2 clients from
# PyPI (pyTeliumManager, pypostelium), each acting as the cash register.
#
# Creates (or reuses) the virtual environment .venv at the repository root, installs the pinned
# peers from drivers/payment-terminal/conformance/requirements.txt (only when that file changed),
# builds posdev and runs the pytest suite. Fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
conformance=drivers/payment-terminal/conformance
requirements=$conformance/requirements.txt
venv=$root/.venv

die() { echo "test-terminal-conformance: $*" >&2; exit 1; }

python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found: install Python 3 (Debian: apt-get install -y python3 python3-venv)"
[ -f "$requirements" ] || die "$requirements is missing"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || die "cannot create $venv: install the venv module (Debian: apt-get install -y python3-venv)"
fi

# Reinstall only when the pinned set changed since the last successful install.
stamp=$venv/.conformance-requirements
if ! cmp -s "$requirements" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
    || die "pip install -r $requirements failed (PyPI must be reachable)"
  cp "$requirements" "$stamp"
fi
"$venv/bin/python" -c 'import telium, pypostelium.pypostelium, pytest' \
  || die "the conformance peers did not install correctly in $venv"

cargo build --quiet -p posdev || die "cargo build -p posdev failed"
target_dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export POSDEV_BIN=$target_dir/debug/posdev
[ -x "$POSDEV_BIN" ] || die "posdev binary not found at $POSDEV_BIN"

export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$conformance" "$@"
