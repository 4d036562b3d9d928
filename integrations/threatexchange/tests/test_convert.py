"""Entry -> record -> signal conversion, malformed entries, checkpoints, event ids."""

import http.server
import json
import threading
import typing as t

import pytest

from support import skip_or_fail

try:
    from threatexchange.exchanges import fetch_state as state
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal
    from threatexchange.signal_type.sha256 import VideoSHA256Signal

    from takedown_threatexchange import (
        PhotoMD5Signal,
        TakedownCheckpoint,
        TakedownCollabConfig,
        TakedownSignalExchangeAPI,
        event_id,
    )
    from takedown_threatexchange import exchange, wire
except ImportError as e:  # pragma: no cover
    IMPORT_ERROR: t.Optional[ImportError] = e
else:
    IMPORT_ERROR = None


@pytest.fixture(autouse=True)
def _needs_pytx():
    if IMPORT_ERROR is not None:
        skip_or_fail(f"python-threatexchange or this package is not importable: {IMPORT_ERROR}")


MD5 = "0123456789abcdef0123456789ABCDEF"
SHA = "ab" * 32
PDQ = "f0" * 32
PDQ2 = "0f" * 32


def img(seq, item_id, quality=90, **over):
    e = {
        "seq": seq,
        "op": "add",
        "item_id": item_id,
        "kind": "image",
        "md5": MD5,
        "sha256": SHA,
        "pdq": PDQ,
        "quality": quality,
    }
    e.update(over)
    return e


def vid(seq, item_id, frames=None, **over):
    e = {
        "seq": seq,
        "op": "add",
        "item_id": item_id,
        "kind": "video",
        "md5": "11" * 16,
        "sha256": "22" * 32,
        "frames": frames
        if frames is not None
        else [{"t": 0.0, "pdq": PDQ, "quality": 80}, {"t": 1.0, "pdq": PDQ2, "quality": 70}],
    }
    e.update(over)
    return e


def convert(records, types=None):
    types = types or [PdqSignal, PhotoMD5Signal, VideoMD5Signal, VideoSHA256Signal]
    collab = TakedownCollabConfig(name="t", service_url="http://x")
    return TakedownSignalExchangeAPI.naive_convert_to_signal_type(
        types, collab, {r.item_id: r for r in records}
    )


def test_picture_becomes_pdq_and_photo_md5_with_item_metadata():
    ch = wire.parse_entry(img(1, 7))
    assert ch.record.md5 == MD5.lower()
    out = convert([ch.record])
    assert set(out) == {PdqSignal, PhotoMD5Signal}
    assert out[PdqSignal][PDQ].item_ids == (7,)
    assert out[PdqSignal][PDQ].kinds == ("image",)
    assert out[PhotoMD5Signal][MD5.lower()].item_ids == (7,)
    assert "items=7" in str(out[PdqSignal][PDQ])


def test_pdq_only_from_quality_50():
    out = convert([wire.parse_entry(img(1, 1, quality=49)).record])
    assert PdqSignal not in out and PhotoMD5Signal in out
    out = convert([wire.parse_entry(img(1, 1, quality=50)).record])
    assert PDQ in out[PdqSignal]


def test_edge_cuts_are_more_pdq_signals_of_the_same_item():
    cuts = {
        "top_20": {"pdq": PDQ2, "quality": 80},
        "bottom_20": {"pdq": "AA" * 32, "quality": 49},
        "left_10": {"pdq": "bb" * 32, "quality": 90},
    }
    rec = wire.parse_entry(img(1, 7, edge_cuts=cuts)).record
    # Known keys in order, hashes lowercased, unknown keys ignored.
    assert rec.cuts == (("top_20", PDQ2, 80), ("bottom_20", "aa" * 32, 49))
    out = convert([rec])
    # The picture's PDQ and its top cut; the bottom cut is below quality 50.
    assert set(out[PdqSignal]) == {PDQ, PDQ2}
    assert out[PdqSignal][PDQ2].item_ids == (7,)
    # Older records (and entries without cuts) have none.
    assert wire.parse_entry(img(2, 8)).record.cuts is None
    assert set(convert([wire.Record(9, "image", MD5.lower(), SHA, PDQ, 90)])[PdqSignal]) == {PDQ}


def test_video_becomes_md5_sha256_and_vpdq_when_available():
    rec = wire.parse_entry(vid(1, 3)).record
    out = convert([rec])
    assert out[VideoMD5Signal]["11" * 16].item_ids == (3,)
    assert out[VideoSHA256Signal]["22" * 32].item_ids == (3,)
    assert PdqSignal not in out
    if exchange.VPDQSignal is None:
        pytest.skip("vpdq extension not importable; MD5/SHA-256 checked")
    out = convert([rec], [exchange.VPDQSignal])
    (sig,) = out[exchange.VPDQSignal]
    exchange.VPDQSignal.validate_signal_str(sig)
    assert json.loads(sig) == [f"{PDQ},80,0.0", f"{PDQ2},70,1.0"]


def test_shared_signal_lists_every_item():
    a = wire.parse_entry(img(1, 5)).record
    b = wire.parse_entry(img(2, 4)).record
    out = convert([a, b])
    assert out[PdqSignal][PDQ].item_ids == (4, 5)


def test_only_wanted_types():
    out = convert([wire.parse_entry(img(1, 1)).record], [PhotoMD5Signal])
    assert set(out) == {PhotoMD5Signal}


def test_withdrawal_needs_only_the_item():
    ch = wire.parse_entry({"seq": 9, "op": "withdraw", "item_id": 4, "md5": "bad"})
    assert ch == wire.Change(9, 4, None)


@pytest.mark.parametrize(
    "entry,field",
    [
        ("nope", "entry"),
        (img(0, 1), "seq"),
        (img(1, -1), "item_id"),
        (img(1, True), "item_id"),
        (img(1, 1, op="replace"), "op"),
        (img(1, 1, kind="audio"), "kind"),
        (img(1, 1, md5="xyz"), "md5"),
        (img(1, 1, md5=MD5 + "00"), "md5"),
        (img(1, 1, sha256=None), "sha256"),
        (img(1, 1, pdq="g" * 64), "pdq"),
        (img(1, 1, quality=101), "quality"),
        (img(1, 1, quality="90"), "quality"),
        (vid(1, 1, frames="x"), "frames"),
        (vid(1, 1, frames=[{"t": -1, "pdq": PDQ, "quality": 5}]), "frames[0].t"),
        (vid(1, 1, frames=[{"t": 0, "pdq": PDQ[:10], "quality": 5}]), "frames[0].pdq"),
        (vid(1, 1, frames=[{"t": 0, "pdq": PDQ}]), "frames[0].quality"),
        (img(1, 1, edge_cuts=[{"pdq": PDQ, "quality": 80}]), "edge_cuts"),
        (img(1, 1, edge_cuts={"top_20": PDQ}), "edge_cuts.top_20"),
        (img(1, 1, edge_cuts={"top_20": {"pdq": "g" * 64, "quality": 80}}), "edge_cuts.top_20.pdq"),
        (img(1, 1, edge_cuts={"bottom_20": {"pdq": PDQ, "quality": -1}}), "edge_cuts.bottom_20.quality"),
    ],
)
def test_malformed_entries_name_the_field_and_never_quote_fingerprints(entry, field):
    with pytest.raises(wire.EntryError) as ei:
        wire.parse_entry(entry)
    assert ei.value.field == field
    msg = str(ei.value)
    for fp in (MD5, MD5.lower(), SHA, PDQ, "g" * 64):
        assert fp not in msg


def test_page_keeps_good_entries_and_reports_bad_ones():
    body = {
        "entries": [img(1, 1), img(2, 2, md5="zz"), {"junk": 1}, vid(4, 3)],
        "next_cursor": 4,
        "has_more": False,
    }
    page = wire.parse_page(body, 0)
    assert [c.item_id for c in page.changes] == [1, 3]
    assert len(page.malformed) == 2
    assert page.next_cursor == 4


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"entries": {}, "next_cursor": 1, "has_more": False},
        {"entries": [], "next_cursor": 3, "has_more": False},  # rewinds (asked at 5)
        {"entries": [], "next_cursor": "9", "has_more": False},
        {"entries": [], "next_cursor": 5, "has_more": True},  # would loop forever
        {"entries": [], "next_cursor": 9},
    ],
)
def test_unusable_pages_raise(body):
    with pytest.raises(wire.PageError):
        wire.parse_page(body, 5)


def test_event_ids_are_stable_and_distinct():
    assert event_id(5, "matched") == event_id(5, "matched")
    ids = {
        event_id(5, "matched"),
        event_id(5, "reviewed_not_violating"),
        event_id(6, "matched"),
        event_id(5, "matched", "upload-1"),
        event_id(5, "matched", "upload-2"),
    }
    assert len(ids) == 5
    assert all(len(i) <= 128 and i.isprintable() and " " not in i for i in ids)


class _Pages(http.server.BaseHTTPRequestHandler):
    """A loopback server that serves crafted sync pages by cursor."""

    pages: t.Dict[int, t.Any] = {}
    seen: t.List[str] = []

    def do_GET(self):  # noqa: N802
        from urllib.parse import parse_qs, urlparse

        q = parse_qs(urlparse(self.path).query)
        type(self).seen.append(self.headers.get("Authorization", ""))
        body = json.dumps(type(self).pages[int(q["cursor"][0])]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_fetch_skips_malformed_entries_and_never_stalls(caplog):
    # The real service never sends a malformed entry, so a crafted one comes
    # from a tiny loopback server standing in for a buggy or hostile peer.
    _Pages.pages = {
        0: {"entries": [img(1, 1), img(2, 2, pdq="nothex")], "next_cursor": 2, "has_more": True},
        2: {"entries": ["garbage", img(4, 4, quality=None)], "next_cursor": 4, "has_more": True},
        4: {
            "entries": [vid(5, 5), {"seq": 6, "op": "withdraw", "item_id": 1}],
            "next_cursor": 6,
            "has_more": False,
        },
    }
    _Pages.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        collab = TakedownCollabConfig(
            name="t", service_url=f"http://127.0.0.1:{srv.server_address[1]}", page_size=2
        )
        api = TakedownSignalExchangeAPI(collab, "k3y")
        deltas = list(api.fetch_iter([], None))
    finally:
        srv.shutdown()
    assert [d.checkpoint.cursor for d in deltas] == [2, 4, 6]
    merged: dict = {}
    for d in deltas:
        TakedownSignalExchangeAPI.naive_fetch_merge(merged, d.updates)
    assert sorted(merged) == [5]  # 1 withdrawn, 2 and 4 malformed
    assert api.malformed_entries == 3
    assert all(h == "Bearer k3y" for h in _Pages.seen)
    assert "nothex" not in caplog.text and PDQ not in caplog.text
    # Resuming from the middle asks from that cursor on.
    _Pages.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        collab.service_url = f"http://127.0.0.1:{srv.server_address[1]}"
        api = TakedownSignalExchangeAPI(collab, "k3y")
        rest = list(api.fetch_iter([], TakedownCheckpoint(4)))
    finally:
        srv.shutdown()
    assert [d.checkpoint.cursor for d in rest] == [6]
    assert rest[0].updates == {1: None, 5: deltas[2].updates[5]}


def test_checkpoint_never_goes_stale():
    assert not TakedownCheckpoint(10).is_stale()
    assert isinstance(TakedownCheckpoint(10), state.FetchCheckpointBase)
