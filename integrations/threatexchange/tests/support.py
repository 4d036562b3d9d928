"""Helpers for the tests: a real takedown-server on loopback, pictures, the CLI."""

import hashlib
import json
import os
import pathlib
import random
import secrets
import subprocess
import sys
import threading
import typing as t

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
REQUIRE = os.environ.get("TAKEDOWN_REQUIRE_PYTX") == "1"


def skip_or_fail(reason: str) -> t.NoReturn:
    """Skips with a clear message, or fails when TAKEDOWN_REQUIRE_PYTX=1."""
    if REQUIRE:
        pytest.fail(f"TAKEDOWN_REQUIRE_PYTX=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def server_bin() -> pathlib.Path:
    p = pathlib.Path(
        os.environ.get("TAKEDOWN_SERVER_BIN", REPO / "target/debug/takedown-server")
    )
    if not p.is_file():
        skip_or_fail(
            f"no takedown-server binary at {p} (cargo build -p takedown-server, "
            "or set TAKEDOWN_SERVER_BIN)"
        )
    return p


def threatexchange_cli() -> pathlib.Path:
    try:
        import threatexchange  # noqa: F401
        import takedown_threatexchange  # noqa: F401
    except ImportError as e:
        skip_or_fail(f"python-threatexchange or this package is not importable: {e}")
    p = pathlib.Path(sys.executable).parent / "threatexchange"
    if not p.is_file():
        skip_or_fail(f"no threatexchange command next to {sys.executable}")
    return p


class Service:
    """A takedown-server process with its own SQLite data dir and one platform key."""

    def __init__(self, data_dir: pathlib.Path) -> None:
        self.bin = server_bin()
        self.data_dir = data_dir
        out = subprocess.run(
            [str(self.bin), "platform", "--data-dir", str(data_dir), "create", "pytx"],
            capture_output=True,
            text=True,
            check=True,
        )
        self.key = out.stdout.strip().splitlines()[-1]
        self.log = open(data_dir / "server.log", "wb")
        self.proc = subprocess.Popen(
            [
                str(self.bin),
                "serve",
                "--data-dir",
                str(data_dir),
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={k: v for k, v in os.environ.items() if k != "TAKEDOWN_DATABASE_URL"},
        )
        line: t.List[bytes] = []
        reader = threading.Thread(
            target=lambda: line.append(self.proc.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(60)
        first = line[0].decode().strip() if line else ""
        if not first.startswith("listening on http://"):
            self.stop()
            raise RuntimeError(
                f"server did not start: {first!r}; log: "
                + (data_dir / "server.log").read_text(errors="replace")
            )
        self.url = first[len("listening on ") :]
        import requests  # a dependency of python-threatexchange

        self.http = requests.Session()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    # --- the teen's side --------------------------------------------------

    def create_case(self, items: t.List[dict]) -> dict:
        body = {
            "idempotency_key": secrets.token_urlsafe(24),
            "attestations": {
                "person_shown_was_under_18": True,
                "submitter": "person_shown",
            },
            "items": items,
        }
        r = self.http.post(self.url + "/v1/cases", json=body, timeout=300)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def status(self, case: dict) -> dict:
        r = self.http.get(
            f"{self.url}/v1/cases/{case['case_number']}",
            headers={"Authorization": f"Bearer {case['case_token']}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def withdraw_case(self, case: dict) -> t.List[int]:
        r = self.http.post(
            f"{self.url}/v1/cases/{case['case_number']}/withdraw",
            headers={"Authorization": f"Bearer {case['case_token']}"},
            timeout=300,
        )
        assert r.status_code == 200, r.text
        return r.json()["withdrawn_item_ids"]

    def withdraw_item(self, case: dict, item_id: int) -> None:
        r = self.http.post(
            f"{self.url}/v1/cases/{case['case_number']}/items/{item_id}/withdraw",
            headers={"Authorization": f"Bearer {case['case_token']}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text

    # --- the platform's side ----------------------------------------------

    def global_ids(self, items: t.List[dict]) -> t.List[int]:
        """The global ids platforms see for these (active) items, found by MD5.

        A submitter's answers carry per-case item numbers (1, 2, ...), never
        the global ids (ADR 0110)."""
        by_md5 = {fields[1]: item_id for item_id, fields in self.active_list().items()}
        return [by_md5[(it.get("image") or it.get("video"))["md5"]] for it in items]

    def active_list(self) -> t.Dict[int, tuple]:
        """The service's active list from the CSV export: item id -> fields."""
        r = self.http.get(
            self.url + "/v1/export/csv",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=600,
        )
        assert r.status_code == 200, r.text
        out = {}
        lines = r.text.splitlines()
        assert lines[0] == "item_id,kind,md5,sha256,pdq,quality"
        for line in lines[1:]:
            item_id, kind, md5, sha256, pdq, quality = line.split(",")
            out[int(item_id)] = (
                kind,
                md5,
                sha256,
                pdq or None,
                int(quality) if quality else None,
            )
        return out


class Cli:
    """The `threatexchange` command with its own HOME and state dir."""

    def __init__(self, home: pathlib.Path, api_key: str) -> None:
        self.exe = threatexchange_cli()
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(
            HOME=str(home),
            TX_STATEDIR=str(home / ".threatexchange"),
            TX_TAKEDOWN_API_KEY=api_key,
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [str(self.exe), *args], env=self.env, capture_output=True, text=True
        )
        if check:
            assert p.returncode == 0, f"threatexchange {args}: {p.stdout}{p.stderr}"
        return p

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(self.exe), *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def setup(self, collab: str, url: str, page_size: int = 10_000) -> None:
        self.run("config", "extensions", "add", "takedown_threatexchange")
        self.run(
            "config",
            "collab",
            "edit",
            "takedown",
            "--create",
            "--service-url",
            url,
            "--page-size",
            str(page_size),
            collab,
        )

    def state_file(self, collab: str) -> pathlib.Path:
        return self.home / ".threatexchange" / "fetched" / "takedown" / f"{collab}.state.pickle"

    def local_copy(self, collab: str) -> t.Tuple[dict, t.Any]:
        """The fetched records (item id -> record) and the stored checkpoint."""
        import pickle

        with self.state_file(collab).open("rb") as f:
            delta = pickle.load(f)
        return delta.updates, delta.checkpoint


# --- pictures ----------------------------------------------------------------


def picture(seed: int, size=(640, 480)):
    """A synthetic photo: smooth gradient, shapes and noise (PDQ quality well over 50)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    r = random.Random(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            (r.random() * xx / w + r.random() * yy / h) * 255 / 2
            + r.randrange(60),
            (r.random() * (w - xx) / w + r.random() * yy / h) * 255 / 2
            + r.randrange(60),
            (r.random() * xx / w + r.random() * (h - yy) / h) * 255 / 2
            + r.randrange(60),
        ],
        axis=2,
    )
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(25):
        x0, y0 = r.randrange(w - 40), r.randrange(h - 40)
        box = [x0, y0, x0 + r.randrange(30, w // 2), y0 + r.randrange(30, h // 2)]
        colour = tuple(r.randrange(256) for _ in range(3))
        (d.ellipse if r.random() < 0.5 else d.rectangle)(box, fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    noise = np.random.default_rng(seed).normal(0, 6, (h, w, 3))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def pdq_of(img) -> t.Tuple[str, int]:
    import numpy as np
    import pdqhash

    bits, quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return "{:064x}".format(int("".join(str(int(b)) for b in bits), 2)), int(quality)


def image_item(path: pathlib.Path) -> dict:
    """The fingerprints the phone would send for a picture file."""
    from PIL import Image

    data = path.read_bytes()
    pdq, quality = pdq_of(Image.open(path))
    return {
        "image": {
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "pdq": pdq,
            "quality": quality,
        }
    }


def random_image_item(rng: random.Random) -> dict:
    """Random, well-formed picture fingerprints (for large lists)."""
    return {
        "image": {
            "md5": "%032x" % rng.getrandbits(128),
            "sha256": "%064x" % rng.getrandbits(256),
            "pdq": "%064x" % rng.getrandbits(256),
            "quality": rng.randrange(101),
        }
    }


def dumps(o: t.Any) -> str:
    return json.dumps(o, sort_keys=True)
