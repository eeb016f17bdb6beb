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
    """``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` -> ``('O', '')``; a bare label in IO is ``I``.

    A tag is malformed, in every scheme, when it is empty or has whitespace at either end,
    when a letter and ``-`` open it but the letter is no prefix (``X-PER``, ``b-per``) or
    no label follows (``B-``), and, outside IO, when it has no prefix at all.
    """
    if tag == "O":
        return "O", ""
    problem = malformed(tag)
    if problem is not None:
        raise TagError(f"malformed tag {tag!r}: {problem}", 0)
    if tag[1:2] == "-":
        return tag[0], tag[2:]
    if scheme == "IO":
        return "I", tag
    raise TagError(f"malformed tag {tag!r}: expected O or a prefix letter, '-', and a label", 0)


def malformed(tag: str) -> str | None:
    """What is wrong with ``tag`` in any scheme (see :func:`split_tag`), or None."""
    if not tag or tag != tag.strip():
        return "a tag is not empty and has no whitespace at either end"
    if tag[1:2] != "-":
        return None
    if tag[0] not in _CANONICAL_PREFIX:
        return f"{tag[0]!r} is no prefix: use B, I, E, S, L or U (upper case), '-', and a label"
    if len(tag) == 2 or tag[2:] != tag[2:].strip():
        return "a prefix needs a label after its '-' (with no whitespace at either end)"
    return None


_NO_CHUNKS = Chunks(())


def tags_to_chunks(tags: Sequence[str], *, scheme: str = "IOB2", repair: str = "conlleval") -> Chunks:
    """Decode one sentence's tags into chunks under ``scheme`` and the ``repair`` policy."""
    if tags.count("O") == len(tags):  # most sentences hold no entity
        return _NO_CHUNKS
    if scheme == "IOB2":
        valid = _valid_iob2_chunks(tags)
        if valid is not None:
            return Chunks(tuple(valid))
    parsed = _parse_tags(tags, scheme)
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


def _valid_iob2_chunks(tags: Sequence[str]) -> list[tuple[int, int, str]] | None:
    """The chunks of a valid IOB2 sequence (each ``I-x`` after ``B-x`` or ``I-x``) in one pass; else None."""
    chunks = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        if tag == "O":
            if start >= 0:
                chunks.append((start, i, label))
                start = -1
        elif tag[:2] == "B-" and len(tag) > 2 and not (tag[2].isspace() or tag[-1].isspace()):
            if start >= 0:
                chunks.append((start, i, label))
            start, label = i, tag[2:]
        elif start < 0 or tag[:2] != "I-" or tag[2:] != label:
            return None  # a repair, another prefix or a malformed tag: the general decoder says which
    if start >= 0:
        chunks.append((start, len(tags), label))
    return chunks


# (tag -> (prefix, label)) per scheme, filled as tags are met: a corpus has few distinct tags.
_PARSED: dict[str, dict[str, tuple[str, str]]] = {scheme: {"O": ("O", "")} for scheme in SCHEMES}


def _parse_tags(tags: Sequence[str], scheme: str) -> list[tuple[str, str]]:
    table = _PARSED[scheme]
    try:
        return [table[tag] for tag in tags]
    except KeyError:
        pass
    if len(table) > 10_000:
        table.clear()
        table["O"] = ("O", "")
    for i, tag in enumerate(tags):
        if tag not in table:
            try:
                table[tag] = split_tag(tag, scheme)
            except TagError as err:
                raise TagError(str(err), i) from None
    return [table[tag] for tag in tags]


def _lenient_chunks(parsed: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """conlleval's chunking: ``(start, end, label)`` for every chunk, valid or not."""
    chunks = []
    prev_prefix, prev_label = "O", ""
    start = -1
    ends_before, starts_at, canonical = _ENDS_BEFORE, _STARTS_AT, _CANONICAL_PREFIX
    for i, (prefix, label) in enumerate([*parsed, ("O", "")]):
        canon = canonical.get(prefix, "O")
        if start >= 0 and ((prev_prefix, canon) in ends_before or (prev_prefix != "O" and prev_label != label)):
            chunks.append((start, i, prev_label))
            start = -1
        if canon != "O" and ((prev_prefix, canon) in starts_at or prev_label != label or start < 0):
            start = i
        prev_prefix, prev_label = canon, label
    return chunks


# Each scheme's grammar of one chunk, as prefix sets: (single token, first, middle, last).
# IOB1 also allows a first ``B`` and IOE1 a last ``E`` only next to a chunk of the same type.
_GRAMMAR: dict[str, tuple[frozenset[str], ...]] = {
    "IOB2": (frozenset("B"), frozenset("B"), frozenset("I"), frozenset("I")),
    "IOB1": (frozenset("IB"), frozenset("IB"), frozenset("I"), frozenset("I")),
    "IOE2": (frozenset("E"), frozenset("I"), frozenset("I"), frozenset("E")),
    "IOE1": (frozenset("IE"), frozenset("I"), frozenset("I"), frozenset("IE")),
    "IOBES": (frozenset("S"), frozenset("B"), frozenset("I"), frozenset("E")),
    "BILOU": (frozenset("U"), frozenset("B"), frozenset("I"), frozenset("L")),
    "IO": (frozenset("I"), frozenset("I"), frozenset("I"), frozenset("I")),
}


def _is_valid(parsed: Sequence[tuple[str, str]], start: int, end: int, scheme: str) -> bool:
    single, first, middle, last = _GRAMMAR[scheme]
    head, tail = parsed[start][0], parsed[end - 1][0]
    if end - start == 1:
        valid = head in single
    else:
        valid = head in first and tail in last and all(p in middle for p, _ in parsed[start + 1 : end - 1])
    if valid and head == "B" and scheme == "IOB1":
        return start > 0 and parsed[start - 1][1] == parsed[start][1] and parsed[start - 1][0] != "O"
    if valid and tail == "E" and scheme == "IOE1":
        return end < len(parsed) and parsed[end][1] == parsed[start][1] and parsed[end][0] != "O"
    return valid


def _violation(tags: Sequence[str], start: int, end: int, scheme: str) -> str:
    shown = " ".join(tags[max(0, start - 1) : end])
    return (
        f"tag sequence {shown!r} breaks the {scheme} scheme at token {start + 1}: "
        "fix the tags or use --repair conlleval|discard"
    )


# How each scheme marks a chunk's (first, last, only) token; ``None`` leaves it ``I-``.
# IOB1 marks the first token (and IOE1 the last) only next to a chunk of the same type.
_MARKS: dict[str, tuple[str | None, str | None, str | None]] = {
    "IOB2": ("B", None, "B"),
    "IOB1": ("B", None, "B"),
    "IOE2": (None, "E", "E"),
    "IOE1": (None, "E", "E"),
    "IOBES": ("B", "E", "S"),
    "BILOU": ("B", "L", "U"),
    "IO": (None, None, None),
}


def chunks_to_tags(chunks: Iterable[tuple[int, int, str]], length: int, *, scheme: str = "IOB2") -> list[str]:
    """Encode non-overlapping chunks as ``length`` tags in ``scheme``."""
    tags = ["O"] * length
    ordered = sorted(chunks)
    for n, (start, end, label) in enumerate(ordered):
        if not 0 <= start < end <= length or (n > 0 and ordered[n - 1][1] > start):
            raise ValueError(f"chunk ({start}, {end}, {label!r}) is empty, out of range or overlaps another")
        prev_adjacent = n > 0 and ordered[n - 1][1] == start and ordered[n - 1][2] == label
        next_adjacent = n + 1 < len(ordered) and ordered[n + 1][0] == end and ordered[n + 1][2] == label
        if scheme == "IO" and prev_adjacent:
            raise ValueError(f"IO cannot encode two adjacent {label} entities at token {start}")
        first, last, only = _MARKS[scheme]
        if scheme == "IOB1" and not prev_adjacent:
            first = only = None
        if scheme == "IOE1" and not next_adjacent:
            last = only = None
        tags[start:end] = [f"I-{label}"] * (end - start)
        if end - start == 1 and only:
            tags[start] = f"{only}-{label}"
        elif end - start > 1:
            if first:
                tags[start] = f"{first}-{label}"
            if last:
                tags[end - 1] = f"{last}-{label}"
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
    scheme = _scheme_of_prefixes(prefixes, bare)
    if scheme is not None:
        return scheme
    return "IOB1" if starts_with_i > starts_with_b else "IOB2"


def scheme_from_tagset(tags: Iterable[str]) -> str | None:
    """detect_scheme's answer from the distinct tags alone; None where it hangs on where ``B-`` appears."""
    prefixes: set[str] = set()
    bare = True
    for tag in tags:
        if tag == "O":
            continue
        if len(tag) > 2 and tag[1] == "-" and tag[0] in _CANONICAL_PREFIX:
            bare = False
            prefixes.add(tag[0])
        else:
            prefixes.add("I")
    return _scheme_of_prefixes(prefixes, bare)


def _scheme_of_prefixes(prefixes: set[str], bare: bool) -> str | None:
    if not prefixes:
        return "IOB2"  # no entity at all: any scheme reads it the same
    if bare:
        return "IO"
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"S"} or (prefixes & {"E"} and "B" in prefixes):
        return "IOBES"
    if "E" in prefixes:
        return "IOE2"
    if "B" not in prefixes:
        return "IOB1"
    if "I" not in prefixes:
        return "IOB2"  # no chunk starts with I-
    return None  # IOB1 or IOB2: detect_scheme counts the chunks each prefix starts
