"""Tag schemes as tables: token tags <-> token-index chunks, with named repair policies.

A chunk is ``(start_token, end_token, label)``, end exclusive. Reading is done in
two steps so every scheme shares one decoder:

1. *lenient chunking*, the rules of conlleval (and of seqeval's default mode):
   a chunk ends and starts where the prefix pair says so, or where the type changes;
2. each chunk is checked against the scheme's own grammar. A chunk that breaks it
   (``I-PER`` after ``O`` in IOB2, a ``B-`` with no ``E-`` in IOBES) is a *repair*:
   policy ``conlleval`` keeps it, ``discard`` drops it (seqeval's strict mode),
   ``error`` raises :class:`TagError` naming the token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SCHEMES: tuple[str, ...] = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU", "IO")
REPAIR_POLICIES: tuple[str, ...] = ("conlleval", "discard", "error")
SCHEME_ALIASES: dict[str, str] = {"BIO": "IOB2", "BIOES": "IOBES", "IOBES": "IOBES", "BILUO": "BILOU", "IOE": "IOE2"}

# BILOU's L/U are IOBES's E/S: decoding works on the IOBES letters.
_CANONICAL_PREFIX = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
# Prefix letters each scheme allows, in the scheme's own spelling.
ALLOWED_PREFIXES: dict[str, frozenset[str]] = {
    "IOB1": frozenset("BI"),
    "IOB2": frozenset("BI"),
    "IOE1": frozenset("IE"),
    "IOE2": frozenset("IE"),
    "IOBES": frozenset("BIES"),
    "BILOU": frozenset("BILU"),
    "IO": frozenset("I"),
}
# conlleval's chunk rules over canonical prefixes ("O" included): (previous, current).
_ENDS_BEFORE = frozenset(
    {("E", p) for p in "BIESO"}
    | {("S", p) for p in "BIESO"}
    | {("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O")}
)
_STARTS_AT = frozenset(
    {(p, "B") for p in "BIESO"}
    | {(p, "S") for p in "BIESO"}
    | {("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I")}
)


class TagError(ValueError):
    """A tag sequence breaks its scheme (under policy ``error``) or a tag is malformed."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Chunks:
    """Chunks decoded from one tag sequence and how many had to be repaired."""

    chunks: tuple[tuple[int, int, str], ...]
    repairs: int = 0


def normalize_scheme(name: str) -> str:
    """``'bio'`` -> ``'IOB2'``; raises ValueError for an unknown scheme."""
    upper = name.upper()
    upper = SCHEME_ALIASES.get(upper, upper)
    if upper not in SCHEMES:
        raise ValueError(f"unknown tag scheme {name!r}: use one of {', '.join(SCHEMES)} (or BIO, BIOES)")
    return upper


def split_tag(tag: str, scheme: str = "IOB2") -> tuple[str, str]:
    """``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` -> ``('O', '')``; a bare label in IO is ``I``."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in _CANONICAL_PREFIX:
        return tag[0], tag[2:]
    if scheme == "IO" and tag:
        return "I", tag
    raise TagError(f"malformed tag {tag!r}: expected O or a prefix letter, '-', and a label", 0)


def tags_to_chunks(tags: Sequence[str], *, scheme: str = "IOB2", repair: str = "conlleval") -> Chunks:
    """Decode one sentence's tags into chunks under ``scheme`` and the ``repair`` policy."""
    parsed = []
    for i, tag in enumerate(tags):
        try:
            prefix, label = split_tag(tag, scheme)
        except TagError as err:
            raise TagError(str(err), i) from None
        parsed.append((prefix, label))
    kept: list[tuple[int, int, str]] = []
    repairs = 0
    for start, end, label in _lenient_chunks(parsed):
        if _is_valid(parsed, start, end, scheme):
            kept.append((start, end, label))
            continue
        repairs += 1
        if repair == "error":
            raise TagError(_violation(tags, start, end, scheme), start)
        if repair == "conlleval":
            kept.append((start, end, label))
    return Chunks(tuple(kept), repairs)


def _lenient_chunks(parsed: Sequence[tuple[str, str]]) -> Iterable[tuple[int, int, str]]:
    prev_prefix, prev_label = "O", ""
    start = -1
    for i, (prefix, label) in enumerate([*parsed, ("O", "")]):
        canon = _CANONICAL_PREFIX.get(prefix, "O")
        if start >= 0 and ((prev_prefix, canon) in _ENDS_BEFORE or (prev_prefix != "O" and prev_label != label)):
            yield start, i, prev_label
            start = -1
        if canon != "O" and ((prev_prefix, canon) in _STARTS_AT or prev_label != label or start < 0):
            start = i
        prev_prefix, prev_label = canon, label


def _is_valid(parsed: Sequence[tuple[str, str]], start: int, end: int, scheme: str) -> bool:
    prefixes = [p for p, _ in parsed[start:end]]
    if not set(prefixes) <= ALLOWED_PREFIXES[scheme]:
        return False
    label = parsed[start][1]
    first, last, middle = prefixes[0], prefixes[-1], prefixes[1:-1]
    if scheme == "IOB2":
        return first == "B" and all(p == "I" for p in prefixes[1:])
    if scheme == "IOB1":
        continues = start > 0 and parsed[start - 1][1] == label and parsed[start - 1][0] != "O"
        return all(p == "I" for p in prefixes[1:]) and (first == "I" or continues)
    if scheme == "IOE2":
        return last == "E" and all(p == "I" for p in prefixes[:-1])
    if scheme == "IOE1":
        follows = end < len(parsed) and parsed[end][1] == label and parsed[end][0] != "O"
        return all(p == "I" for p in prefixes[:-1]) and (last == "I" or follows)
    if scheme in ("IOBES", "BILOU"):
        single, begin, end_letter = ("S", "B", "E") if scheme == "IOBES" else ("U", "B", "L")
        if len(prefixes) == 1:
            return first == single
        return first == begin and last == end_letter and all(p == "I" for p in middle)
    return True  # IO: every run of one label is an entity


def _violation(tags: Sequence[str], start: int, end: int, scheme: str) -> str:
    shown = " ".join(tags[max(0, start - 1) : end])
    return f"tag sequence {shown!r} breaks the {scheme} scheme at token {start + 1}: fix the tags or use --repair conlleval|discard"


def chunks_to_tags(chunks: Iterable[tuple[int, int, str]], length: int, *, scheme: str = "IOB2") -> list[str]:
    """Encode non-overlapping chunks as ``length`` tags in ``scheme``."""
    tags = ["O"] * length
    ordered = sorted(chunks)
    for n, (start, end, label) in enumerate(ordered):
        prev_adjacent = n > 0 and ordered[n - 1][1] == start and ordered[n - 1][2] == label
        next_adjacent = n + 1 < len(ordered) and ordered[n + 1][0] == end and ordered[n + 1][2] == label
        for i in range(start, end):
            tags[i] = f"I-{label}"
        if scheme == "IOB2":
            tags[start] = f"B-{label}"
        elif scheme == "IOB1" and prev_adjacent:
            tags[start] = f"B-{label}"
        elif scheme == "IOE2":
            tags[end - 1] = f"E-{label}"
        elif scheme == "IOE1" and next_adjacent:
            tags[end - 1] = f"E-{label}"
        elif scheme in ("IOBES", "BILOU"):
            single, last = ("S", "E") if scheme == "IOBES" else ("U", "L")
            if end - start == 1:
                tags[start] = f"{single}-{label}"
            else:
                tags[start], tags[end - 1] = f"B-{label}", f"{last}-{label}"
        elif scheme == "IO" and prev_adjacent:
            raise ValueError(f"IO cannot encode two adjacent {label} entities at token {start}")
    return tags


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme from the prefixes in use (and where ``B-`` appears)."""
    prefixes: set[str] = set()
    starts_with_i = starts_with_b = 0
    bare = True
    for tags in tag_sequences:
        prev = "O"
        prev_label = ""
        for tag in tags:
            if tag == "O":
                prev, prev_label = "O", ""
                continue
            if len(tag) > 2 and tag[1] == "-" and tag[0] in _CANONICAL_PREFIX:
                bare = False
                prefix, label = tag[0], tag[2:]
            else:
                prefix, label = "I", tag
            prefixes.add(prefix)
            if prefix == "I" and (prev == "O" or prev_label != label):
                starts_with_i += 1
            if prefix == "B" and (prev == "O" or prev_label != label):
                starts_with_b += 1
            prev, prev_label = prefix, label
    if bare and prefixes:
        return "IO"
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"S"} or (prefixes & {"E"} and "B" in prefixes):
        return "IOBES"
    if "E" in prefixes:
        return "IOE2"
    if "B" not in prefixes:
        return "IOB1"
    return "IOB1" if starts_with_i > starts_with_b else "IOB2"
