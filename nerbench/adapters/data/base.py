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


_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def read_bytes(path: Path) -> bytes:
    """A file's bytes; a missing path, a directory or an unreadable file is one clear error."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file: check the path", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path=path) from None
    except OSError as err:
        raise InputError(
            f"cannot read this file ({err.strerror or err}): check it and its permissions", path=path
        ) from None


def wide_encoding(data: bytes, *, guess: bool = True) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when ``data`` starts with that byte-order mark; else None.

    With ``guess``, a file without a mark is taken for UTF-16 (or UTF-32) when its first
    bytes (8 at least, up to 64) alternate NUL and non-NUL as ASCII text in UTF-16 does
    (NUL, NUL, NUL and non-NUL in UTF-32): no UTF-8 text file starts so.
    """
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    head = data[:64]
    if not guess or len(head) < 8 or 0 not in head:
        return None
    zeros = [byte == 0 for byte in head[: len(head) // 4 * 4]]
    for width, name in ((4, "UTF-32"), (2, "UTF-16")):
        for nonzero_at in range(width):
            pattern = [k % width != nonzero_at for k in range(len(zeros))]
            if zeros == pattern:
                return name
    return None


def decode_utf8(data: bytes, path: Path, *, guess_wide: bool = True) -> str:
    """``data`` as UTF-8, kept exactly (a byte-order mark too); UTF-16, UTF-32 and bad bytes raise.

    ``guess_wide=False`` only trusts byte-order marks (for text whose NULs are data, as a BRAT ``.txt``).
    """
    wide = wide_encoding(data, guess=guess_wide)
    if wide is not None:
        raise InputError(f"the file is {wide}, not UTF-8: save it as UTF-8", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(
            f"not UTF-8 (byte 0x{data[err.start]:02x}): save the file as UTF-8", path=path, line=line
        ) from None


def read_text(path: Path) -> str:
    """A file's text, or one clear error for a missing, empty, UTF-16 or otherwise non-UTF-8 file.

    A leading byte-order mark is dropped; U+FEFF elsewhere is text and kept.
    """
    text = decode_utf8(read_bytes(path), path).removeprefix("\ufeff")
    if not text.strip():
        raise InputError("file is empty: expected gold documents", path=path)
    return text


def unix_newlines(text: str) -> str:
    """``"\\r\\n"`` and a lone ``"\\r"`` (old Mac files) as ``"\\n"``: every line ending is a line end."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


_JSON_KINDS: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "true/false",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def kind_of(value: object) -> str:
    """What a parsed JSON value is, in JSON's words: ``"an object"``, ``"an array"``, ``"null"``..."""
    return _JSON_KINDS.get(type(value), f"a {type(value).__name__}")


def plain(text: str) -> str:
    """``text`` as it is when it prints on one line, else its ``shown`` repr (a name from a file, in an error line)."""
    return text if text.isprintable() and len(text) <= 80 else shown(text)


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error line, cut to ``limit`` characters: a line shows what is wrong, not a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
                f"span [{span.start}, {span.end}) {shown(span.label)} is outside the text "
                f"(length {len(text)}) or empty: "
                "offsets are code points, end exclusive",
                path=path,
                line=line,
            )
        if not span.label or span.label.isspace():
            raise InputError(f"span [{span.start}, {span.end}) has an empty or blank label", path=path, line=line)
        if span.label != span.label.strip():
            raise InputError(
                f"span [{span.start}, {span.end}) label {shown(span.label)} begins or ends with whitespace: strip it",
                path=path,
                line=line,
            )
    if overlaps == "error":
        for a, b in itertools.pairwise(ordered):
            if b.start < a.end:
                raise InputError(
                    f"spans [{a.start}, {a.end}) {shown(a.label)} and [{b.start}, {b.end}) {shown(b.label)} overlap: "
                    "remove one, or read with overlaps='allow'",
                    path=path,
                    line=line,
                )
    return tuple(ordered)
