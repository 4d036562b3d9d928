#!/usr/bin/env bash
# Generate Kotlin and Swift bindings from the built FFI library, libtakedown_core
# (crate core/ffi, library mode).
# Output: target/bindings/{kotlin,swift}
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p takedown-ffi -p uniffi-bindgen
cmp -s uniffi.toml core/ffi/uniffi.toml || { echo "uniffi.toml and core/ffi/uniffi.toml differ: keep them identical" >&2; exit 1; }
out=target/bindings
rm -rf "$out"; mkdir -p "$out/kotlin" "$out/swift"
lib=target/debug/libtakedown_core.so
[ -f "$lib" ] || lib=target/debug/libtakedown_core.dylib
target/debug/uniffi-bindgen generate "$lib" --language kotlin --out-dir "$out/kotlin" --no-format
target/debug/uniffi-bindgen generate "$lib" --language swift --out-dir "$out/swift" --no-format
kt=$(find "$out/kotlin" -name '*.kt' | head -1)
[ -n "$kt" ] && [ -f "$out/swift/TakedownCore.swift" ] && [ -f "$out/swift/TakedownCoreFFI.h" ] || { echo "bindings missing" >&2; exit 1; }
echo "bindings: $kt, $out/swift/TakedownCore.swift ($(grep -c 'fun ' "$kt") Kotlin functions)"
