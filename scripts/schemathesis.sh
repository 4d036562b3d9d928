#!/usr/bin/env bash
# Schemathesis against the real takedown-server, on SQLite and on PostgreSQL:
# every check, a bounded number of examples per operation, 0 failures allowed.
#   scripts/schemathesis.sh
# Needs schemathesis in the venv ($TAKEDOWN_VENV, default /opt/takedown-venv;
# .ci/run installs it). Ends with one line
#   schemathesis: N passed, N failed, N skipped
# (one count per backend). Without schemathesis the run is skipped (exit 0)
# unless TAKEDOWN_REQUIRE_SCHEMATHESIS=1; without TAKEDOWN_TEST_POSTGRES_URL
# (source scripts/pg-start.sh) the PostgreSQL run is skipped unless
# TAKEDOWN_REQUIRE_POSTGRES is set. TAKEDOWN_SCHEMATHESIS_EXAMPLES sets the
# examples per operation (default 40).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${TAKEDOWN_VENV:-/opt/takedown-venv}
ST="$VENV/bin/st"
EXAMPLES=${TAKEDOWN_SCHEMATHESIS_EXAMPLES:-40}
root=$PWD
out=$root/target/test-logs; mkdir -p "$out"
passed=0; failed=0; skipped=0

finish() {
  echo "schemathesis: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" = 0 ]
  exit $?
}

if ! "$ST" --version >/dev/null 2>&1; then
  echo "SKIPPED schemathesis: not installed in $VENV (.ci/run installs it)"
  if [ "${TAKEDOWN_REQUIRE_SCHEMATHESIS:-}" = 1 ]; then failed=1; else skipped=2; fi
  finish
fi

BIN=${TAKEDOWN_SERVER_BIN:-$PWD/target/debug/takedown-server}
if [ "$BIN" = "$PWD/target/debug/takedown-server" ]; then
  cargo build -q -p takedown-server || { echo "schemathesis: cargo build failed" >&2; failed=1; finish; }
fi

# run_backend NAME DB-ARGS...
run_backend() {
  local name=$1; shift
  local dir log pid addr key token number rc=0
  dir=$(mktemp -d)
  log="$out/schemathesis-$name-server.log"
  "$BIN" platform "$@" create schemathesis >"$dir/key" 2>>"$log" || { echo "schemathesis[$name]: platform create failed" >&2; return 1; }
  key=$(cat "$dir/key")
  "$BIN" serve "$@" --listen 127.0.0.1:0 --rate-limit 0 --max-auth-failures 1000000 \
    --metrics >"$dir/out" 2>"$log" &
  pid=$!
  for _ in $(seq 1 100); do
    addr=$(sed -n 's|^listening on http://||p' "$dir/out" 2>/dev/null | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "schemathesis[$name]: server did not start (see $log)" >&2
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
  fi
  local url="http://$addr"
  # A real case, so the case routes are exercised with a valid token too.
  local created
  created=$("$VENV/bin/python" - "$url" <<'PY'
import json, os, sys, urllib.request
h = lambda n: os.urandom(n).hex()
body = {"idempotency_key": h(24),
        "attestations": {"person_shown_was_under_18": True, "submitter": "person_shown"},
        "items": [{"image": {"md5": h(16), "sha256": h(32), "pdq": h(32), "quality": 90}}]}
req = urllib.request.Request(sys.argv[1] + "/v1/cases", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
v = json.load(urllib.request.urlopen(req, timeout=10))
print(v["case_token"], v["case_number"])
PY
)
  read -r token number <<<"$created"
  local common=(--checks all --max-examples "$EXAMPLES" --seed 1 --no-color
    --suppress-health-check all --request-timeout 10 --max-response-time 5 -w 2)
  # Platform routes with the API key; case routes with the case's token;
  # the operations routes without credentials.
  # Run from the temporary directory: schemathesis keeps a cache in the
  # working directory, and every run starts clean.
  st_run() { (cd "$dir" && "$ST" --config-file "$root/scripts/schemathesis.toml" run "$url/v1/openapi.json" "${common[@]}" "$@"); }
  st_run -H "Authorization: Bearer $key" --include-path-regex '^/v1/(sync|feedback|export)' \
    >"$out/schemathesis-$name-platform.log" 2>&1 || rc=1
  st_run -H "Authorization: Bearer $token" --include-path-regex '^/v1/cases' \
    >"$out/schemathesis-$name-cases.log" 2>&1 || rc=1
  st_run --include-path-regex '^/(healthz|metrics|v1/openapi.json)' \
    >"$out/schemathesis-$name-ops.log" 2>&1 || rc=1
  [ -n "$number" ] || rc=1
  kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  rm -rf "$dir"
  for f in "$out/schemathesis-$name-"{platform,cases,ops}.log; do
    echo "--- $f"; tail -n 12 "$f"
  done
  return $rc
}

sqlite_dir=$(mktemp -d)
if run_backend sqlite --data-dir "$sqlite_dir"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
rm -rf "$sqlite_dir"

if [ -n "${TAKEDOWN_TEST_POSTGRES_URL:-}" ]; then
  PSQL="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql"
  schema="st_$(date +%s)_$$"
  if "$PSQL" -q "$TAKEDOWN_TEST_POSTGRES_URL" -c "CREATE SCHEMA $schema" >/dev/null; then
    pgurl="$TAKEDOWN_TEST_POSTGRES_URL?options=-csearch_path%3D$schema"
    if run_backend postgres --database "$pgurl"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    "$PSQL" -q "$TAKEDOWN_TEST_POSTGRES_URL" -c "DROP SCHEMA $schema CASCADE" >/dev/null
  else
    echo "schemathesis[postgres]: cannot create a schema" >&2
    failed=$((failed + 1))
  fi
elif [ -n "${TAKEDOWN_REQUIRE_POSTGRES:-}" ]; then
  echo "schemathesis[postgres]: TAKEDOWN_REQUIRE_POSTGRES is set but TAKEDOWN_TEST_POSTGRES_URL is not" >&2
  failed=$((failed + 1))
else
  echo "SKIPPED schemathesis::postgres: TAKEDOWN_TEST_POSTGRES_URL is not set (source scripts/pg-start.sh)"
  skipped=$((skipped + 1))
fi
finish
