#!/usr/bin/env bash
# Source it: starts a real hash-list service on loopback (fresh SQLite data dir) with
# one platform key, exports TAKEDOWN_TEST_SERVICE_URL and TAKEDOWN_TEST_PLATFORM_KEY,
# and stops the service when the sourcing shell exits.
cargo build --quiet -p takedown-server
TAKEDOWN_SRV_DIR=$(mktemp -d)
TAKEDOWN_TEST_PLATFORM_KEY=$(target/debug/takedown-server platform --data-dir "$TAKEDOWN_SRV_DIR" create binding-tests)
target/debug/takedown-server serve --data-dir "$TAKEDOWN_SRV_DIR" --listen 127.0.0.1:0 --rate-limit 0 \
  >"$TAKEDOWN_SRV_DIR/out" 2>"$TAKEDOWN_SRV_DIR/log" &
TAKEDOWN_SRV_PID=$!
trap 'kill $TAKEDOWN_SRV_PID 2>/dev/null; wait $TAKEDOWN_SRV_PID 2>/dev/null; rm -rf "$TAKEDOWN_SRV_DIR"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$TAKEDOWN_SRV_DIR/out" 2>/dev/null && break; sleep 0.1; done
TAKEDOWN_TEST_SERVICE_URL=$(sed -n 's/^listening on //p' "$TAKEDOWN_SRV_DIR/out" | head -1)
if [ -z "$TAKEDOWN_TEST_SERVICE_URL" ]; then
  echo "test-service: the service did not start" >&2; cat "$TAKEDOWN_SRV_DIR/log" >&2
  return 1 2>/dev/null || exit 1
fi
export TAKEDOWN_TEST_SERVICE_URL TAKEDOWN_TEST_PLATFORM_KEY
