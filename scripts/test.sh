#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs nasm when missing, then
# runs every unit test, the firmware staleness check and the conformance
# ROM suite (in release mode, so the ROMs run at full speed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-deps.sh
cargo test --workspace --release "$@"
