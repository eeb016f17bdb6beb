"""What every gold-data format implements, and the checks they share."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from nerbench.errors import ConfigError, InputError
from nerbench.tagging import REPAIR_POLICIES, normalize_scheme
from nerbench.types import Document, Span


@dataclass(frozen=True)
class ReadOptions:
    """Options a reader may use; each format documents the ones it reads.

    ``scheme``/``repair``/``tag_column``/``group``/``multi_label`` are for token-column
    formats; ``split`` picks a split where a source holds several; ``overlaps``
    says whether overlapping gold spans are an error (``"error"``) or kept (``"allow"``);
    ``predictions`` reads a prediction file: formats that record invalid predictions
    (nerbench's JSONL ``"invalid"`` entries) return them so the scorer counts them.
    """

    scheme: str = "auto"
    repair: str = "conlleval"
    tag_column: int = -1
    group: str = "sentence"
    multi_label: str = "error"
    split: str | None = None
    overlaps: str = "error"
    predictions: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme != "auto":
            try:
                object.__setattr__(self, "scheme", normalize_scheme(self.scheme))
            except ValueError as err:
                raise ConfigError(str(err)) from None
        if self.repair not in REPAIR_POLICIES:
            raise ConfigError(f"unknown repair policy {self.repair!r}: use one of {', '.join(REPAIR_POLICIES)}")
        if self.group not in ("sentence", "document"):
            raise ConfigError(f"unknown grouping {self.group!r}: use 'sentence' or 'document'")
        if self.multi_label not in ("error", "first"):
            raise ConfigError(f"unknown multi_label policy {self.multi_label!r}: use 'error' or 'first'")
        if self.overlaps not in ("error", "allow"):
            raise ConfigError(f"unknown overlaps policy {self.overlaps!r}: use 'error' or 'allow'")


@dataclass(frozen=True)
class Corpus:
    """Documents read from one source, with what the reader had to repair or skip."""

    documents: tuple[Document, ...]
    format: str
    scheme: str | None = None
    repairs: int = 0
    notes: tuple[str, ...] = ()

    @property
    def entity_count(self) -> int:
        return sum(len(doc.spans) for doc in self.documents)


@runtime_checkable
class DataFormat(Protocol):
    """A gold-data format: recognise it, read it, and (optionally) write it."""

    name: str
    extensions: tuple[str, ...]
    description: str

    def sniff(self, path: Path, head: str) -> bool:
        """True when ``path`` (whose first few KB of text are ``head``) is in this format."""
        ...

    def read(self, path: Path, options: ReadOptions) -> Corpus: ...


@runtime_checkable
class WritableFormat(DataFormat, Protocol):
    """A format nerbench can also write (JSONL offsets, CoNLL)."""

    def write(self, documents: Sequence[Document], path: Path) -> None: ...


def read_text(path: Path) -> str:
    """A file's text, or one clear error for a missing, empty or non-UTF-8 file.

    A leading byte-order mark is dropped; U+FEFF elsewhere is text and kept.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file: check the path", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(
            f"not UTF-8 (byte 0x{data[err.start]:02x}): save the file as UTF-8", path=path, line=line
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError("file is empty: expected gold documents", path=path)
    return text


def checked_spans(
    text: str,
    spans: Iterable[Span],
    *,
    path: Path,
    line: int | None,
    overlaps: str = "error",
) -> tuple[Span, ...]:
    """Spans sorted by offset, after checking each lies inside ``text`` and is non-empty.

    Overlapping spans raise unless ``overlaps == "allow"``.
    """
    ordered = sorted(spans, key=lambda s: (s.start, s.end, s.label))
    for span in ordered:
        if not 0 <= span.start < span.end <= len(text):
            raise InputError(
                f"span [{span.start}, {span.end}) {span.label!r} is outside the text (length {len(text)}) or empty: "
                "offsets are code points, end exclusive",
                path=path,
                line=line,
            )
        if not span.label:
            raise InputError(f"span [{span.start}, {span.end}) has an empty label", path=path, line=line)
    if overlaps == "error":
        for a, b in itertools.pairwise(ordered):
            if b.start < a.end:
                raise InputError(
                    f"spans [{a.start}, {a.end}) {a.label!r} and [{b.start}, {b.end}) {b.label!r} overlap: "
                    "remove one, or read with overlaps='allow'",
                    path=path,
                    line=line,
                )
    return tuple(ordered)
