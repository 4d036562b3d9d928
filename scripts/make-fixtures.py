#!/usr/bin/env python3
"""Make the committed image fixtures and record reference PDQ values for them.

Deterministic synthetic pictures (no third-party images), saved in every format the
core decodes, plus the reference hash of each: Pillow's `convert("RGB")` pixels hashed
by the PyPI `pdqhash` package (Meta's C++ core). Run once by a developer; the outputs
are committed (tests/fixtures/images/ and tests/fixtures/reference-pdq.tsv) so tests
need neither Python nor ../shared.

    /opt/takedown-venv/bin/python scripts/make-fixtures.py
"""
import io
import os
import numpy as np
import pdqhash
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
IMG = os.path.join(OUT, "images")
os.makedirs(IMG, exist_ok=True)
rng = np.random.RandomState(20261128)


def scene(w, h, seed):
    r = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 128 + 100 * np.sin(x / (w / 3.1) + seed)
    img[..., 1] = 128 + 90 * np.cos(y / (h / 2.3) - seed)
    img[..., 2] = 255 * (x + y) / (w + h)
    for _ in range(6):  # a few shapes so the picture has structure
        cx, cy, rad = r.randint(0, w), r.randint(0, h), r.randint(max(2, w // 12), max(3, w // 4))
        mask = (x - cx) ** 2 + (y - cy) ** 2 < rad ** 2
        img[mask] = r.randint(0, 256, 3)
    img += r.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


rows = []


def record(name, note):
    im = Image.open(os.path.join(IMG, name))
    arr = np.asarray(im.convert("RGB"))
    h, q = pdqhash.compute(arr)
    bits = "".join(str(int(b)) for b in h)
    rows.append((name, im.size[0], im.size[1], im.mode, q, hex(int(bits, 2))[2:].zfill(64), note))


base = scene(320, 240, 1)
base.save(os.path.join(IMG, "scene-320x240.png"))
record("scene-320x240.png", "exact")
for (w, h, seed) in [(5, 5, 2), (64, 64, 3), (127, 97, 4), (7, 300, 5), (1000, 9, 6)]:
    n = f"scene-{w}x{h}.png"
    scene(w, h, seed).save(os.path.join(IMG, n))
    record(n, "exact")
Image.new("RGB", (4, 4), (10, 200, 30)).save(os.path.join(IMG, "tiny-4x4.png"))
record("tiny-4x4.png", "exact")
Image.new("RGB", (80, 60), (128, 128, 128)).save(os.path.join(IMG, "flat-80x60.png"))
record("flat-80x60.png", "exact")

# The same picture in other formats and pixel modes: hashes must stay close to the
# RGB original (the pixel policy, docs/adr/0003-pixel-policy.md).
base.convert("L").save(os.path.join(IMG, "scene-grey.png")); record("scene-grey.png", "exact")
base.convert("LA").save(os.path.join(IMG, "scene-grey-alpha.png")); record("scene-grey-alpha.png", "exact")
base.convert("P").save(os.path.join(IMG, "scene-palette.png")); record("scene-palette.png", "exact")
rgba = base.convert("RGBA"); rgba.putalpha(Image.linear_gradient("L").resize(base.size))
rgba.save(os.path.join(IMG, "scene-alpha.png")); record("scene-alpha.png", "exact")
g16 = (np.asarray(base.convert("L")).astype(np.uint16) * 257)
Image.fromarray(g16).save(os.path.join(IMG, "scene-grey16.png")); record("scene-grey16.png", "policy: scaled, not clipped")
base.save(os.path.join(IMG, "scene.jpg"), quality=92); record("scene.jpg", "decoder")
base.save(os.path.join(IMG, "scene-progressive.jpg"), quality=85, progressive=True); record("scene-progressive.jpg", "decoder")
base.convert("CMYK").save(os.path.join(IMG, "scene-cmyk.jpg"), quality=95); record("scene-cmyk.jpg", "decoder")
base.convert("L").save(os.path.join(IMG, "scene-grey.jpg"), quality=92); record("scene-grey.jpg", "decoder")
base.save(os.path.join(IMG, "scene.gif")); record("scene.gif", "exact")
base.save(os.path.join(IMG, "scene.bmp")); record("scene.bmp", "exact")
base.save(os.path.join(IMG, "scene.tiff")); record("scene.tiff", "exact")
base.save(os.path.join(IMG, "scene.webp"), lossless=True); record("scene.webp", "exact")
# EXIF orientation 6 (rotate 90° clockwise to view): stored sideways.
side = base.transpose(Image.Transpose.ROTATE_90)
exif = Image.Exif(); exif[0x0112] = 6
side.save(os.path.join(IMG, "scene-exif6.jpg"), quality=92, exif=exif.tobytes()); record("scene-exif6.jpg", "decoder; stored sideways")

with open(os.path.join(OUT, "reference-pdq.tsv"), "w") as f:
    f.write("# Reference PDQ (PyPI pdqhash = Meta's C++ core) of Pillow convert('RGB') pixels. Made by scripts/make-fixtures.py.\n")
    f.write("file\twidth\theight\tmode\tquality\thash\tnote\n")
    for r in rows:
        f.write("\t".join(str(c) for c in r) + "\n")
print(f"{len(rows)} fixtures")
