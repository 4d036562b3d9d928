"""
The Takedown hash list as a python-threatexchange signal exchange.

* Fetch is the service's delta sync (`GET /v1/sync?cursor=N`): one
  `FetchDelta` per page, keyed by item id, so a withdrawal (`op: withdraw`)
  is an update with value `None`, which deletes the item from the local copy.
  The checkpoint is the cursor after the page; the library stores it with the
  merged records, so an interrupted fetch resumes where its last flush ended.
* Records are converted to signals on demand (`naive_convert_to_signal_type`):
  `pdq` for pictures whose PDQ quality is at least 50, `photo_md5` (added by
  this extension) for every picture, `video_md5` and `video_sha256` for
  videos, and `vpdq` when the vPDQ extension is importable.
* Feedback (`report_opinion`, `report_seen`, `report_true_positive`,
  `report_false_positive`, `report_removed`) goes to `POST /v1/feedback`
  with event ids derived from (item, outcome), so a retry is counted once.
"""

import hashlib
import logging
import os
import pathlib
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType

from takedown_threatexchange import wire
from takedown_threatexchange.signals import PhotoMD5Signal

try:  # The vPDQ extension needs the `vpdq` wheel; without it videos get MD5/SHA-256.
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.extensions.vpdq.vpdq_util import (
        VpdqCompactFeature,
        vpdq_to_json,
    )
except ImportError:  # pragma: no cover - depends on the installation
    VPDQSignal = None  # type: ignore[assignment,misc]

API_NAME = "takedown"
log = logging.getLogger("takedown_threatexchange")

OUTCOME_MATCHED = "matched"
OUTCOME_REMOVED = "removed"
OUTCOME_NOT_VIOLATING = "reviewed_not_violating"
MAX_FEEDBACK_EVENTS = 1000
MAX_PAGE_SIZE = 50_000


@dataclass
class TakedownCheckpoint(state.FetchCheckpointBase):
    """The service cursor: every change with `seq <= cursor` is in the local copy."""

    cursor: int
    fetched_at: int = 0

    def is_stale(self) -> bool:
        # Cursors never expire: the change log keeps every change.
        return False

    def get_progress_timestamp(self) -> t.Optional[int]:
        return None


@dataclass
class _RequiredFields:
    service_url: str = field(
        metadata={"help": "base URL of the Takedown service, e.g. https://takedown.example"}
    )


@dataclass
class TakedownCollabConfig(CollaborationConfigWithDefaults, _RequiredFields):
    """A collaboration that syncs one Takedown service's list."""

    api: str = field(init=False, default=API_NAME)
    page_size: int = field(
        default=10_000,
        metadata={"help": "sync page size (1..50000)", "metavar": "N"},
    )


@dataclass
class TakedownCredentials(auth.CredentialHelper):
    """The platform API key (`takedown-server platform create NAME` prints it)."""

    ENV_VARIABLE: t.ClassVar[str] = "TX_TAKEDOWN_API_KEY"
    FILE_NAME: t.ClassVar[str] = "~/.tx_takedown_api_key"

    api_key: str = field(metadata={"help": "platform API key of the Takedown service"})

    @classmethod
    def _from_str(cls, s: str) -> "TakedownCredentials":
        return cls(s.strip())

    def _are_valid(self) -> bool:
        k = self.api_key
        return bool(k) and all(33 <= ord(c) <= 126 for c in k)

    def __repr__(self) -> str:  # never print the key
        return "TakedownCredentials(api_key=...)"


@dataclass
class TakedownOpinion(state.SignalOpinion):
    """An opinion that knows which list items it is about."""

    item_ids: t.Tuple[int, ...] = ()


@dataclass
class TakedownSignalMetadata(state.FetchedSignalMetadata):
    """Which list items carry a signal (usually one)."""

    item_ids: t.Tuple[int, ...]
    kinds: t.Tuple[str, ...]

    def get_as_opinions(self) -> t.Sequence[TakedownOpinion]:
        # Submitted by the person shown (or a guardian) and not reviewed by a
        # moderator, like StopNCII cases: a lead to review, not a verdict.
        return [
            TakedownOpinion(
                False,
                state.SignalOpinionCategory.INVESTIGATION_SEED,
                set(),
                self.item_ids,
            )
        ]

    def __str__(self) -> str:
        ids = ",".join(str(i) for i in self.item_ids)
        return f"{self.get_as_aggregate_opinion().category.name} items={ids}"


def record_signals(
    rec: wire.Record, wanted: t.Container[t.Type[SignalType]]
) -> t.Iterator[t.Tuple[t.Type[SignalType], str]]:
    """The signals one record contributes, restricted to the wanted types."""
    if rec.kind == "image":
        if (
            PdqSignal in wanted
            and rec.pdq is not None
            and rec.quality is not None
            and rec.quality >= wire.PDQ_MIN_QUALITY
        ):
            yield PdqSignal, rec.pdq
        if PdqSignal in wanted:
            # The picture with its top or bottom 20 % cut off (ADR 0410): a
            # re-upload cropped there matches the item. (A caption bar over
            # the edge needs the query cut too, which the Takedown kit makes
            # and HMA does not.)
            for _key, pdq, quality in rec.cuts or ():
                if quality >= wire.PDQ_MIN_QUALITY:
                    yield PdqSignal, pdq
        if PhotoMD5Signal in wanted:
            yield PhotoMD5Signal, rec.md5
    elif rec.kind == "video":
        if VideoMD5Signal in wanted:
            yield VideoMD5Signal, rec.md5
        if VideoSHA256Signal in wanted:
            yield VideoSHA256Signal, rec.sha256
        if VPDQSignal is not None and VPDQSignal in wanted and rec.frames:
            feats = [VpdqCompactFeature(f.pdq, f.quality, f.t) for f in rec.frames]
            yield VPDQSignal, vpdq_to_json(feats)


def event_id(item_id: int, outcome: str, reference: t.Optional[str] = None) -> str:
    """
    The feedback event id for (item, outcome[, platform reference]).

    Deterministic, so re-sending the same report is a duplicate the service
    counts once. Without a reference, a platform reports each outcome at most
    once per item.
    """
    base = f"pytx-{outcome}-{item_id}"
    if reference:
        base += "-" + hashlib.sha256(reference.encode()).hexdigest()[:24]
    return base


class TakedownSignalExchangeAPI(
    auth.SignalExchangeWithAuth[TakedownCollabConfig, TakedownCredentials],
    SignalExchangeAPI[
        TakedownCollabConfig,
        TakedownCheckpoint,
        TakedownSignalMetadata,
        int,
        wire.Record,
    ],
):
    """Delta sync of a Takedown service's list, plus feedback."""

    #: Seconds to wait for one HTTP answer.
    TIMEOUT = 120.0
    #: Tries for one request on a connection error, 429 or 5xx.
    TRIES = 4

    def __init__(
        self,
        collab: TakedownCollabConfig,
        api_key: str,
        session: t.Optional[requests.Session] = None,
        local_lookup: t.Optional[
            t.Callable[[t.Type[SignalType], str], t.Sequence[int]]
        ] = None,
    ) -> None:
        self.collab = collab
        self._key = api_key
        self._http = session or requests.Session()
        self._base = collab.service_url.rstrip("/")
        self._local_lookup = local_lookup
        self.malformed_entries = 0

    # --- identity and classes -------------------------------------------------

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> t.Type[TakedownCollabConfig]:
        return TakedownCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> t.Type[TakedownCheckpoint]:
        return TakedownCheckpoint

    @staticmethod
    def get_record_cls() -> t.Type[TakedownSignalMetadata]:
        return TakedownSignalMetadata

    @staticmethod
    def get_credential_cls() -> t.Type[TakedownCredentials]:
        return TakedownCredentials

    @classmethod
    def for_collab(
        cls,
        collab: TakedownCollabConfig,
        credentials: t.Optional[TakedownCredentials] = None,
    ) -> "TakedownSignalExchangeAPI":
        credentials = credentials or TakedownCredentials.get(cls)
        return cls(collab, credentials.api_key)

    # --- HTTP -----------------------------------------------------------------

    def _request(self, method: str, path: str, **kw: t.Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._key}"}
        delay = 0.5
        for attempt in range(self.TRIES):
            last = attempt == self.TRIES - 1
            try:
                resp = self._http.request(
                    method,
                    self._base + path,
                    headers=headers,
                    timeout=self.TIMEOUT,
                    **kw,
                )
            except requests.ConnectionError:
                if last:
                    raise
                log.warning("takedown: connection failed, retrying")
            else:
                if resp.status_code == 429 or resp.status_code >= 500:
                    if last:
                        resp.raise_for_status()
                    retry_after = resp.headers.get("Retry-After", "")
                    if retry_after.isdigit():
                        delay = max(delay, min(float(retry_after), 60.0))
                    log.warning("takedown: HTTP %d, retrying", resp.status_code)
                elif resp.status_code in (401, 403):
                    raise auth.SignalExchangeAPIInvalidAuthException(
                        type(self), "the service refused the API key"
                    )
                else:
                    resp.raise_for_status()
                    return resp
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    # --- fetch ----------------------------------------------------------------

    def _get_page(self, cursor: int, limit: int) -> t.Any:
        resp = self._request("GET", "/v1/sync", params={"cursor": cursor, "limit": limit})
        try:
            return resp.json()
        except ValueError as e:
            raise wire.PageError("sync answer is not JSON") from e

    def fetch_iter(
        self,
        _supported_signal_types: t.Sequence[t.Type[SignalType]],
        checkpoint: t.Optional[TakedownCheckpoint],
    ) -> t.Iterator[state.FetchDelta[int, wire.Record, TakedownCheckpoint]]:
        cursor = 0 if checkpoint is None else checkpoint.cursor
        limit = max(1, min(int(self.collab.page_size), MAX_PAGE_SIZE))
        # While one page is checked and merged, the next one is already being
        # asked for (the service's work overlaps ours). Pages are still
        # yielded strictly in order, each with the cursor after it.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="takedown-sync")
        try:
            pending: Future = pool.submit(self._get_page, cursor, limit)
            while True:
                body = pending.result()
                page = wire.parse_page(body, cursor)
                if page.has_more:
                    pending = pool.submit(self._get_page, page.next_cursor, limit)
                for err in page.malformed:
                    self.malformed_entries += 1
                    log.warning("takedown: skipping malformed %s", err)
                updates: t.Dict[int, t.Optional[wire.Record]] = {}
                for ch in page.changes:  # ascending seq: an item's last change wins
                    updates[ch.item_id] = ch.record
                if page.next_cursor != cursor or updates:
                    yield state.FetchDelta(
                        updates, TakedownCheckpoint(page.next_cursor, int(time.time()))
                    )
                cursor = page.next_cursor
                if not page.has_more:
                    return
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: t.Sequence[t.Type[SignalType]],
        collab: TakedownCollabConfig,
        fetched: t.Mapping[int, wire.Record],
    ) -> t.Dict[t.Type[SignalType], t.Dict[str, TakedownSignalMetadata]]:
        wanted = set(signal_types)
        acc: t.Dict[t.Type[SignalType], t.Dict[str, t.List[t.Tuple[int, str]]]] = {}
        for rec in fetched.values():
            if rec is None:
                continue
            for st, sig in record_signals(rec, wanted):
                acc.setdefault(st, {}).setdefault(sig, []).append(
                    (rec.item_id, rec.kind)
                )
        return {
            st: {
                sig: TakedownSignalMetadata(
                    tuple(i for i, _ in sorted(items)),
                    tuple(k for _, k in sorted(items)),
                )
                for sig, items in by_sig.items()
            }
            for st, by_sig in acc.items()
        }

    # --- feedback -------------------------------------------------------------

    def send_feedback(
        self,
        item_ids: t.Iterable[int],
        outcome: str,
        reference: t.Optional[str] = None,
    ) -> t.Tuple[int, int]:
        """
        Reports `outcome` for the items; returns (accepted, duplicates).

        Event ids are stable per (item, outcome, reference): sending the same
        report again is counted once by the service.
        """
        if outcome not in (OUTCOME_MATCHED, OUTCOME_REMOVED, OUTCOME_NOT_VIOLATING):
            raise ValueError(f"unknown outcome {outcome!r}")
        events = []
        for item_id in sorted(set(item_ids)):
            ev: t.Dict[str, t.Any] = {
                "event_id": event_id(item_id, outcome, reference),
                "item_id": item_id,
                "outcome": outcome,
            }
            if reference:
                ev["reference"] = reference
            events.append(ev)
        accepted = duplicates = 0
        for i in range(0, len(events), MAX_FEEDBACK_EVENTS):
            resp = self._request(
                "POST",
                "/v1/feedback",
                json={"events": events[i : i + MAX_FEEDBACK_EVENTS]},
            )
            body = resp.json()
            accepted += int(body.get("accepted", 0))
            duplicates += int(body.get("duplicates", 0))
        return accepted, duplicates

    def _items_for(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        metadata: t.Optional[state.FetchedSignalMetadata] = None,
        opinion: t.Optional[state.SignalOpinion] = None,
    ) -> t.Sequence[int]:
        if isinstance(metadata, TakedownSignalMetadata) and metadata.item_ids:
            return metadata.item_ids
        if isinstance(opinion, TakedownOpinion) and opinion.item_ids:
            return opinion.item_ids
        lookup = self._local_lookup or self._cli_lookup
        ids = lookup(s_type, signal)
        if not ids:
            raise ValueError(
                f"this {s_type.get_name()} signal is not in the local copy of "
                f"'{self.collab.name}' (fetch first, or pass the match metadata)"
            )
        return ids

    def _cli_lookup(self, s_type: t.Type[SignalType], signal: str) -> t.Sequence[int]:
        """Finds the items of a signal in the `threatexchange` CLI's fetched state."""
        from threatexchange.cli.cli_state import CliSimpleState

        state_dir = pathlib.Path(
            os.getenv("TX_STATEDIR", "~/.threatexchange")
        ).expanduser()
        store = CliSimpleState(type(self), state_dir / "fetched" / API_NAME)
        if not store.exists(self.collab):
            return ()
        signal = s_type.validate_signal_str(signal)
        found = store.get_for_signal_type([self.collab], s_type).get(
            self.collab.name, {}
        )
        meta = found.get(signal)
        return meta.item_ids if isinstance(meta, TakedownSignalMetadata) else ()

    def report_opinion(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        opinion: state.SignalOpinion,
    ) -> None:
        """
        The library's feedback call: POSITIVE_CLASS is a true positive
        (`matched`), NEGATIVE_CLASS a false positive (`reviewed_not_violating`),
        INVESTIGATION_SEED a sighting (`matched`).

        The items come from a :class:`TakedownOpinion`, else from the local
        copy fetched by the `threatexchange` CLI (exact signal).
        """
        items = self._items_for(s_type, signal, opinion=opinion)
        if opinion.category == state.SignalOpinionCategory.NEGATIVE_CLASS:
            self.send_feedback(items, OUTCOME_NOT_VIOLATING)
        else:
            self.send_feedback(items, OUTCOME_MATCHED)

    def report_seen(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        metadata: t.Optional[state.FetchedSignalMetadata] = None,
    ) -> None:
        """A match was observed (`matched`)."""
        self.send_feedback(self._items_for(s_type, signal, metadata), OUTCOME_MATCHED)

    def report_true_positive(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        metadata: t.Optional[state.FetchedSignalMetadata] = None,
    ) -> None:
        """A reviewer confirmed the match (`matched`)."""
        self.send_feedback(self._items_for(s_type, signal, metadata), OUTCOME_MATCHED)

    def report_false_positive(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        metadata: t.Optional[state.FetchedSignalMetadata] = None,
    ) -> None:
        """A reviewer found no violation (`reviewed_not_violating`)."""
        self.send_feedback(
            self._items_for(s_type, signal, metadata), OUTCOME_NOT_VIOLATING
        )

    def report_removed(
        self,
        s_type: t.Type[SignalType],
        signal: str,
        metadata: t.Optional[state.FetchedSignalMetadata] = None,
    ) -> None:
        """The matching content was taken down (`removed`)."""
        self.send_feedback(self._items_for(s_type, signal, metadata), OUTCOME_REMOVED)
