#!/usr/bin/env bash
# Swift binding tests: copy the generated Swift bindings and header into the ios/
# package and run its XCTest suite with SwiftPM against target/debug/libtakedown_core.
# Finds Swift on PATH (a Mac), else in $TAKEDOWN_SWIFT_BIN (default
# /opt/swift-linux/bin), else installs it there with ../shared/tools/setup-swift-linux.sh
# when that exists; otherwise skips with a message (fails if TAKEDOWN_REQUIRE_SWIFT=1).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT_BIN="${TAKEDOWN_SWIFT_BIN:-/opt/swift-linux/bin}"
swift=""
if command -v swift >/dev/null && swift --version >/dev/null 2>&1; then swift=$(command -v swift)
elif [ -x "$SWIFT_BIN/swift" ]; then swift="$SWIFT_BIN/swift"
elif [ -x ../shared/tools/setup-swift-linux.sh ] || [ -f ../shared/tools/setup-swift-linux.sh ]; then
  echo "swift-tests: installing the private Swift toolchain into $SWIFT_BIN (about 2 minutes)"
  bash ../shared/tools/setup-swift-linux.sh "$SWIFT_BIN" >/tmp/takedown-swift-setup.log 2>&1 \
    || { tail -20 /tmp/takedown-swift-setup.log >&2; exit 1; }
  swift="$SWIFT_BIN/swift"
fi
if [ -z "$swift" ]; then
  if [ "${TAKEDOWN_REQUIRE_SWIFT:-}" = 1 ]; then echo "swift-tests: no Swift compiler found" >&2; exit 1; fi
  echo "SKIPPED Swift binding tests: no Swift compiler found (install Swift or see docs)"; exit 0
fi
[ -f target/bindings/swift/TakedownCore.swift ] || scripts/gen-bindings.sh
mkdir -p ios/Sources/TakedownCore ios/Sources/TakedownCoreFFI
cp target/bindings/swift/TakedownCore.swift ios/Sources/TakedownCore/TakedownCore.swift
cp target/bindings/swift/TakedownCoreFFI.h ios/Sources/TakedownCoreFFI/TakedownCoreFFI.h
source scripts/test-service.sh
export TAKEDOWN_LIB_DIR="$PWD/target/debug" TAKEDOWN_FIXTURES="$PWD/tests/fixtures"
export LD_LIBRARY_PATH="$PWD/target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$swift" test --package-path ios 2>&1 | tee target/swift-test.log
rc=${PIPESTATUS[0]}
exit "$rc"
