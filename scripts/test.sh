#!/usr/bin/env bash
# The project's one test command (README): every check CI runs.
#   scripts/test.sh
# Needs only Rust to pass on a stranger's machine; suites that need PostgreSQL,
# ffmpeg, python-threatexchange, Kotlin, Swift or ../shared skip with a message when
# those are absent (CI sets TAKEDOWN_REQUIRE_* so that it cannot skip them).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
log=target/test-logs; mkdir -p "$log"
passed=0; failed=0; skipped=0; broken=()
# Rust tests that cannot run here append "name<TAB>reason" to this file
# (tests/skip.rs); cargo counts them as passed, so they are moved to "skipped".
export TAKEDOWN_SKIP_LOG="$PWD/$log/skipped.tsv"
: > "$TAKEDOWN_SKIP_LOG"

step() { printf '\n==> %s\n' "$*"; }
# run NAME CMD...: run a step, remember whether it failed.
run() {
  local name=$1; shift
  step "$name"
  if ! "$@"; then broken+=("$name"); fi
}
count() { # add "N passed" / "N failed" figures found by the awk program $2 in file $1
  local p f
  read -r p f < <(awk "$2" "$1")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

run "cargo fmt --check" cargo fmt --all -- --check
run "cargo clippy (all targets, -D warnings)" cargo clippy --workspace --all-targets --quiet -- -D warnings
run "cargo doc (-D warnings)" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

run "app strings: en/de parity, iOS catalog up to date" python3 scripts/strings.py check
run "app strings checker can fail (selftest)" python3 scripts/strings.py selftest
run "app privacy settings: no backups, FLAG_SECURE, no gallery permission, Keychain (Android manifest, iOS sources)" python3 scripts/app-policy.py check
run "app privacy checker can fail (selftest)" python3 scripts/app-policy.py selftest

step "cargo test (workspace)"
cargo test --workspace --no-fail-fast 2>&1 | tee "$log/cargo.log"
[ "${PIPESTATUS[0]}" = 0 ] || broken+=("cargo test")
count "$log/cargo.log" '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }'
rust_skipped=$(wc -l < "$TAKEDOWN_SKIP_LOG")
passed=$((passed - rust_skipped)); skipped=$((skipped + rust_skipped))
[ "$rust_skipped" = 0 ] || { echo "skipped Rust tests:"; sed 's/^/  /' "$TAKEDOWN_SKIP_LOG"; }

run "UniFFI bindings from the built library (Kotlin, Swift)" scripts/gen-bindings.sh

step "Kotlin binding tests (JVM)"
scripts/kotlin-tests.sh 2>&1 | tee "$log/kotlin.log"
[ "${PIPESTATUS[0]}" = 0 ] || broken+=("Kotlin tests")
count "$log/kotlin.log" '/^Kotlin: [0-9]+ passed, [0-9]+ failed/ { p = $2; f = $4 } END { print p+0, f+0 }'
grep -q '^SKIPPED' "$log/kotlin.log" && skipped=$((skipped + 1))  # the whole suite

step "Swift binding tests (XCTest)"
scripts/swift-tests.sh 2>&1 | tee "$log/swift.log"
[ "${PIPESTATUS[0]}" = 0 ] || broken+=("Swift tests")
count "$log/swift.log" '/Test Suite .All tests. (passed|failed)/ { getline; n = $2; f = $5 } END { print n - f, f+0 }'
grep -q '^SKIPPED' "$log/swift.log" && skipped=$((skipped + 1))  # the whole suite

step "python-threatexchange extension (pytest, real service on loopback)"
scripts/pytx-tests.sh 2>&1 | tee "$log/pytx.log"
[ "${PIPESTATUS[0]}" = 0 ] || broken+=("pytx tests")
count "$log/pytx.log" '/^pytx: [0-9]+ passed, [0-9]+ failed/ { p = $2; f = $4 } END { print p+0, f+0 }'
skipped=$((skipped + $(awk '/^pytx: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ { s = $6 } END { print s+0 }' "$log/pytx.log")))

step "Schemathesis against the service (SQLite and PostgreSQL)"
scripts/schemathesis.sh 2>&1 | tee "$log/schemathesis.log"
[ "${PIPESTATUS[0]}" = 0 ] || broken+=("schemathesis")
count "$log/schemathesis.log" '/^schemathesis: [0-9]+ passed, [0-9]+ failed/ { p = $2; f = $4 } END { print p+0, f+0 }'
skipped=$((skipped + $(awk '/^schemathesis: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ { s = $6 } END { print s+0 }' "$log/schemathesis.log")))

echo
if [ ${#broken[@]} -gt 0 ]; then
  echo "FAILED steps: ${broken[*]}"
  echo "all suites: $passed passed, $failed failed, $skipped skipped"
  exit 1
fi
echo "all suites: $passed passed, $failed failed, $skipped skipped"
