#!/usr/bin/env bash
# Tests of the python-threatexchange extension (integrations/threatexchange)
# against a real takedown-server on loopback.
#   scripts/pytx-tests.sh [PYTEST ARGS...]
# Installs the package (and pytest) into the venv ($TAKEDOWN_VENV, default
# /opt/takedown-venv) with pip from the repository path, builds the server
# binary if needed, runs pytest and ends with one line
#   pytx: N passed, N failed, N skipped
# Without the venv the suite is skipped (exit 0), unless TAKEDOWN_REQUIRE_PYTX=1.
# TAKEDOWN_PYTX_BIG sets the list size of the kill-and-resume test (default 100000).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${TAKEDOWN_VENV:-/opt/takedown-venv}
PY="$VENV/bin/python"
out=target/test-logs; mkdir -p "$out"

if ! "$PY" -c "import threatexchange" 2>/dev/null; then
  echo "SKIPPED pytx: no python-threatexchange in $VENV (set TAKEDOWN_VENV; .ci/run creates it)"
  if [ "${TAKEDOWN_REQUIRE_PYTX:-}" = 1 ]; then
    echo "pytx: 0 passed, 1 failed, 0 skipped"
    exit 1
  fi
  echo "pytx: 0 passed, 0 failed, 1 skipped"
  exit 0
fi

fail_setup() {
  echo "pytx: setup failed: $*" >&2
  echo "pytx: 0 passed, 1 failed, 0 skipped"
  exit 1
}

"$PY" -m pytest --version >/dev/null 2>&1 ||
  "$PY" -m pip install -q --disable-pip-version-check pytest || fail_setup "pip install pytest"
# Reinstall from the repository path every time (the version does not change
# while the code does).
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  ./integrations/threatexchange || fail_setup "pip install ./integrations/threatexchange"
rm -rf integrations/threatexchange/build

export TAKEDOWN_SERVER_BIN=${TAKEDOWN_SERVER_BIN:-$PWD/target/debug/takedown-server}
if [ "$TAKEDOWN_SERVER_BIN" = "$PWD/target/debug/takedown-server" ]; then
  cargo build -q -p takedown-server || fail_setup "cargo build -p takedown-server"
fi

xml="$out/pytx-junit.xml"
rm -f "$xml"
(cd integrations/threatexchange && "$PY" -m pytest -q -rs -p no:cacheprovider \
  --junitxml="$PWD/../../$xml" "$@")
status=$?

if [ -f "$xml" ]; then
  read -r p f s < <("$PY" - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
n = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(n - f - k, f, k)
EOF
  )
else
  p=0; f=1; s=0
fi
if [ "$status" != 0 ] && [ "${f:-0}" = 0 ]; then f=1; fi
echo "pytx: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
exit "$status"
