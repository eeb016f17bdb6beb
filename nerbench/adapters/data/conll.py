"""CoNLL-style token-column files: one token per line, the tag in the last (or a chosen) column.

Reading
    A line holding a TAB is split on TABs (so a token may hold spaces, or be empty, as in
    BTC); any other line is split on runs of whitespace. Blank and whitespace-only lines end
    a sentence; ``-DOCSTART-`` lines end a sentence and mark a document boundary, whether they
    open each document (CoNLL-2003) or close it (wikigold). The first token line fixes the
    column count and where the tag column is; a later line with fewer columns is an error,
    extra columns are ignored. Tags are decoded by :mod:`nerbench.tagging` under the scheme
    named in the options or detected over the whole file, and invalid transitions are
    repaired by the named policy (the count is ``Corpus.repairs``).

    Tokens are kept verbatim (zero-width characters, U+FEFF, inner and trailing spaces are
    text) and joined with single spaces; sentences of one document are joined with ``"\\n"``.
    ``Document.tokens`` are the tokens' code-point offsets, so an empty token is a zero-width
    ``(k, k)`` pair. An entity made only of empty tokens has no character span: it is skipped
    and counted in ``Corpus.notes`` (none of the shipped corpora has one; their empty tokens
    are all ``O``).

    Ids are ``<stem>-<n>`` (n-th sentence, from 1) with ``group="sentence"``, and
    ``<stem>-doc<n>`` with ``group="document"`` (just ``<stem>`` when the file holds one
    document). ``meta["line"]`` is the first token's line; documents also carry
    ``meta["sentences"]``, the character range of each sentence.

Writing
    ``token<TAB>tag`` in IOB2, one blank line after each document. A document's gold tokens
    are used when it has them, else its text split at whitespace; a token is cut where a span
    starts or ends inside it. Overlapping spans, a span covering no token, and a token holding
    a TAB, a line break or equal to ``-DOCSTART-`` cannot be written and raise InputError.
    Spaces inside a token are kept (the TAB separates the columns).
"""

from __future__ import annotations

import bisect
import gc
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from operator import add, sub
from pathlib import Path

from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans, read_text
from nerbench.errors import InputError
from nerbench.tagging import TagError, chunks_to_tags, detect_scheme, split_tag, tags_to_chunks
from nerbench.types import Document, Span

DOCSTART = "-DOCSTART-"
_TAG_LIKE = re.compile(r"(?:O|[BIESLU]-\S+)(?:,(?:O|[BIESLU]-\S+))*")
_BARE_LABEL = re.compile(r"[A-Za-z][\w.-]*")
_UNWRITABLE = re.compile(r"[\t\n\r]")


@dataclass(slots=True)
class _Sentence:
    line: int  # 1-based line of the first token
    tokens: list[str]
    tags: list[str]


@dataclass(slots=True)
class _Parsed:
    sentences: list[_Sentence] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)  # sentence indices where -DOCSTART- stood


def _column_error(path: Path, number: int, found: int, options: ReadOptions, expected: int) -> InputError:
    if expected:
        problem = f"line has {found} column(s) but the first token line has {expected}"
    else:
        problem = f"line has {found} column(s), too few for a token and the tag in column {options.tag_column}"
    return InputError(f"{problem}: separate token and tag columns with a TAB or spaces", path=path, line=number)


def _tag_index(col: int, ncols: int) -> int:
    """Where the tag column is in a line of ``ncols`` columns; 0 (the token's) when it is missing."""
    return col % ncols if -ncols <= col < ncols else 0


def _parse_lines(text: str, path: Path, options: ReadOptions) -> _Parsed:
    """Split the file into sentences of (token, tag) and note where ``-DOCSTART-`` stood."""
    parsed = _Parsed()
    sentences, col, index = parsed.sentences, options.tag_column, 0
    tokens: list[str] = []
    tags: list[str] = []
    first = expected = 0
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.isspace():
            if tokens:
                sentences.append(_Sentence(first, tokens, tags))
                tokens, tags = [], []
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if cols[0] == DOCSTART:
            if tokens:
                sentences.append(_Sentence(first, tokens, tags))
                tokens, tags = [], []
            parsed.breaks.append(len(sentences))
            continue
        if len(cols) != expected:
            if not expected:  # the first token line fixes the column count and where the tag is
                expected, index = len(cols), _tag_index(col, len(cols))
                if not index:
                    raise _column_error(path, number, len(cols), options, 0)
            elif len(cols) < expected:
                raise _column_error(path, number, len(cols), options, expected)
        if not tokens:
            first = number
        tokens.append(cols[0])
        tags.append(cols[index].strip())
    if tokens:
        sentences.append(_Sentence(first, tokens, tags))
    return parsed


def _first_line_of(sentences: Sequence[_Sentence], tag: str) -> int:
    for sentence in sentences:
        if tag in sentence.tags:
            return sentence.line + sentence.tags.index(tag)
    return 0


def _resolve_multi_labels(sentences: list[_Sentence], tagset: set[str], path: Path, options: ReadOptions) -> set[str]:
    """Apply the ``multi_label`` policy to comma-joined alternative tags; returns the new tag set."""
    joined = sorted(t for t in tagset if "," in t)
    if not joined:
        return tagset
    if options.multi_label == "error":
        tag = min(joined, key=lambda t: _first_line_of(sentences, t))
        raise InputError(
            f"tag {tag!r} holds comma-joined alternatives: read with multi_label='first' to keep the first",
            path=path,
            line=_first_line_of(sentences, tag),
        )
    first = {t: t.split(",", 1)[0] for t in joined}
    for sentence in sentences:
        if any("," in t for t in sentence.tags):
            sentence.tags = [first.get(t, t) for t in sentence.tags]
    return {first.get(t, t) for t in tagset}


def _check_tags(sentences: list[_Sentence], tagset: set[str], scheme: str, path: Path) -> None:
    """Every distinct tag must parse under ``scheme`` (checked once per tag, not per token)."""
    for tag in sorted(tagset):
        try:
            split_tag(tag, scheme)
        except TagError as err:
            raise InputError(
                f"{err}; this file reads as {scheme} (set the scheme if that is wrong)",
                path=path,
                line=_first_line_of(sentences, tag),
            ) from None


def _tag_set(sentences: Iterable[_Sentence]) -> set[str]:
    tagset: set[str] = set()
    for sentence in sentences:
        tagset.update(sentence.tags)
    return tagset


def _groups(parsed: _Parsed, options: ReadOptions) -> list[list[_Sentence]]:
    sentences = parsed.sentences
    if options.group == "sentence":
        return [[s] for s in sentences]
    cuts = [0, *parsed.breaks, len(sentences)]
    return [sentences[a:b] for a, b in pairwise(cuts) if b > a]


@dataclass(slots=True)
class _Decoder:
    """Turns groups of sentences into Documents, counting repairs and unrepresentable chunks."""

    path: Path
    scheme: str
    repair: str
    repairs: int = 0
    empty_chunks: int = 0

    def document(self, doc_id: str, group: Sequence[_Sentence]) -> Document:
        parts: list[str] = []
        offsets: list[tuple[int, int]] = []
        spans: list[Span] = []
        ranges: list[tuple[int, int]] = []
        base = 0
        for sentence in group:
            lengths = list(map(len, sentence.tokens))
            ends = list(map(add, accumulate(lengths), range(base, base + len(lengths))))
            starts = list(map(sub, ends, lengths))
            offsets.extend(zip(starts, ends, strict=True))
            spans.extend(self._spans(sentence, starts, ends))
            parts.append(" ".join(sentence.tokens))
            ranges.append((base, ends[-1]))
            base = ends[-1] + 1
        meta: dict[str, object] = {"line": group[0].line}
        if len(group) > 1:
            meta["sentences"] = tuple(ranges)
        return Document(doc_id, "\n".join(parts), tuple(spans), tuple(offsets), meta)

    def _spans(self, sentence: _Sentence, starts: list[int], ends: list[int]) -> list[Span]:
        tags = sentence.tags
        if tags.count("O") == len(tags):
            return []
        try:
            decoded = tags_to_chunks(tags, scheme=self.scheme, repair=self.repair)
        except TagError as err:
            raise InputError(str(err), path=self.path, line=sentence.line + err.position) from None
        self.repairs += decoded.repairs
        spans = []
        for first, last, label in decoded.chunks:
            if starts[first] == ends[last - 1]:
                self.empty_chunks += 1
            else:
                spans.append(Span(starts[first], ends[last - 1], label))
        return spans


def _read_file(path: Path, options: ReadOptions, stem: str) -> tuple[list[Document], _Decoder]:
    parsed = _parse_lines(read_text(path), path, options)
    if not parsed.sentences:
        raise InputError("no token lines found: expected 'token<TAB>tag' lines", path=path)
    tagset = _resolve_multi_labels(parsed.sentences, _tag_set(parsed.sentences), path, options)
    scheme = options.scheme
    if scheme == "auto":
        scheme = detect_scheme(s.tags for s in parsed.sentences if s.tags.count("O") != len(s.tags))
    _check_tags(parsed.sentences, tagset, scheme, path)
    decoder = _Decoder(path, scheme, options.repair)
    groups = _groups(parsed, options)
    if options.group == "sentence":
        names = [f"{stem}-{n}" for n in range(1, len(groups) + 1)]
    else:
        names = [stem] if len(groups) == 1 else [f"{stem}-doc{n}" for n in range(1, len(groups) + 1)]
    return [decoder.document(name, group) for name, group in zip(names, groups, strict=True)], decoder


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while reading: millions of small acyclic objects make it rescan in vain."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class ConllFormat:
    """The ``conll`` format: token-column files in any tag scheme (see the module docstring)."""

    name: str = "conll"
    extensions: tuple[str, ...] = (".conll", ".conll03", ".txt", ".tsv", ".iob", ".iob2", ".bio", ".bioes")
    description: str = "CoNLL token columns (tag in the last column; IOB1/IOB2/IOE/IOBES/BILOU/IO)"

    def sniff(self, path: Path, head: str) -> bool:
        """True when the first lines look like ``token ... tag`` columns or ``-DOCSTART-``."""
        lines = [line for line in head.split("\n")[:-1] if line.strip()][:50]
        if not lines:
            return False
        tag_like = 0
        for line in lines:
            cols = line.split("\t") if "\t" in line else line.split()
            last = cols[-1].strip()
            if len(cols) < 2 or not (_TAG_LIKE.fullmatch(last) or _BARE_LABEL.fullmatch(last)):
                return False
            tag_like += cols[0] == DOCSTART or bool(_TAG_LIKE.fullmatch(last))
        return tag_like > 0

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read one file, or every file with a CoNLL extension in a directory (ids get its path)."""
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in self.extensions)
            if not files:
                raise InputError(f"no CoNLL files ({', '.join(self.extensions)}) in this directory", path=path)
            stems = [str(p.relative_to(path).with_suffix("")) for p in files]
        else:
            files, stems = [path], [path.stem]
        documents: list[Document] = []
        schemes: set[str] = set()
        repairs = empty = 0
        for file, stem in zip(files, stems, strict=True):
            with _gc_paused():
                docs, decoder = _read_file(file, options, stem)
            documents.extend(docs)
            schemes.add(decoder.scheme)
            repairs += decoder.repairs
            empty += decoder.empty_chunks
        notes = [f"{empty} entities made only of empty tokens were skipped (no character span)"] if empty else []
        scheme = schemes.pop() if len(schemes) == 1 else ",".join(sorted(schemes))
        return Corpus(tuple(documents), self.name, scheme=scheme, repairs=repairs, notes=tuple(notes))

    def write(self, documents: Sequence[Document], path: Path) -> None:
        """Write ``token<TAB>tag`` IOB2 lines, a blank line after each document (atomically)."""
        path = Path(path)
        lines: list[str] = []
        for doc in documents:
            lines.extend(_document_lines(doc, path))
            lines.append("")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n" if lines else "", encoding="utf-8")
        os.replace(tmp, path)


def _writable_tokens(doc: Document, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """The document's tokens (gold, else whitespace-split), cut at every span boundary inside one."""
    tokens = sorted(doc.tokens) if doc.tokens is not None else [m.span() for m in re.finditer(r"\S+", doc.text)]
    cuts = sorted({s.start for s in spans} | {s.end for s in spans})
    out: list[tuple[int, int]] = []
    for start, end in tokens:
        inner = cuts[bisect.bisect_right(cuts, start) : bisect.bisect_left(cuts, end)]
        bounds = [start, *inner, end]
        out.extend(pairwise(bounds))
    return out


def _document_lines(doc: Document, path: Path) -> list[str]:
    spans = checked_spans(doc.text, doc.spans, path=path, line=None)
    tokens = _writable_tokens(doc, spans)
    starts, ends = [a for a, _ in tokens], [b for _, b in tokens]
    chunks = []
    for span in spans:
        first, stop = bisect.bisect_right(ends, span.start), bisect.bisect_left(starts, span.end)
        if first >= stop:
            raise InputError(
                f"document {doc.id!r}: span [{span.start}, {span.end}) {span.label!r} covers no token: "
                "CoNLL can only hold spans over tokens",
                path=path,
            )
        chunks.append((first, stop, span.label))
    tags = chunks_to_tags(chunks, len(tokens), scheme="IOB2")
    lines = []
    for (start, end), tag in zip(tokens, tags, strict=True):
        token = doc.text[start:end]
        if _UNWRITABLE.search(token) or token == DOCSTART:
            raise InputError(
                f"document {doc.id!r}: token {token!r} holds a TAB or line break (or is -DOCSTART-): "
                "CoNLL cannot write it; re-tokenize the document",
                path=path,
            )
        lines.append(f"{token}\t{tag}")
    return lines


FORMAT = ConllFormat()
