#!/usr/bin/env bash
# The project's one test command (README): every check CI runs.
#   scripts/test.sh
# Needs only Rust to pass on a stranger's machine; suites that need PostgreSQL,
# ffmpeg, python-threatexchange or ../shared skip with a message when those are
# absent (CI sets TAKEDOWN_REQUIRE_* so that it cannot skip them).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --quiet 2>&1 | tee /tmp/takedown-cargo-test.log
grep -q "test result" /tmp/takedown-cargo-test.log

step "UniFFI bindings from the built library (Kotlin, Swift)"
scripts/gen-bindings.sh
