#!/usr/bin/env bash
# PDQ speed and memory, side by side with the reference (Pillow + PyPI pdqhash) in one run.
#   scripts/bench-pdq.sh            # prints a Markdown table
# Needs python3 with venv (installs Pillow, numpy, pdqhash into $TAKEDOWN_VENV or
# /opt/takedown-venv). Uses a 12 MP phone photo from ../shared when present, else a
# synthetic one; the 48 MP photo is the 12 MP one upscaled.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${TAKEDOWN_VENV:-/opt/takedown-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import PIL, numpy, pdqhash" 2>/dev/null || "$VENV/bin/pip" install -q pdqhash Pillow numpy
PY="$VENV/bin/python"
work="${BENCH_DIR:-target/bench-pdq}"; mkdir -p "$work"
src=../shared/conformance/pdq/data/reg-test-input/exif-rotn/exif-rotn-1.jpg
"$PY" - "$src" "$work" <<'PYEOF'
import os, sys, numpy as np
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
if os.path.exists(src):
    im = Image.open(src).convert("RGB")
else:
    y, x = np.mgrid[0:3024, 0:4032]
    im = Image.fromarray(np.stack([(x * 7 + y) % 256, (x ^ y) % 256, (x * y // 97) % 256], -1).astype(np.uint8))
if not os.path.exists(f"{out}/photo-12mp.jpg"):
    im.save(f"{out}/photo-12mp.jpg", quality=92)
if not os.path.exists(f"{out}/photo-48mp.jpg"):
    im.resize((im.width * 2, im.height * 2), Image.LANCZOS).save(f"{out}/photo-48mp.jpg", quality=90)
PYEOF
cargo build --quiet --release -p takedown-fingerprint --example bench_pdq
B=target/release/examples/bench_pdq
ours=$("$B" time "$work/photo-12mp.jpg")
ref=$("$PY" scripts/bench_pdq_ref.py "$work/photo-12mp.jpg")
get() { echo "$1" | awk -F'\t' -v m="$2" '$2==m {print $3}'; }
o_all=$(get "$ours" "decode+hash (default)"); o_dec=$(get "$ours" "decode only"); o_hash=$(get "$ours" "hash only")
r_all=$(get "$ref" "decode+hash"); r_dec=$(get "$ref" "decode only"); r_hash=$(get "$ref" "hash only")
peak=$("$B" peak "$work/photo-48mp.jpg" | cut -f1)
peak_ref=$("$PY" -c "
import resource, numpy as np, pdqhash, sys
from PIL import Image
pdqhash.compute(np.asarray(Image.open(sys.argv[1]).convert('RGB')))
print('%.1f' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))" "$work/photo-48mp.jpg")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }
cat <<TABLE
| 12 MP JPEG (4032×3024), median of repeated runs | reference: Pillow + pdqhash | takedown (default path) | speed-up |
|---|---|---|---|
| decode + hash (takedown: also MD5 + SHA-256) | ${r_all} ms | ${o_all} ms | $(ratio "$r_all" "$o_all") |
| decode only (libjpeg-turbo both; reference: to a numpy array) | ${r_dec} ms | ${o_dec} ms | $(ratio "$r_dec" "$o_dec") |
| PDQ only, same RGB pixels | ${r_hash} ms | ${o_hash} ms | $(ratio "$r_hash" "$o_hash") |

| 48 MP JPEG (8064×6048), peak RSS of the whole process | MB |
|---|---|
| takedown, default path (rows streamed into PDQ) | ${peak} |
| reference: Pillow + pdqhash | ${peak_ref} |
TABLE
