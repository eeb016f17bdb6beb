"""Gold-data formats: one module each, found through the ``nerbench.formats`` entry points.

``read_corpus(path)`` picks the format by extension and content (``format="auto"``)
or uses the one named; ``write_documents`` writes JSONL offsets or CoNLL.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from nerbench.adapters.data.base import (
    Corpus,
    DataFormat,
    ReadOptions,
    WritableFormat,
    read_text,
    unix_newlines,
    wide_encoding,
)
from nerbench.errors import ConfigError, InputError
from nerbench.types import Document

__all__ = [
    "Corpus",
    "DataFormat",
    "ReadOptions",
    "detect_format",
    "formats",
    "get_format",
    "read_corpus",
    "write_documents",
]

ENTRY_POINT_GROUP = "nerbench.formats"


@cache
def formats() -> dict[str, DataFormat]:
    """Every registered format by name (loads each module once)."""
    found: dict[str, DataFormat] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return dict(sorted(found.items()))


def get_format(name: str) -> DataFormat:
    """The format called ``name``; an unknown name says what exists."""
    known = formats()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown format {name!r}{hint}: use one of {', '.join(known)} or 'auto'")


HEAD_BYTES = 8192  # what the sniffers see: enough lines to tell the formats apart
LONG_LINE_BYTES = 1 << 20  # read on to the end of a long first line, up to this much


def _head(path: Path) -> tuple[bytes, bool]:
    """The first few KB of ``path`` (on to the end of a long first line), and whether that is all of it."""
    if path.is_dir():
        return b"", False
    try:
        with path.open("rb") as fh:
            data = fh.read(HEAD_BYTES)
            while b"\n" not in data and b"\r" not in data and len(data) < LONG_LINE_BYTES:
                more = fh.read(HEAD_BYTES)
                if not more:
                    break
                data += more
            return data, not fh.read(1)
    except OSError as err:
        raise InputError(f"cannot read this file ({err.strerror or err})", path=path) from None


def _head_text(data: bytes, whole: bool) -> str:
    """The head as the sniffers see it: no byte-order mark, ``"\\n"`` line ends, a last line break when it is whole."""
    text = unix_newlines(data.decode("utf-8", errors="replace").removeprefix("\ufeff"))
    return text + "\n" if whole and text and not text.endswith("\n") else text


def detect_format(path: Path) -> DataFormat:
    """The format of ``path``: extension first, then each format's content check.

    When none fits, an empty file and a UTF-16 or UTF-32 one get an error that says so.
    """
    if not path.exists():
        raise InputError("no such file or directory: check the path", path=path)
    data, whole = _head(path)
    head = _head_text(data, whole)
    by_extension = [f for f in formats().values() if path.suffix.lower() in f.extensions]
    for fmt in by_extension + [f for f in formats().values() if f not in by_extension]:
        if fmt.sniff(path, head):
            return fmt
    wide = wide_encoding(data)
    if wide is not None:
        raise InputError(f"the file is {wide}, not UTF-8: save it as UTF-8", path=path)
    if whole and not head.strip():
        raise InputError("file is empty: expected gold documents", path=path)
    names = ", ".join(formats())
    raise InputError(f"cannot tell the format of this file: name one with --format ({names})", path=path)


def read_corpus(path: str | Path, *, format: str = "auto", **options: Any) -> Corpus:
    """Read gold documents from ``path``; ``options`` are :class:`ReadOptions` fields."""
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else get_format(format)
    unknown = set(options) - set(ReadOptions.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown reader option(s): {', '.join(sorted(unknown))}")
    return fmt.read(path, ReadOptions(**options))


def write_documents(documents: Sequence[Document], path: str | Path, *, format: str = "auto") -> None:
    """Write documents as JSONL offsets (``.jsonl``/``.json``) or CoNLL IOB2 (``.conll``/``.txt``).

    No documents is an error: the empty file would be refused when read back.
    """
    path = Path(path)
    if not documents:
        raise InputError(
            "no documents to write: the source holds none (every one was skipped, or it is empty)", path=path
        )
    if format == "auto":
        format = "jsonl" if path.suffix.lower() in (".jsonl", ".json", ".ndjson") else "conll"
    fmt = get_format(format)
    if not isinstance(fmt, WritableFormat):
        raise ConfigError(f"nerbench cannot write format {format!r}: write jsonl or conll")
    fmt.write(documents, path)


__all__ += ["read_text"]
