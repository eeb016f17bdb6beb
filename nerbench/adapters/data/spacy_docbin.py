"""spaCy's binary training data: ``.spacy`` files written by ``DocBin.to_disk``.

Each Doc is one Document: its text, its entities (``doc.ents``, or the span group named
by ``ReadOptions.extra["spans_key"]``, which may overlap) as ``(start_char, end_char,
label_)``, and its tokens as ``(idx, idx + len)``, leaving out whitespace tokens (spaCy
keeps runs of extra whitespace as tokens; they are not tokens of the text in the CoNLL
sense). Ids are ``user_data["id"]`` when the DocBin stored user data, else
``<stem>-<n>`` (n from 1). A directory is read file by file (every ``.spacy`` below it).

spaCy is an optional dependency, imported when a file is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans
from nerbench.errors import InputError, MissingExtraError
from nerbench.types import Document, Span


def _load_docs(path: Path) -> list[Any]:
    """The Docs of one DocBin file; a missing or unreadable file is an InputError."""
    try:
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab
    except ImportError:
        raise MissingExtraError("spacy", "spacy") from None
    if not path.is_file():
        raise InputError("no such file: expected a .spacy DocBin", path=path)
    try:
        return list(DocBin(store_user_data=True).from_disk(path).get_docs(Vocab()))
    except Exception as err:  # a corrupt DocBin raises zlib, msgpack or spaCy errors alike
        raise InputError(f"not a spaCy DocBin ({type(err).__name__}: {err})", path=path) from None


def _spans(doc: Any, options: ReadOptions, path: Path, number: int) -> list[Span]:
    key = options.extra.get("spans_key")
    if key is None:
        return [Span(e.start_char, e.end_char, e.label_) for e in doc.ents]
    if key not in doc.spans:
        groups = ", ".join(doc.spans) or "none"
        raise InputError(f"doc {number} has no span group {key!r} (groups: {groups})", path=path)
    return [Span(s.start_char, s.end_char, s.label_) for s in doc.spans[key]]


def _document(doc: Any, number: int, stem: str, path: Path, options: ReadOptions) -> Document:
    spans = checked_spans(doc.text, _spans(doc, options, path, number), path=path, line=None, overlaps=options.overlaps)
    tokens = tuple((t.idx, t.idx + len(t)) for t in doc if not t.text.isspace())
    user_id = doc.user_data.get("id") if isinstance(doc.user_data, dict) else None
    doc_id = str(user_id) if isinstance(user_id, str | int) else f"{stem}-{number}"
    return Document(doc_id, doc.text, spans, tokens, {"doc": number})


@dataclass(frozen=True)
class SpacyDocBinFormat:
    """The ``spacy`` format: ``.spacy`` DocBin files (see the module docstring)."""

    name: str = "spacy"
    extensions: tuple[str, ...] = (".spacy",)
    description: str = "spaCy DocBin (.spacy) files: doc.ents (or a span group) over spaCy tokens"

    def sniff(self, path: Path, head: str) -> bool:
        """True for a ``.spacy`` file, or a directory holding only ``.spacy`` files."""
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            return bool(files) and all(p.suffix == ".spacy" for p in files)
        return path.suffix.lower() == ".spacy"

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read every Doc of the file (or of each ``.spacy`` file in the directory)."""
        files = sorted(path.rglob("*.spacy")) if path.is_dir() else [path]
        if not files:
            raise InputError("no .spacy files in this directory", path=path)
        documents: list[Document] = []
        for file in files:
            stem = file.relative_to(path).with_suffix("").as_posix() if path.is_dir() else file.stem
            docs = _load_docs(file)
            documents.extend(_document(doc, n, stem, file, options) for n, doc in enumerate(docs, 1))
        _check_unique(documents, path)
        return Corpus(tuple(documents), self.name)


def _check_unique(documents: list[Document], path: Path) -> None:
    seen: set[str] = set()
    for doc in documents:
        if doc.id in seen:
            raise InputError(f"duplicate document id {doc.id!r}: ids must be unique", path=path)
        seen.add(doc.id)


FORMAT = SpacyDocBinFormat()
