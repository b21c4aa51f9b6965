#!/usr/bin/env bash
# Conformance of `posdev sim terminal --concert-pty` with independent Concert V2 clients from
# PyPI (pyTeliumManager, pypostelium), each acting as the cash register.
set -euo pipefail
source "$(dirname "$0")/lib/conformance.sh"
run_conformance terminal drivers/payment-terminal/conformance "telium, pypostelium.pypostelium, pytest" "$@"
