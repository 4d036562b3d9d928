#!/usr/bin/env bash
# Builds the core (crate core/ffi, library takedown_core) as a static library for iOS
# devices and both simulators, and assembles ios/build/TakedownCoreFFI.xcframework with
# the generated C header and module map; copies the generated Swift bindings into
# ios/Sources/TakedownCore/. Needs a Mac with Xcode and the three Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# Then: cd ios/App && xcodegen generate && open Takedown.xcodeproj
# PROFILE=debug builds unoptimised libraries (faster to build, slow to hash).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework: needs macOS with Xcode (xcodebuild, lipo)" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "build-xcframework: xcodebuild not found (install Xcode)" >&2; exit 1; }
profile="${PROFILE:-release}"
flag=(); [ "$profile" = release ] && flag=(--release)
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || { echo "build-xcframework: rustup target add $t" >&2; exit 1; }
done
export IPHONEOS_DEPLOYMENT_TARGET=17.0
for t in "${targets[@]}"; do
  echo "build-xcframework: cargo build -p takedown-ffi --target $t ($profile)"
  cargo build "${flag[@]}" -p takedown-ffi --lib --target "$t"
done

# Bindings from the host build (library mode reads the metadata of the built library).
scripts/gen-bindings.sh
cp target/bindings/swift/TakedownCore.swift ios/Sources/TakedownCore/TakedownCore.swift

out=ios/build
rm -rf "$out"; mkdir -p "$out/include" "$out/sim"
cp target/bindings/swift/TakedownCoreFFI.h "$out/include/"
# A module map for the XCFramework: the header only (the library is linked by Xcode).
cat >"$out/include/module.modulemap" <<'MAP'
module TakedownCoreFFI {
    header "TakedownCoreFFI.h"
    export *
}
MAP
lib=libtakedown_core.a
# One simulator slice for both architectures.
lipo -create "target/aarch64-apple-ios-sim/$profile/$lib" "target/x86_64-apple-ios/$profile/$lib" \
  -output "$out/sim/$lib"
xcodebuild -create-xcframework \
  -library "target/aarch64-apple-ios/$profile/$lib" -headers "$out/include" \
  -library "$out/sim/$lib" -headers "$out/include" \
  -output "$out/TakedownCoreFFI.xcframework"
rm -rf "$out/sim"
echo "build-xcframework: $out/TakedownCoreFFI.xcframework and ios/Sources/TakedownCore/TakedownCore.swift"
