"""CoNLL-style token-column files: one token per line, the tag in the last (or a chosen) column.

Reading
    Lines end at ``"\\n"``, ``"\\r\\n"`` or a lone ``"\\r"``. A line holding a TAB is split
    on TABs (so a token may hold spaces, or be empty, as in BTC); any other line is split on
    runs of whitespace. Blank and whitespace-only lines end a sentence; ``-DOCSTART-`` lines
    end a sentence and mark a document boundary, whether they open each document (CoNLL-2003)
    or close it (wikigold). The first token line fixes the
    column count and where the tag column is; a later line with fewer columns is an error,
    extra columns are ignored. Tags are decoded by :mod:`nerbench.tagging` under the scheme
    named in the options or detected over the whole file, and invalid transitions are
    repaired by the named policy (the count is ``Corpus.repairs``). A malformed tag (``B-``,
    ``X-PER``, see :func:`nerbench.tagging.split_tag`) is an error in every scheme. The work
    is done by :mod:`nerbench.adapters.data.tokencols`, on the whole file at once where it can.

    Tokens are kept verbatim (zero-width characters, U+FEFF, inner and trailing spaces are
    text) and joined with single spaces; sentences of one document are joined with ``"\\n"``.
    ``Document.tokens`` are the tokens' code-point offsets, so an empty token is a zero-width
    ``(k, k)`` pair. An entity made only of empty tokens has no character span: it is skipped
    and counted in ``Corpus.notes`` (none of the shipped corpora has one; their empty tokens
    are all ``O``).

    Ids are ``<stem>-<n>`` (n-th sentence, from 1) with ``group="sentence"``, and
    ``<stem>-doc<n>`` with ``group="document"`` (just ``<stem>`` when the file holds one
    document); in a directory, two files giving one id (``a.conll`` and ``a.txt``) are an
    error. ``meta["line"]`` is the first token's line; documents also carry
    ``meta["sentences"]``, the character range of each sentence.

Writing
    ``token<TAB>tag`` in IOB2, one blank line after each document. A document's gold tokens
    are used when it has them, else its text split at whitespace; a token is cut where a span
    starts or ends inside it. Overlapping spans, a span covering no token, a label holding
    a TAB, a line break or a comma (read back as alternatives), and a token holding a TAB, a
    line break or equal to ``-DOCSTART-`` cannot be written and raise InputError.
    Spaces inside a token are kept (the TAB separates the columns).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from nerbench.adapters.data import tokencols
from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans, read_text, shown, unix_newlines
from nerbench.errors import InputError
from nerbench.fileio import atomic_write
from nerbench.gc_paused import gc_paused
from nerbench.tagging import TagError, chunks_to_tags, malformed, split_tag
from nerbench.types import Document, Span

DOCSTART = tokencols.DOCSTART
_TAG_LIKE = re.compile(r"(?:O|[BIESLU]-\S+)(?:,(?:O|[BIESLU]-\S+))*")
_BARE_LABEL = re.compile(r"[A-Za-z][\w.-]*")
_UNWRITABLE = re.compile(r"[\t\n\r]")
_UNWRITABLE_LABEL = re.compile(r"[\t\n\r,]")


def _resolve_multi_labels(parsed: tokencols.Parsed, tagset: set[str], path: Path, options: ReadOptions) -> set[str]:
    """Apply the ``multi_label`` policy to comma-joined alternative tags; returns the new tag set."""
    joined = sorted(t for t in tagset if "," in t)
    if not joined:
        return tagset
    if options.multi_label == "error":
        tag = min(joined, key=parsed.tags.index)
        raise InputError(
            f"tag {shown(tag)} holds comma-joined alternatives: read with multi_label='first' to keep the first",
            path=path,
            line=parsed.line_of(parsed.tags.index(tag)),
        )
    first = {t: t.split(",", 1)[0] for t in joined}
    parsed.tags = [first.get(t, t) for t in parsed.tags]
    return {first.get(t, t) for t in tagset}


def _check_tags(parsed: tokencols.Parsed, tagset: set[str], scheme: str, path: Path) -> None:
    """Every distinct tag must be well formed and parse under ``scheme`` (checked once per tag, not per token)."""
    for tag in sorted(tagset):
        problem = malformed(tag) if tag != "O" else None
        hint = "" if problem else f"; this file reads as {scheme} (set the scheme if that is wrong)"
        try:
            split_tag(tag, scheme)
        except TagError as err:
            raise InputError(f"{err}{hint}", path=path, line=parsed.line_of(parsed.tags.index(tag))) from None


def _read_file(path: Path, options: ReadOptions, stem: str) -> tuple[list[Document], tokencols.Decoder]:
    parsed = tokencols.parse(unix_newlines(read_text(path)), path, options)
    if not parsed.lines:
        raise InputError("no token lines found: expected 'token<TAB>tag' lines", path=path)
    tagset = _resolve_multi_labels(parsed, set(parsed.tags), path, options)
    scan = tokencols.scan_iob(parsed, tagset) if options.scheme in ("auto", "IOB2") else None
    scheme = options.scheme if options.scheme != "auto" else tokencols.scheme_of(parsed, tagset, scan)
    _check_tags(parsed, tagset, scheme, path)
    decoder = tokencols.Decoder(path, scheme, options.repair)
    chunks = decoder.chunks(parsed, scan)
    n = len(parsed.lines)
    if options.group == "sentence":
        cuts = list(range(n + 1))
        names = [f"{stem}-{k}" for k in range(1, n + 1)]
    else:
        cuts = list(dict.fromkeys([0, *parsed.breaks, n]))  # documents between -DOCSTART- lines, none empty
        names = [stem] if len(cuts) == 2 else [f"{stem}-doc{k}" for k in range(1, len(cuts))]
    return decoder.documents(parsed, chunks, cuts, names), decoder


def _check_unique_ids(documents: list[Document], folder: Path) -> None:
    """Ids from file names can meet (``a.conll`` and ``a.txt``, or ``x-doc1.conll`` beside ``x.conll``): refuse."""
    seen: dict[str, int] = {}
    for doc in documents:
        if doc.id in seen:
            raise InputError(
                f"two files give the document id {doc.id!r} (files named alike, such as a.conll and a.txt): "
                "rename one, or read the files one by one",
                path=folder,
            )
        seen[doc.id] = 1


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
            with gc_paused():
                docs, decoder = _read_file(file, options, stem)
            documents.extend(docs)
            schemes.add(decoder.scheme)
            repairs += decoder.repairs
            empty += decoder.empty_chunks
        if len(files) > 1:
            _check_unique_ids(documents, path)
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
        text = "\n".join(lines) + "\n" if lines else ""
        # a first token starting with U+FEFF would read back as a byte-order mark: write one before it
        atomic_write(path, "\ufeff" + text if text.startswith("\ufeff") else text)


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
                f"document {doc.id!r}: span [{span.start}, {span.end}) {shown(span.label)} covers no token: "
                "CoNLL can only hold spans over tokens",
                path=path,
            )
        if _UNWRITABLE_LABEL.search(span.label):
            raise InputError(
                f"document {doc.id!r}: label {shown(span.label)} holds a TAB, a line break or a comma: "
                "CoNLL cannot write it; write JSONL instead",
                path=path,
            )
        chunks.append((first, stop, span.label))
    tags = chunks_to_tags(chunks, len(tokens), scheme="IOB2")
    lines = []
    for (start, end), tag in zip(tokens, tags, strict=True):
        token = doc.text[start:end]
        if _UNWRITABLE.search(token) or token == DOCSTART:
            raise InputError(
                f"document {doc.id!r}: token {shown(token)} holds a TAB or line break (or is -DOCSTART-): "
                "CoNLL cannot write it; re-tokenize the document",
                path=path,
            )
        lines.append(f"{token}\t{tag}")
    return lines


FORMAT = ConllFormat()
