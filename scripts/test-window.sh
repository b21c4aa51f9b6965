#!/usr/bin/env bash
# WebDriver smoke tests of the real cashier window (tests/window): the Tauri app built with its
# UI inside (feature custom-protocol), under Xvfb, driven by tauri-driver + WebKitWebDriver.
# Saves screenshots to docs/screenshots (SCREENSHOTS_DIR to change) and prints the cold start and
# idle memory it measured (also written to WINDOW_REPORT, a JSON file, when set).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/window.sh
window_prepare
window_run npm test
