"""BRAT standoff: a ``.txt`` and its ``.ann``, or a directory of such pairs.

Each pair is one Document whose id is the file stem (the path below the directory,
without suffix, when reading a directory). The path may name the ``.txt``, the
``.ann`` or the directory. Text-bound annotations ``T1<TAB>Label START END<TAB>text``
become spans; their offsets are code points into the ``.txt`` exactly as stored (a
leading U+FEFF is text here, as in BRAT itself; a byte-order mark opening the ``.ann``
is dropped, and its lines may end in ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``). The annotation's
text must equal the slice it covers, line breaks and tabs in the slice read as spaces
(BRAT writes them so); a difference raises, naming the ``.ann`` line. Offsets have at
most 18 digits; an ``.ann`` in UTF-16 and one that is a directory are errors. Discontinuous annotations
(``Label 0 5;8 12``) have no single span: they are skipped and counted in
``Corpus.notes``. Relations, events, attributes, normalisations and notes
(``R``/``E``/``A``/``M``/``N``/``#``/``*``) are ignored; any other non-blank line is an
error, not an annotation lost. A ``.txt`` without an ``.ann`` in a directory is skipped
and counted; an empty ``.ann`` is a document without entities.

Overlaps follow ``ReadOptions.overlaps`` as in every format (default ``"error"``), even
though BRAT allows nested entities: flat gold is what strict span F1 and the CoNLL
writer assume, so nested gold should be a choice (``overlaps="allow"``), not a surprise;
the error says how to allow it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from nerbench.adapters.data.base import (
    Corpus,
    ReadOptions,
    checked_spans,
    decode_utf8,
    plain,
    read_bytes,
    shown,
    unix_newlines,
)
from nerbench.errors import InputError
from nerbench.types import Document, Span

_TEXT_BOUND = re.compile(r"(\S+) (\d{1,18} \d{1,18}(?:;\d{1,18} \d{1,18})*)")
_IGNORED = ("R", "E", "A", "M", "N", "#", "*")
_AS_SPACE = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def _decode(path: Path) -> str:
    """A file's UTF-8 text, kept exactly (no BOM dropped: BRAT offsets count it); empty is fine."""
    if not path.exists():
        raise InputError("no such file: BRAT needs a .txt and its .ann side by side", path=path)
    return decode_utf8(read_bytes(path), path, guess_wide=path.suffix.lower() == ".ann")


@dataclass
class _Counts:
    discontinuous: int = 0
    unpaired: list[str] = field(default_factory=list)


def _text_bound(line: str, text: str, ann: Path, number: int) -> Span | None:
    """One ``T`` line -> a span; None for a discontinuous annotation."""
    parts = line.split("\t", 2)
    match = _TEXT_BOUND.fullmatch(parts[1]) if len(parts) == 3 else None
    if match is None:
        raise InputError(
            f"malformed text-bound annotation {shown(line)}: expected 'T1<TAB>Label START END<TAB>text'",
            path=ann,
            line=number,
        )
    if ";" in match[2]:
        return None
    start, end = (int(v) for v in match[2].split())  # under 19 digits each
    span = Span(start, end, match[1])
    covered = text[start:end]
    if 0 <= start < end <= len(text) and parts[2] not in (covered, covered.translate(_AS_SPACE)):
        raise InputError(
            f"annotation {plain(parts[0])} says its text is {shown(parts[2])} but the .txt has {shown(covered)} "
            f"at [{start}, {end}): "
            "offsets must be code points into the .txt",
            path=ann,
            line=number,
        )
    return span


def _read_pair(txt: Path, ann: Path, doc_id: str, options: ReadOptions, counts: _Counts) -> Document:
    text = _decode(txt)
    entries: list[tuple[Span, int]] = []
    for number, line in enumerate(unix_newlines(_decode(ann).removeprefix("\ufeff")).split("\n"), 1):
        if not line.startswith("T"):
            if line.strip() and not line.startswith(_IGNORED):
                raise InputError(
                    f"unknown annotation line {shown(line, 40)}: "
                    "BRAT lines start with an id (T, R, E, A, M, N, # or *)",
                    path=ann,
                    line=number,
                )
            continue
        span = _text_bound(line, text, ann, number)
        if span is None:
            counts.discontinuous += 1
            continue
        checked_spans(text, [span], path=ann, line=number)
        entries.append((span, number))
    entries.sort(key=lambda e: (e[0].start, e[0].end, e[0].label))
    if options.overlaps == "error":
        for (a, line_a), (b, line_b) in itertools.pairwise(entries):
            if b.start < a.end:  # let the shared check word the error, at the later annotation's line
                checked_spans(text, [a, b], path=ann, line=max(line_a, line_b))
    return Document(doc_id, text, tuple(span for span, _ in entries), None, {"path": str(txt)})


def _pairs(path: Path, counts: _Counts) -> list[tuple[Path, Path, str]]:
    """``(txt, ann, id)`` for the file or directory ``path`` names."""
    if not path.is_dir():
        if path.suffix.lower() not in (".txt", ".ann"):
            raise InputError("expected a BRAT .txt or .ann file, or a directory of them", path=path)
        txt, ann = path.with_suffix(".txt"), path.with_suffix(".ann")
        return [(txt, ann, path.stem)]
    texts = sorted(p for p in path.rglob("*.txt") if p.is_file())
    pairs = []
    for txt in texts:
        ann = txt.with_suffix(".ann")
        if ann.is_file():
            pairs.append((txt, ann, txt.relative_to(path).with_suffix("").as_posix()))
        else:
            counts.unpaired.append(txt.name)
    if not pairs:
        raise InputError("no BRAT .txt/.ann pairs in this directory", path=path)
    return pairs


def _notes(counts: _Counts) -> tuple[str, ...]:
    notes = []
    if counts.discontinuous:
        notes.append(f"{counts.discontinuous} discontinuous annotations were skipped (no single span)")
    if counts.unpaired:
        notes.append(f"{len(counts.unpaired)} .txt files without an .ann were skipped")
    return tuple(notes)


@dataclass(frozen=True)
class BratFormat:
    """The ``brat`` format: BRAT standoff ``.txt`` + ``.ann`` pairs (see the module docstring)."""

    name: str = "brat"
    extensions: tuple[str, ...] = (".ann",)
    description: str = "BRAT standoff (.txt + .ann pairs, or a directory of them)"

    def sniff(self, path: Path, head: str) -> bool:
        """True for an ``.ann`` file, a ``.txt`` beside an ``.ann``, or a directory holding ``.ann`` files."""
        if path.is_dir():
            return any(p.is_file() for p in path.rglob("*.ann"))
        suffix = path.suffix.lower()
        return suffix == ".ann" or (suffix == ".txt" and path.with_suffix(".ann").is_file())

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read the pair (or every pair in the directory), one Document each."""
        counts = _Counts()
        documents = tuple(_read_pair(txt, ann, doc_id, options, counts) for txt, ann, doc_id in _pairs(path, counts))
        return Corpus(documents, self.name, notes=_notes(counts))


FORMAT = BratFormat()
