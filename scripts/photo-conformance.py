#!/usr/bin/env python3
"""PDQ conformance on real camera-sized photos: takedown versus the reference pipeline
(Pillow `Image.open(f).convert("RGB")` + PyPI `pdqhash`, Meta's C++ core).

    photo-conformance.py make DIR [--quick]     # build the photo set + DIR/reference.tsv
    photo-conformance.py compare DIR BIN [ARGS] # run `BIN hash --json ARGS` on it, print distances
    photo-conformance.py host-size DIR          # phone path: smallest host downscale within bound

Sources (all optional; absent ones are left out):
  * the photos and renderings of Debian's `ukui-wallpapers`, `gnome-backgrounds` and
    `desktop-base` (/usr/share/backgrounds, /usr/share/desktop-base,
    /usr/share/images/desktop-base), at least 1.5 MP. JPEGs are used as shipped; other
    formats are saved as JPEG (4:2:0) at qualities 80, 85, 90, 95 in turn;
  * camera-sized photos made from those: a 4:3 crop scaled to 12, 24 and 48 MP, with
    sensor-like noise (Gaussian, sigma 2.5 per channel), saved at quality 85-95 with
    4:2:0 chroma (`--quick`: 12 MP only).

The reference hash is of the pixels a viewer sees: EXIF orientation, when present, is
applied to the reference too (takedown applies it), so like is compared with like.
Only photos whose reference quality is >= 80 count (Meta's acceptance rule).
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pdqhash
from PIL import Image, ImageOps

ROOTS = ["/usr/share/backgrounds", "/usr/share/desktop-base", "/usr/share/images/desktop-base"]
MIN_PIXELS = 1_500_000
QUALITIES = [80, 85, 90, 95]
CAMERA = [(12, 4032, 3024), (24, 6000, 4000), (48, 8064, 6048)]


def ref_hash(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    return pdq_of(np.asarray(im.convert("RGB")))


def pdq_of(arr):
    h, q = pdqhash.compute(np.ascontiguousarray(arr))
    bits = "".join(str(int(b)) for b in h)
    return hex(int(bits, 2))[2:].zfill(64), int(q)


def sources():
    seen, out = set(), []
    for root in ROOTS:
        for f in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
            real = os.path.realpath(f)
            if real in seen or not os.path.isfile(real):
                continue
            if not real.lower().endswith((".jpg", ".jpeg", ".png", ".webp")):
                continue
            try:
                with Image.open(real) as im:
                    if im.width * im.height < MIN_PIXELS:
                        continue
            except Exception:
                continue
            seen.add(real)
            out.append(real)
    return out


def make(out, quick):
    os.makedirs(out, exist_ok=True)
    rows = []
    srcs = sources()
    for i, src in enumerate(srcs):
        base = os.path.splitext(os.path.basename(src))[0]
        parent = os.path.basename(os.path.dirname(os.path.dirname(src)))
        name = f"{parent}-{base}" if parent not in ("share", "backgrounds") else base
        with Image.open(src) as im:
            if im.format == "JPEG":
                dst = os.path.join(out, f"{name}.jpg")
                with open(src, "rb") as a, open(dst, "wb") as b:
                    b.write(a.read())
                rows.append(dst)
                continue
            q = QUALITIES[i % len(QUALITIES)]
            dst = os.path.join(out, f"{name}-q{q}.jpg")
            if not os.path.exists(dst):
                im.convert("RGB").save(dst, quality=q, subsampling="4:2:0")
            rows.append(dst)
    # Camera-sized photos: four detailed sources (reference quality 100 as shipped),
    # each at 12, 24 and 48 MP.
    rng = np.random.default_rng(9)
    camera = CAMERA[:1] if quick else CAMERA
    detailed = [s for s in srcs if ref_hash(s)[1] >= 100]
    for k, src in enumerate(detailed[:: max(1, len(detailed) // 4)][:4]):
        with Image.open(src) as im0:
            im0 = im0.convert("RGB")
        w0, h0 = im0.size
        cw, ch = (w0, w0 * 3 // 4) if w0 * 3 // 4 <= h0 else (h0 * 4 // 3, h0)
        crop = im0.crop(((w0 - cw) // 2, (h0 - ch) // 2, (w0 - cw) // 2 + cw, (h0 - ch) // 2 + ch))
        for mp, w, h in camera:
            q = [85, 90, 95][(k + mp) % 3]
            dst = os.path.join(out, f"camera{k}-{mp}mp-q{q}.jpg")
            if not os.path.exists(dst):
                big = np.asarray(crop.resize((w, h), Image.LANCZOS), dtype=np.int16)
                for y in range(0, h, 512):  # noise in bands keeps memory low
                    band = big[y : y + 512]
                    band += rng.normal(0, 2.5, band.shape).round().astype(np.int16)
                Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(
                    dst, quality=q, subsampling="4:2:0"
                )
                del big
            rows.append(dst)
    with open(os.path.join(out, "reference.tsv"), "w") as f:
        f.write("# file\twidth\theight\tquality\thash (Pillow convert('RGB') + pdqhash; EXIF orientation applied)\n")
        for dst in rows:
            h, q = ref_hash(dst)
            with Image.open(dst) as im:
                w, hh = ImageOps.exif_transpose(im).size
            f.write(f"{os.path.basename(dst)}\t{w}\t{hh}\t{q}\t{h}\n")
    print(f"{len(rows)} photos in {out}", file=sys.stderr)


def read_reference(d):
    rows = []
    for line in open(os.path.join(d, "reference.tsv")):
        if line.startswith("#") or not line.strip():
            continue
        f, w, h, q, hx = line.rstrip("\n").split("\t")
        rows.append((f, int(w), int(h), int(q), hx))
    return rows


def dist(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def compare(d, binary, extra):
    rows = [r for r in read_reference(d) if r[3] >= 80]
    files = [os.path.join(d, r[0]) for r in rows]
    out = subprocess.run([binary, "hash", "--json", *extra, *files], capture_output=True, text=True, check=True)
    ours = {}
    for line in out.stdout.splitlines():
        v = json.loads(line)
        ours[os.path.basename(v["path"])] = v["pdq"]
    ds = []
    for f, w, h, q, hx in rows:
        dd = dist(ours[f], hx)
        ds.append(dd)
        print(f"{f}\t{w}x{h}\t{w * h / 1e6:.1f} MP\tq{q}\t{dd}")
    print(f"N={len(ds)} (reference quality >= 80)  mean={np.mean(ds):.2f}  max={max(ds)}  over10={sum(x > 10 for x in ds)}")


def host_size(d, sides=None):
    """Emulate a phone host decoding to a smaller RGBA (Android ImageDecoder target size,
    iOS CGImageSource thumbnail) and find the smallest shorter side within the bound."""
    rows = [r for r in read_reference(d) if r[3] >= 80]
    sides = sides or [256, 384, 512, 768, 1024, 1536, 2048, 3072]
    methods = {"reduce": None, "box": Image.BOX, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS}
    res = {(m, s): [] for m in methods for s in sides}
    for f, w, h, q, hx in rows:
        im = ImageOps.exif_transpose(Image.open(os.path.join(d, f))).convert("RGB")
        for s in sides:
            k = s / min(im.size)
            if k >= 1:
                continue
            size = (max(1, round(im.width * k)), max(1, round(im.height * k)))
            for m, flt in methods.items():
                if m == "reduce":
                    f_ = max(1, int(1 / k))
                    small = im.reduce(f_)  # integer factor: at least s on the short side
                else:
                    small = im.resize(size, flt)
                hh, _ = pdq_of(np.asarray(small))
                res[(m, s)].append(dist(hh, hx))
                if os.environ.get("VERBOSE"):
                    print(f"{f}\t{m}\t{s}\t{dist(hh, hx)}", file=sys.stderr)
    print("method\tshorter side\tN\tmean\tmax")
    for m in methods:
        for s in sides:
            v = res[(m, s)]
            if v:
                print(f"{m}\t{s}\t{len(v)}\t{np.mean(v):.2f}\t{max(v)}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "make" and len(sys.argv) >= 3:
        make(sys.argv[2], "--quick" in sys.argv[3:])
    elif cmd == "compare" and len(sys.argv) >= 4:
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "host-size" and len(sys.argv) >= 3:
        host_size(sys.argv[2], [int(x) for x in sys.argv[3:]] or None)
    else:
        sys.exit(__doc__)
