#!/usr/bin/env bash
# Full fetch of a large list into python-threatexchange, two ways, in one run:
#   1. this repository's extension (delta sync from cursor 0, `threatexchange fetch`)
#   2. the existing file export (GET /v1/export/threatexchange to a file), fetched
#      by python-threatexchange's own `local_file` exchange
#   scripts/bench-pytx-fetch.sh [ENTRIES]     (default 1000000)
# Needs the venv ($TAKEDOWN_VENV, default /opt/takedown-venv) with the package
# installed (scripts/pytx-tests.sh installs it). Prints a table; the list is
# random picture fingerprints (PDQ quality uniform 0..100), made through the
# public API 1000 items per request. Wall-clock times, one run each.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
VENV=${TAKEDOWN_VENV:-/opt/takedown-venv}
PY="$VENV/bin/python"
TX="$VENV/bin/threatexchange"
if [ -n "${TAKEDOWN_SERVER_BIN:-}" ]; then
  BIN=$TAKEDOWN_SERVER_BIN
else
  cargo build -q -p takedown-server
  BIN=$PWD/target/debug/takedown-server
fi

work=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; rm -rf "$work"' EXIT
KEY=$("$BIN" platform --data-dir "$work/data" create bench | tail -1)
"$BIN" serve --data-dir "$work/data" --listen 127.0.0.1:0 --rate-limit 0 \
  >"$work/stdout" 2>"$work/server.log" &
srv=$!
for _ in $(seq 600); do grep -q '^listening on' "$work/stdout" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$work/stdout" | head -1)
[ -n "$URL" ] || { echo "server did not start"; cat "$work/server.log"; exit 1; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "populating $N entries through POST /v1/cases ..." >&2
t0=$(now)
"$PY" - "$URL" "$N" <<'EOF'
import concurrent.futures as cf, random, secrets, sys, requests
url, n = sys.argv[1], int(sys.argv[2])
def case(seed):
    rng = random.Random(seed)
    items = [{"image": {"md5": "%032x" % rng.getrandbits(128),
                        "sha256": "%064x" % rng.getrandbits(256),
                        "pdq": "%064x" % rng.getrandbits(256),
                        "quality": rng.randrange(101)}} for _ in range(1000)]
    body = {"idempotency_key": secrets.token_urlsafe(24),
            "attestations": {"person_shown_was_under_18": True, "submitter": "person_shown"},
            "items": items}
    r = requests.post(url + "/v1/cases", json=body, timeout=600)
    r.raise_for_status()
with cf.ThreadPoolExecutor(4) as ex:
    list(ex.map(case, range(n // 1000)))
EOF
t1=$(now)
populate=$(secs "$t0" "$t1")

# 0. The service alone: every sync page fetched with curl, nothing parsed.
t0=$(now)
"$PY" - "$URL" "$KEY" <<'EOF2'
import json, subprocess, sys
url, key = sys.argv[1], sys.argv[2]
cursor, more = 0, True
while more:
    out = subprocess.run(["curl", "-sf", "-H", f"Authorization: Bearer {key}",
                          f"{url}/v1/sync?cursor={cursor}&limit=50000"],
                         check=True, capture_output=True).stdout
    tail = out[-200:].decode()  # next_cursor/has_more close the object
    cursor = int(tail.split('"next_cursor":')[1].split(",")[0].split("}")[0])
    more = '"has_more":true' in tail
EOF2
t1=$(now)
raw_sync=$(secs "$t0" "$t1")

# 1. The extension.
export HOME="$work/ext" TX_STATEDIR="$work/ext/.tx" TX_TAKEDOWN_API_KEY="$KEY"
mkdir -p "$HOME"
"$TX" config extensions add takedown_threatexchange
"$TX" config collab edit takedown --create --service-url "$URL" --page-size 50000 bench
t0=$(now); "$TX" fetch --skip-index-rebuild 2>"$work/ext.log"; t1=$(now)
ext_fetch=$(secs "$t0" "$t1")
t0=$(now); "$TX" dataset --rebuild-indices >/dev/null 2>>"$work/ext.log"; t1=$(now)
ext_index=$(secs "$t0" "$t1")
ext_pdq=$("$PY" -c "
import pickle,sys; d=pickle.load(open('$TX_STATEDIR/fetched/takedown/bench.state.pickle','rb'))
print(len(d.updates), sum(1 for r in d.updates.values() if r.quality is not None and r.quality >= 50))")

# 2. The file export + local_file.
export HOME="$work/file" TX_STATEDIR="$work/file/.tx"
mkdir -p "$HOME"
t0=$(now)
curl -sf -H "Authorization: Bearer $KEY" "$URL/v1/export/threatexchange" -o "$work/list.txt"
t1=$(now)
download=$(secs "$t0" "$t1")
"$TX" config collab edit local_file --create --filename "$work/list.txt" bench
t0=$(now); "$TX" fetch --skip-index-rebuild 2>"$work/file.log"; t1=$(now)
file_fetch=$(secs "$t0" "$t1")
t0=$(now); "$TX" dataset --rebuild-indices >/dev/null 2>>"$work/file.log"; t1=$(now)
file_index=$(secs "$t0" "$t1")
lines=$(wc -l <"$work/list.txt")

total_file=$(awk -v a="$download" -v b="$file_fetch" 'BEGIN { printf "%.1f", a + b }')
echo
echo "list: $N entries (records, PDQ q>=50: $ext_pdq; export lines: $lines); populate: ${populate} s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-52s | %10s | %14s |\n' "path" "fetch (s)" "+ index (s)"
printf '| %-52s | %10s | %14s |\n' "----" "---:" "---:"
printf '| %-52s | %10s | %14s |\n' "service alone: all sync pages by curl (no parsing)" "$raw_sync" ""
printf '| %-52s | %10s | %14s |\n' "extension: threatexchange fetch (sync, pages 50000)" "$ext_fetch" "$ext_index"
printf '| %-52s | %10s | %14s |\n' "file export: download /v1/export/threatexchange" "$download" ""
printf '| %-52s | %10s | %14s |\n' "file export: threatexchange fetch (local_file)" "$file_fetch" "$file_index"
printf '| %-52s | %10s | %14s |\n' "file export: download + fetch" "$total_file" ""
