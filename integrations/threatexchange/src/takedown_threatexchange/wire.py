"""
The service's sync entries, checked one by one.

`GET /v1/sync` answers `{"entries": [...], "next_cursor": N, "has_more": bool}`
(see `server/openapi.json`). A page that is not of that shape is a transport
problem and raises :class:`PageError`; a single entry that does not follow the
schema is reported as :class:`EntryError` so that the caller can log it and go
on with the rest of the page.

Errors never quote fingerprints: they name the entry (seq, item id when
readable) and the field.
"""

import re
import typing as t

# Same rules as the service (protocol/src/lib.rs).
PDQ_MIN_QUALITY = 50

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class PageError(Exception):
    """A sync page that cannot be used at all (the fetch stops and can be retried)."""


class EntryError(ValueError):
    """One entry that does not follow the schema (it is skipped)."""

    def __init__(self, seq: t.Any, item_id: t.Any, field: str, problem: str) -> None:
        self.seq = seq if isinstance(seq, int) else None
        self.item_id = item_id if isinstance(item_id, int) else None
        self.field = field
        self.problem = problem
        super().__init__(
            f"sync entry seq={self.seq} item_id={self.item_id}: {field}: {problem}"
        )


class Frame(t.NamedTuple):
    """One vPDQ frame of a video."""

    t: float
    pdq: str
    quality: int


class Record(t.NamedTuple):
    """
    One active item of the list, as the platform's local copy keeps it.

    Fingerprints are lowercase hex. `pdq`/`quality` are set for pictures,
    `frames` for videos.
    """

    item_id: int
    kind: str  # "image" or "video"
    md5: str
    sha256: str
    pdq: t.Optional[str] = None
    quality: t.Optional[int] = None
    frames: t.Optional[t.Tuple[Frame, ...]] = None
    # Edge cuts of a picture (ADR 0410): (wire key such as "bottom_20", PDQ,
    # quality). Records saved before cuts existed read as None.
    cuts: t.Optional[t.Tuple[t.Tuple[str, str, int], ...]] = None


class Change(t.NamedTuple):
    """A parsed sync entry: `record` is None for a withdrawal."""

    seq: int
    item_id: int
    record: t.Optional[Record]


def _is_int(v: t.Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _hex(entry: t.Mapping[str, t.Any], name: str, pattern: t.Pattern[str]) -> str:
    v = entry.get(name)
    if not isinstance(v, str) or pattern.fullmatch(v) is None:
        chars = 32 if pattern is _HEX32 else 64
        raise EntryError(
            entry.get("seq"), entry.get("item_id"), name, f"expected {chars} hex characters"
        )
    return v.lower()


def _quality(entry: t.Mapping[str, t.Any], v: t.Any, name: str) -> int:
    if not _is_int(v) or not 0 <= v <= 100:
        raise EntryError(
            entry.get("seq"), entry.get("item_id"), name, "expected 0..100"
        )
    return int(v)


# The edge cuts this reader knows (the service lists only these today); other
# keys are ignored, so a later service may list more without breaking the fetch.
EDGE_CUT_KEYS = ("top_20", "bottom_20")


def _edge_cuts(entry: t.Mapping[str, t.Any]) -> t.Optional[t.Tuple[t.Tuple[str, str, int], ...]]:
    raw = entry.get("edge_cuts")
    if raw is None:
        return None
    seq, item_id = entry.get("seq"), entry.get("item_id")
    if not isinstance(raw, dict):
        raise EntryError(seq, item_id, "edge_cuts", "expected an object")
    cuts = []
    for key in EDGE_CUT_KEYS:
        c = raw.get(key)
        if c is None:
            continue
        name = f"edge_cuts.{key}"
        if not isinstance(c, dict):
            raise EntryError(seq, item_id, name, "not an object")
        pdq = c.get("pdq")
        if not isinstance(pdq, str) or _HEX64.fullmatch(pdq) is None:
            raise EntryError(seq, item_id, f"{name}.pdq", "expected 64 hex")
        cuts.append((key, pdq.lower(), _quality(entry, c.get("quality"), f"{name}.quality")))
    return tuple(cuts) or None


def parse_entry(entry: t.Any) -> Change:
    """Checks one sync entry; raises :class:`EntryError` when it is malformed."""
    if not isinstance(entry, dict):
        raise EntryError(None, None, "entry", "not an object")
    seq = entry.get("seq")
    item_id = entry.get("item_id")
    if not _is_int(seq) or seq <= 0:
        raise EntryError(seq, item_id, "seq", "expected a positive integer")
    if not _is_int(item_id) or item_id <= 0:
        raise EntryError(seq, item_id, "item_id", "expected a positive integer")
    op = entry.get("op")
    if op == "withdraw":
        # A withdrawal needs nothing but the item: never keep a withdrawn item
        # because the rest of its entry is odd.
        return Change(seq, item_id, None)
    if op != "add":
        raise EntryError(seq, item_id, "op", "expected add or withdraw")
    kind = entry.get("kind")
    md5 = _hex(entry, "md5", _HEX32)
    sha256 = _hex(entry, "sha256", _HEX64)
    if kind == "image":
        pdq = _hex(entry, "pdq", _HEX64)
        quality = _quality(entry, entry.get("quality"), "quality")
        cuts = _edge_cuts(entry)
        return Change(
            seq, item_id, Record(item_id, kind, md5, sha256, pdq, quality, cuts=cuts)
        )
    if kind == "video":
        raw = entry.get("frames")
        if not isinstance(raw, list):
            raise EntryError(seq, item_id, "frames", "expected a list")
        frames = []
        for i, f in enumerate(raw):
            name = f"frames[{i}]"
            if not isinstance(f, dict):
                raise EntryError(seq, item_id, name, "not an object")
            ts = f.get("t")
            if (
                isinstance(ts, bool)
                or not isinstance(ts, (int, float))
                or not ts >= 0
                or ts == float("inf")
            ):
                raise EntryError(seq, item_id, f"{name}.t", "expected seconds >= 0")
            pdq = f.get("pdq")
            if not isinstance(pdq, str) or _HEX64.fullmatch(pdq) is None:
                raise EntryError(seq, item_id, f"{name}.pdq", "expected 64 hex")
            q = _quality(entry, f.get("quality"), f"{name}.quality")
            frames.append(Frame(float(ts), pdq.lower(), q))
        return Change(
            seq,
            item_id,
            Record(item_id, kind, md5, sha256, frames=tuple(frames)),
        )
    raise EntryError(seq, item_id, "kind", "expected image or video")


class Page(t.NamedTuple):
    """A checked sync page."""

    changes: t.List[Change]
    malformed: t.List[EntryError]
    next_cursor: int
    has_more: bool


def parse_page(body: t.Any, cursor: int) -> Page:
    """
    Checks a sync page asked for with `cursor`.

    Malformed entries are returned in `malformed` (never raised); the page as
    a whole must be well-formed and must not move the cursor backwards.
    """
    if not isinstance(body, dict):
        raise PageError("sync answer is not a JSON object")
    entries = body.get("entries")
    next_cursor = body.get("next_cursor")
    has_more = body.get("has_more")
    if not isinstance(entries, list):
        raise PageError("sync answer has no entries list")
    if not _is_int(next_cursor) or next_cursor < cursor:
        raise PageError("sync answer has a missing or rewound next_cursor")
    if not isinstance(has_more, bool):
        raise PageError("sync answer has no has_more flag")
    if has_more and next_cursor == cursor:
        raise PageError("sync answer says has_more but does not advance")
    changes: t.List[Change] = []
    malformed: t.List[EntryError] = []
    for e in entries:
        try:
            changes.append(parse_entry(e))
        except EntryError as err:
            malformed.append(err)
    return Page(changes, malformed, next_cursor, has_more)
