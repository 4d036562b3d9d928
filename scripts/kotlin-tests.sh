#!/usr/bin/env bash
# Kotlin binding tests on the JVM: compile the generated bindings, the JUnit suite in
# android/core-tests and the app's view models with their tests (android/viewmodels, main and
# test sources in one kotlinc run), run them all in one JUnit run against
# target/debug/libtakedown_core.so and a real service on loopback.
# Needs: java, the npm package kotlin-compiler (in $TAKEDOWN_KOTLIN, default
# /opt/takedown-kotlin/node_modules/kotlin-compiler), Debian's libjna-java, junit4.
# Skips with a message when those are absent, unless TAKEDOWN_REQUIRE_KOTLIN=1.
set -euo pipefail
cd "$(dirname "$0")/.."
KOTLIN="${TAKEDOWN_KOTLIN:-/opt/takedown-kotlin/node_modules/kotlin-compiler}"
JNA=/usr/share/java/jna.jar; JUNIT=/usr/share/java/junit4.jar; HAMCREST=/usr/share/java/hamcrest.jar
[ -f "$HAMCREST" ] || HAMCREST=$(ls /usr/share/java/hamcrest*.jar 2>/dev/null | head -1 || true)
missing=""
command -v java >/dev/null || missing="$missing java"
[ -f "$KOTLIN/lib/kotlin-compiler.jar" ] || missing="$missing kotlin-compiler(npm)"
[ -f "$JNA" ] || missing="$missing libjna-java"
[ -f "$JUNIT" ] || missing="$missing junit4"
if [ -n "$missing" ]; then
  if [ "${TAKEDOWN_REQUIRE_KOTLIN:-}" = 1 ]; then echo "kotlin-tests: missing:$missing" >&2; exit 1; fi
  echo "SKIPPED Kotlin binding tests: missing$missing (see .ci/run for the install)"; exit 0
fi
L="$KOTLIN/lib"
out=target/kotlin; mkdir -p "$out"
[ -f target/bindings/kotlin/org/takedown/core/takedown_core.kt ] || scripts/gen-bindings.sh
kotlinc() {
  local cds=()
  [ -f "$out/kotlinc.jsa" ] && cds=(-XX:SharedArchiveFile="$out/kotlinc.jsa" -Xshare:auto) || cds=(-XX:ArchiveClassesAtExit="$out/kotlinc.jsa")
  java -Xlog:all=off -XX:TieredStopAtLevel=1 -Xmx2g -Xms1g -XX:+UseParallelGC "${cds[@]}" -cp "$L/kotlin-compiler.jar:$L/kotlin-stdlib.jar:$L/kotlin-script-runtime.jar:$L/kotlin-reflect.jar:$L/trove4j.jar:$L/annotations-13.0.jar" \
    org.jetbrains.kotlin.cli.jvm.K2JVMCompiler -no-stdlib -no-reflect -nowarn "$@"
}
CP="$L/kotlin-stdlib.jar:$L/kotlinx-coroutines-core-jvm.jar:$JNA"
# The bindings jar is cached by the hash of the generated source.
sum=$(sha256sum target/bindings/kotlin/org/takedown/core/takedown_core.kt | cut -c1-16)
if [ ! -f "$out/bindings-$sum.jar" ]; then
  rm -f "$out"/bindings-*.jar
  echo "kotlin-tests: compiling bindings"
  kotlinc -cp "$CP" -d "$out/bindings-$sum.jar" target/bindings/kotlin/org/takedown/core/takedown_core.kt
fi
TCP="$CP:$out/bindings-$sum.jar:$L/kotlin-test.jar:$L/kotlin-test-junit.jar:$JUNIT:$HAMCREST"
rm -rf "$out/tests"; mkdir -p "$out/tests"
echo "kotlin-tests: compiling tests"
kotlinc -cp "$TCP" -d "$out/tests" $(find android/core-tests/src/test/kotlin -name '*.kt')
rm -rf "$out/viewmodels"; mkdir -p "$out/viewmodels"
echo "kotlin-tests: compiling view models and their tests"
kotlinc -cp "$TCP" -d "$out/viewmodels" $(find android/viewmodels/src/main/kotlin android/viewmodels/src/test/kotlin -name '*.kt')
# A real hash-list service on loopback for the flow tests, with one platform key.
source scripts/test-service.sh
# The binding tests first (they look up their own items in the service's sync list).
classes=$(for d in "$out/tests" "$out/viewmodels"; do (cd "$d" && find . -name '*Test.class' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort); done)
set +e
java -Djna.library.path="$PWD/target/debug" -Dtakedown.fixtures="$PWD/tests/fixtures" \
  -Dtakedown.service="$TAKEDOWN_TEST_SERVICE_URL" -Dtakedown.platformKey="$TAKEDOWN_TEST_PLATFORM_KEY" \
  -Dtakedown.res="$PWD/android/app/src/main/res" \
  -cp "$TCP:$out/tests:$out/viewmodels" org.junit.runner.JUnitCore $classes 2>&1 | tee "$out/junit.log"
rc=${PIPESTATUS[0]}
set -e
total=$(grep -oE '^OK \(([0-9]+) tests?\)' "$out/junit.log" | grep -oE '[0-9]+' || true)
if [ -n "$total" ]; then
  echo "Kotlin: $total passed, 0 failed"
else
  run=$(grep -oE 'Tests run: [0-9]+' "$out/junit.log" | grep -oE '[0-9]+' || echo 0)
  failed=$(grep -oE 'Failures: [0-9]+' "$out/junit.log" | grep -oE '[0-9]+' || echo 0)
  echo "Kotlin: $((run - failed)) passed, $failed failed"
fi
exit "$rc"
