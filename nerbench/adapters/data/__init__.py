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

from nerbench.adapters.data.base import Corpus, DataFormat, ReadOptions, WritableFormat, read_text
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


def _head(path: Path) -> str:
    if path.is_dir():
        return ""
    with path.open("rb") as fh:
        return fh.read(8192).decode("utf-8", errors="replace")


def detect_format(path: Path) -> DataFormat:
    """The format of ``path``: extension first, then each format's content check."""
    if not path.exists():
        raise InputError("no such file or directory: check the path", path=path)
    head = _head(path)
    by_extension = [f for f in formats().values() if path.suffix.lower() in f.extensions]
    for fmt in by_extension + [f for f in formats().values() if f not in by_extension]:
        if fmt.sniff(path, head):
            return fmt
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
    """Write documents as JSONL offsets (``.jsonl``/``.json``) or CoNLL IOB2 (``.conll``/``.txt``)."""
    path = Path(path)
    if format == "auto":
        format = "jsonl" if path.suffix.lower() in (".jsonl", ".json", ".ndjson") else "conll"
    fmt = get_format(format)
    if not isinstance(fmt, WritableFormat):
        raise ConfigError(f"nerbench cannot write format {format!r}: write jsonl or conll")
    fmt.write(documents, path)


__all__ += ["read_text"]
