"""
Signal types this extension adds.

python-threatexchange ships an exact-hash type for videos only
(`video_md5`, applying to video content). Takedown lists the MD5 of every
picture as well, so pictures get their own exact type, `photo_md5`: it
applies to photo content, hashes the file bytes and matches by equality,
the way `video_md5` does for videos.
"""

import hashlib
import pathlib
import random
import re
import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.photo import PhotoContent
from threatexchange.signal_type import signal_base

_MD5 = re.compile(r"[0-9a-f]{32}")


class PhotoMD5Signal(
    signal_base.SimpleSignalType,
    signal_base.BytesHasher,
    signal_base.CanGenerateRandomSignal,
):
    """MD5 of a picture file's bytes (exact copies only)."""

    @classmethod
    def get_name(cls) -> str:
        return "photo_md5"

    @classmethod
    def get_content_types(cls) -> t.List[t.Type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> t.Type[signal_base.TrivialSignalTypeIndex]:
        return signal_base.TrivialSignalTypeIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        normalized = signal_str.strip().lower()
        if _MD5.fullmatch(normalized) is None:
            raise ValueError("not an MD5 (32 hex characters)")
        return normalized

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        return hashlib.md5(bytes_).hexdigest()

    @classmethod
    def hash_from_file(cls, path: pathlib.Path) -> str:
        h = hashlib.md5()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                h.update(chunk)
        return h.hexdigest()

    @classmethod
    def get_random_signal(cls) -> str:
        return f"{random.randrange(16**32):032x}"

    @staticmethod
    def get_examples() -> t.List[str]:
        return [hashlib.md5(b"takedown example").hexdigest()]
