"""The CoNLL reader's engine: token-column text -> sentences -> chunks -> Documents, fast.

The rules are the ones :mod:`nerbench.adapters.data.conll` documents. Speed comes from
working on the whole file at once: a file whose token lines all split alike (the same
number of TABs, or single spaces only) is split with a few whole-text ``str`` calls and
list slices (any other file goes line by line); a file tagged with ``O``/``B-x``/``I-x``
only is chunked with array operations over all its tokens at once, and only files in
other schemes, or sentences whose repair raises, go through :func:`tags_to_chunks`;
token offsets come from one cumulative sum over the token lengths. Equal spans and equal
offset pairs are shared between documents (they are immutable values), which keeps the
number of objects, and the garbage collector's work, small.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, compress, count, pairwise, repeat
from operator import ne, not_
from pathlib import Path
from typing import TypeVar

import numpy as np

from nerbench.adapters.data.base import ReadOptions
from nerbench.errors import InputError
from nerbench.tagging import TagError, detect_scheme, scheme_from_tagset, tags_to_chunks
from nerbench.types import Document, Span

DOCSTART = "-DOCSTART-"
_S = TypeVar("_S", str, tuple[Span, ...], tuple[tuple[int, int], ...])
_ODD_SPACE = re.compile(r"[^\S ]")  # whitespace other than a space


@dataclass(slots=True)
class Parsed:
    """The file as flat token and tag lists; sentence ``k`` is ``tokens[bounds[k]:bounds[k + 1]]``."""

    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    bounds: list[int] = field(default_factory=lambda: [0])
    lines: list[int] = field(default_factory=list)  # 1-based line of each sentence's first token
    breaks: list[int] = field(default_factory=list)  # sentence indices where -DOCSTART- stood
    newline_first: bool = False  # every token but the first has a "\n" in front (as _parse_grid splits them)

    def close(self, first_line: int) -> None:
        """End the sentence that began at ``first_line`` (when it holds a token)."""
        if len(self.tokens) > self.bounds[-1]:
            self.bounds.append(len(self.tokens))
            self.lines.append(first_line)

    def joined(self) -> tuple[str, np.ndarray]:
        """All tokens joined by ``"\\n"`` (which no token holds), and each token's length."""
        tokens = self.tokens
        lengths = np.fromiter(map(len, tokens), np.int64, len(tokens))
        if not self.newline_first:
            return "\n".join(tokens), lengths
        lengths[1:] -= 1
        return "".join(tokens), lengths

    def line_of(self, index: int) -> int:
        """The line of token ``index`` (a sentence's tokens stand on consecutive lines)."""
        s = bisect.bisect_right(self.bounds, index) - 1
        return self.lines[s] + index - self.bounds[s]


def _column_error(path: Path, number: int, found: int, options: ReadOptions, expected: int) -> InputError:
    if expected:
        problem = f"line has {found} column(s) but the first token line has {expected}"
    else:
        problem = f"line has {found} column(s), too few for a token and the tag in column {options.tag_column}"
    return InputError(f"{problem}: separate token and tag columns with a TAB or spaces", path=path, line=number)


def _tag_index(col: int, ncols: int) -> int:
    """Where the tag column is in a line of ``ncols`` columns; 0 (the token's) when it is missing."""
    return col % ncols if -ncols <= col < ncols else 0


def _columns(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def parse(text: str, path: Path, options: ReadOptions) -> Parsed:
    """Split the file into sentences of (token, tag) and note where ``-DOCSTART-`` stood."""
    return _parse_grid(text, options) or _parse_uniform(text, options) or _parse_lines(text, path, options)


def _parse_lines(text: str, path: Path, options: ReadOptions) -> Parsed:
    """Line by line: any file, and the one that raises the column errors."""
    parsed = Parsed()
    tokens, tags, col, index = parsed.tokens, parsed.tags, options.tag_column, 0
    first = expected = 0
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.isspace():
            parsed.close(first)
            continue
        cols = _columns(line)
        if cols[0] == DOCSTART:
            parsed.close(first)
            parsed.breaks.append(len(parsed.lines))
            continue
        if len(cols) != expected:
            if not expected:  # the first token line fixes the column count and where the tag is
                expected, index = len(cols), _tag_index(col, len(cols))
                if not index:
                    raise _column_error(path, number, len(cols), options, 0)
            elif len(cols) < expected:
                raise _column_error(path, number, len(cols), options, expected)
        if len(tokens) == parsed.bounds[-1]:
            first = number
        tokens.append(cols[0])
        tags.append(cols[index].strip())
    parsed.close(first)
    return parsed


def _parse_grid(text: str, options: ReadOptions) -> Parsed | None:
    """The commonest layout, without a string per line: every token line holds the same number
    of TABs, sentences end at empty lines, and there is no ``-DOCSTART-``; else None."""
    if DOCSTART in text:
        return None
    parsed, contents, line = Parsed(), [], 1
    for block in text.split("\n\n"):  # sentences, with the line each starts on
        content = block.strip("\n")
        if content:
            contents.append(content)
            parsed.lines.append(line + len(block) - len(block.lstrip("\n")))
            parsed.bounds.append(parsed.bounds[-1] + content.count("\n") + 1)
        line += block.count("\n") + 2
    if not contents:
        return None
    ncols, lines = contents[0].split("\n", 1)[0].count("\t") + 1, parsed.bounds[-1]
    index = _tag_index(options.tag_column, ncols)
    # each line's first column comes out with a "\n" in front, which no other column can hold
    fields = "\n".join(contents).replace("\n", "\t\n").split("\t")
    del contents
    heads = fields[::ncols]
    if ncols < 2 or not index or len(fields) != lines * ncols or "".join(heads).count("\n") != lines - 1:
        return None  # a line with another number of columns, or a blank line that is not empty
    tags = fields[index::ncols]
    del fields
    stripped = {tag: tag.strip() for tag in set(tags)}
    if "" in stripped.values():
        return None  # a whitespace-only line is blank, not a token line: read line by line
    parsed.tags = tags if all(t == b for t, b in stripped.items()) else list(map(stripped.__getitem__, tags))
    parsed.tokens, parsed.newline_first = heads, True
    return parsed


def _uniform_split(rows: list[str], options: ReadOptions) -> tuple[str, str] | None:
    """The token lines joined by their separator, and it, when all of them split alike; else None.

    That is: every line holds the same number of TABs (at least one), or, with no TAB, the same
    number of single spaces and no other whitespace.
    """
    sep = "\t" if "\t" in rows[0] else " "
    gaps = rows[0].count(sep)
    if not _tag_index(options.tag_column, gaps + 1) or list(map(str.count, rows, repeat(sep))).count(gaps) != len(rows):
        return None
    body = sep.join(rows)
    if sep == " " and (_ODD_SPACE.search(body) or "  " in body or body[0] == " " or body[-1] == " "):
        return None
    return body, sep


def _parse_uniform(text: str, options: ReadOptions) -> Parsed | None:
    """_parse_lines by whole-text splits and slices, for a file whose token lines split alike; else None."""
    lines = text.split("\n")
    is_token = list(map(bool, map(str.strip, lines)))
    docstarts = set()
    if DOCSTART in text:
        for i in compress(range(len(lines)), map(str.__contains__, lines, repeat(DOCSTART))):
            if is_token[i] and _columns(lines[i])[0] == DOCSTART:
                is_token[i] = False
                docstarts.add(i)
    rows = list(compress(lines, is_token))
    del lines  # free the lines before the columns are made: less memory in use at once
    joined = _uniform_split(rows, options) if rows else None
    if joined is None:
        return None
    ncols = rows[0].count(joined[1]) + 1
    del rows
    fields = joined[0].split(joined[1])
    tags = fields[_tag_index(options.tag_column, ncols) :: ncols]
    stripped = {tag: tag.strip() for tag in set(tags)}
    if any(tag != bare for tag, bare in stripped.items()):
        tags = list(map(stripped.__getitem__, tags))
    parsed = Parsed(fields[::ncols], tags)
    del fields
    prev = -1
    for i in chain(compress(count(), map(not_, is_token)), (len(is_token),)):
        if i > prev + 1:  # lines prev+1 .. i-1 are one sentence
            parsed.bounds.append(parsed.bounds[-1] + i - prev - 1)
            parsed.lines.append(prev + 2)
        if i in docstarts:
            parsed.breaks.append(len(parsed.lines))
        prev = i
    return parsed


@dataclass(slots=True)
class Chunks:
    """Chunks of a whole file as parallel arrays: sentence, first token, end token (file-wide), label."""

    sentence: np.ndarray
    first: np.ndarray
    end: np.ndarray
    label: list[str]

    @classmethod
    def of(cls, rows: list[tuple[int, int, int, str]]) -> Chunks:
        sentence, first, end, label = list(zip(*rows, strict=True)) or [(), (), (), ()]
        as_array = partial(np.array, dtype=np.int64)
        return cls(as_array(sentence), as_array(first), as_array(end), list(label))


@dataclass(slots=True)
class Scan:
    """The lenient (conlleval) chunks of a file tagged with ``O``, ``B-x`` and ``I-x`` only.

    ``opened_by_i`` marks the chunks an ``I-`` opens (each one an IOB2 repair); ``b_starts``
    counts the ``B-`` that detect_scheme counts as chunk starts.
    """

    chunks: Chunks
    opened_by_i: np.ndarray
    b_starts: int

    @property
    def i_starts(self) -> int:
        return int(self.opened_by_i.sum())


def scan_iob(parsed: Parsed, tagset: set[str]) -> Scan | None:
    """Chunk every sentence at once; None when a tag is not O, B-x or I-x (the general decoder reads those)."""
    heads = {t: (t[0], t[2:]) for t in tagset if len(t) > 2 and t[1] == "-" and t[0] in "BI"}
    if len(heads) + ("O" in tagset) != len(tagset):
        return None
    labels = sorted({label for _, label in heads.values()})
    # a tag's code: 0 for O, then 2 * label + 1 for B-label and 2 * label + 2 for I-label
    code = {"O": 0} | {t: 2 * labels.index(label) + (1 if p == "B" else 2) for t, (p, label) in heads.items()}
    codes = np.fromiter(map(code.__getitem__, parsed.tags), np.int64, len(parsed.tags))
    label_of = (codes - 1) >> 1  # -1 for O
    before = np.concatenate(([-1], label_of[:-1]))
    before[parsed.bounds[:-1]] = -1  # nothing comes before a sentence's first token
    entity, is_i = codes > 0, (codes > 0) & (codes % 2 == 0)
    same = entity & (label_of == before)  # an entity token right after one of the same type
    goes_on = is_i & same
    firsts = np.flatnonzero(entity & ~goes_on)
    breaks = np.flatnonzero(~np.append(goes_on, False))
    ends = breaks[np.searchsorted(breaks, firsts, side="right")]
    sentences = np.searchsorted(np.asarray(parsed.bounds), firsts, side="right") - 1
    names = list(map(labels.__getitem__, label_of[firsts].tolist()))
    b_starts = int(np.count_nonzero(entity & ~is_i & ~same))
    return Scan(Chunks(sentences, firsts, ends, names), is_i[firsts], b_starts)


def scheme_of(parsed: Parsed, tagset: set[str], scan: Scan | None) -> str:
    """detect_scheme's answer: from the distinct tags, and only where they leave it open, from the chunk starts."""
    scheme = scheme_from_tagset(tagset)
    if scheme is not None:
        return scheme
    if scan is not None:
        return "IOB1" if scan.i_starts > scan.b_starts else "IOB2"
    return detect_scheme(parsed.tags[a:b] for a, b in pairwise(parsed.bounds))


@dataclass(slots=True)
class Decoder:
    """Turns parsed sentences into Documents, counting repairs and unrepresentable chunks."""

    path: Path
    scheme: str
    repair: str
    repairs: int = 0
    empty_chunks: int = 0

    def chunks(self, parsed: Parsed, scan: Scan | None) -> Chunks:
        """Every kept chunk, in file order."""
        if scan is None or self.scheme != "IOB2":
            entities = compress(count(), map(ne, parsed.tags, repeat("O")))
            with_entities = dict.fromkeys(bisect.bisect_right(parsed.bounds, i) - 1 for i in entities)
            return Chunks.of(list(chain.from_iterable(self._decode(parsed, s) for s in with_entities)))
        repaired = scan.i_starts
        if repaired and self.repair == "error":
            first = int(scan.chunks.sentence[np.argmax(scan.opened_by_i)])
            self._decode(parsed, first)  # raises, naming the token
        self.repairs += repaired
        if not repaired or self.repair == "conlleval":
            return scan.chunks
        keep = ~scan.opened_by_i  # discard
        c = scan.chunks
        return Chunks(c.sentence[keep], c.first[keep], c.end[keep], list(compress(c.label, keep.tolist())))

    def _decode(self, parsed: Parsed, sentence: int) -> list[tuple[int, int, int, str]]:
        a, b = parsed.bounds[sentence], parsed.bounds[sentence + 1]
        try:
            decoded = tags_to_chunks(parsed.tags[a:b], scheme=self.scheme, repair=self.repair)
        except TagError as err:
            raise InputError(str(err), path=self.path, line=parsed.lines[sentence] + err.position) from None
        self.repairs += decoded.repairs
        return [(sentence, a + first, a + last, label) for first, last, label in decoded.chunks]

    def documents(self, parsed: Parsed, chunks: Chunks, cuts: list[int], names: list[str]) -> list[Document]:
        """Document ``k`` holds sentences ``cuts[k]:cuts[k + 1]``: tokens joined by spaces, sentences by newlines."""
        bounds = parsed.bounds
        joined, lengths = parsed.joined()
        pos = np.zeros(len(lengths) + 1, np.int64)  # where each token starts in the whole file's text
        np.cumsum(lengths + 1, out=pos[1:])
        one_sentence_each = len(cuts) == len(bounds)
        text = joined.replace("\n", " ")
        if not one_sentence_each:  # sentences are joined by newlines
            edges = pos[bounds]
            text = "\n".join(map(text.__getitem__, map(slice, edges[:-1].tolist(), (edges[1:] - 1).tolist())))
        firsts = np.asarray(bounds)[cuts]  # each document's first token, then the token count
        bases = pos[firsts]
        starts = pos[:-1] - np.repeat(bases[:-1], np.diff(firsts))
        offsets = _shared_pairs(starts, starts + lengths)
        doc_of = np.repeat(np.arange(len(cuts) - 1), np.diff(cuts))  # each sentence's document
        spans, per_doc = self._spans(chunks, doc_of, pos, bases)
        if one_sentence_each:
            metas: list[dict[str, object]] = [{"line": line} for line in parsed.lines]
        else:
            metas = [_meta(parsed, a, b, pos) for a, b in pairwise(cuts)]
        texts = _slices(text, bases[:-1].tolist(), (bases[1:] - 1).tolist())
        spans_of, offsets_of = _slices(spans, *_edges(per_doc)), _slices(offsets, *_edges(firsts))
        return list(map(Document, names, texts, spans_of, offsets_of, metas))

    def _spans(
        self, chunks: Chunks, doc_of: np.ndarray, pos: np.ndarray, bases: np.ndarray
    ) -> tuple[tuple[Span, ...], np.ndarray]:
        """Every chunk's Span (one over empty tokens only is counted, not kept), and where each document's begin."""
        docs = doc_of[chunks.sentence]
        starts, stops = pos[chunks.first] - bases[docs], pos[chunks.end] - 1 - bases[docs]
        keep = starts != stops
        self.empty_chunks += int(np.count_nonzero(~keep))
        labels = chunks.label if keep.all() else list(compress(chunks.label, keep.tolist()))
        docs, starts, stops = docs[keep], starts[keep], stops[keep]
        spans = _shared_spans(starts.tolist(), stops.tolist(), labels)
        return spans, np.searchsorted(docs, np.arange(len(bases)))


def _edges(bounds: np.ndarray) -> tuple[list[int], list[int]]:
    """``bounds[k]:bounds[k + 1]`` for every k, as start and stop lists."""
    return bounds[:-1].tolist(), bounds[1:].tolist()


def _slices(seq: _S, starts: list[int], stops: list[int]) -> list[_S]:
    """``seq[a:b]`` for each ``(a, b)``."""
    return list(map(seq.__getitem__, map(slice, starts, stops)))


def _shared_pairs(starts: np.ndarray, ends: np.ndarray) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` pairs, each distinct pair one tuple shared by all its occurrences."""
    if not len(starts):
        return ()
    width = int(ends.max()) + 1
    keys = starts * width + ends
    if width * width > 4 * len(keys) + 1_000_000:  # long documents: few pairs repeat, no table
        return tuple(zip(starts.tolist(), ends.tolist(), strict=True))
    table = np.empty(width * width, dtype=object)
    for key in np.flatnonzero(np.bincount(keys)).tolist():
        table[key] = divmod(key, width)  # one slot each: numpy stores the tuple as an object
    return tuple(table[keys].tolist())


def _shared_spans(starts: list[int], stops: list[int], labels: list[str]) -> tuple[Span, ...]:
    """A Span per chunk, each distinct span made once and shared (spans are immutable values)."""
    keys = list(zip(starts, stops, labels, strict=True))
    made = {key: Span(*key) for key in dict.fromkeys(keys)}
    return tuple(map(made.__getitem__, keys))


def _meta(parsed: Parsed, a: int, b: int, pos: np.ndarray) -> dict[str, object]:
    """A multi-sentence document's first line and the character range of each sentence."""
    meta: dict[str, object] = {"line": parsed.lines[a]}
    if b - a > 1:
        edges = pos[parsed.bounds[a : b + 1]] - pos[parsed.bounds[a]]
        meta["sentences"] = tuple(zip(edges[:-1].tolist(), (edges[1:] - 1).tolist(), strict=True))
    return meta
