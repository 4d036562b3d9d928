#!/usr/bin/env bash
# PDQ match index against FAISS (IndexBinaryFlat and IndexBinaryMultiHash 16×16 nflip 1),
# same hashes, same queries, one run; checks the result sets are identical and prints a table.
#   scripts/bench-index.sh                          # 1 M and 10 M stored hashes
#   scripts/bench-index.sh --sizes 100000 --queries 500
# Needs python3; installs numpy and faiss-cpu into $TAKEDOWN_VENV (default /opt/takedown-venv).
# 10 M takes a few minutes and about 3 GB of memory (FAISS MultiHash alone is 2.3 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${TAKEDOWN_VENV:-/opt/takedown-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import numpy, faiss" 2>/dev/null || "$VENV/bin/pip" install -q numpy faiss-cpu
cargo bench -q -p takedown-pdq-index --bench vs_faiss --no-run 2>/dev/null ||
  cargo bench -p takedown-pdq-index --bench vs_faiss --no-run
BIN=$(cargo bench -p takedown-pdq-index --bench vs_faiss --no-run --message-format=json 2>/dev/null |
  "$VENV/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "vs_faiss" and m.get("executable"):
        print(m["executable"])')
exec "$VENV/bin/python" scripts/bench_index_faiss.py --bench-bin "$BIN" "$@"
