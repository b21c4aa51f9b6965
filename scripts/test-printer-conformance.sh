#!/usr/bin/env bash
# Conformance of `posdev sim printer` with an independent ESC/POS implementation from PyPI:
# python-escpos prints a receipt to it over TCP 9100 and queries its status.
set -euo pipefail
source "$(dirname "$0")/lib/conformance.sh"
run_conformance printer drivers/escpos/conformance "escpos.printer, pytest" "$@"
