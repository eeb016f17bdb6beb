"""JSONL with character offsets: one document per line, the spaCy/Prodigy shape.

Reading
    Each non-blank line is a JSON object with ``"text"`` and its entities as
    ``"spans": [{"start", "end", "label"}, ...]`` (Prodigy's spans may also carry
    ``token_start``/``token_end``, ``pattern``, ``score``, ``rank``, ``source``,
    ``input_hash`` and ``kb_id``, ignored, and ``"text"``, which must equal
    ``text[start:end]``) or ``"entities": [[start, end, label], ...]``. Offsets are
    code points, end exclusive. Only these two keys hold spans: a span with another key,
    ``"spans"`` or ``"entities"`` of another type, and a line keeping spans under a key
    other formats use (``"label"``, ``"labels"``, ``"ents"``, ``"annotations"``,
    ``"ner_tags"``) are errors, not documents without entities; a string ``"label"`` beside
    ``"spans"`` (Prodigy's task label) is allowed. ``"id"`` is optional (else the line
    number); ``"tokens"`` is Prodigy's ``[{"text", "start", "end", "id"}]`` or nerbench's
    ``[[start, end], ...]``; ``"meta"`` (an object) goes to ``Document.meta``.
    Prodigy lines answered ``"reject"`` or ``"ignore"`` are not gold: they are skipped
    and counted in ``Corpus.notes`` (an answer other than these and ``"accept"`` is an
    error). Prediction files written by nerbench also carry ``"native_label"`` per span:
    those are kept in ``meta["native_labels"]``, aligned with ``Document.spans``. Spans
    come back with ``surface=None``. Read with ``predictions=True``, a line's
    ``"invalid"`` entries (predictions a run found invalid) are appended to its spans
    unchecked, so scoring the file counts them. Lines end at ``"\\n"``, ``"\\r\\n"`` or
    ``"\\r"``; JSON nested deeper than 100 levels and ``\\u`` escapes making a lone
    surrogate are errors (see :mod:`nerbench.adapters.data.jsontext`).

Writing
    ``{"id", "text", "spans": [{"start", "end", "label"}]}`` per line, plus
    ``"tokens": [[start, end], ...]`` when the document has gold tokens; UTF-8, not
    ASCII-escaped, written to a temporary file and renamed (complete or absent). Two
    documents with one id cannot be read back, so they are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data import jsontext
from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans, kind_of, read_text, shown, unix_newlines
from nerbench.errors import InputError
from nerbench.fileio import atomic_write
from nerbench.types import Document, Span

_SKIPPED_ANSWERS = ("reject", "ignore")


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; bad JSON or a non-object raises.

    Lines end at ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``; each line is parsed with
    :mod:`nerbench.adapters.data.jsontext`'s limits (nesting, lone surrogates).
    """
    for number, line in enumerate(unix_newlines(read_text(path)).split("\n"), 1):
        if not line.strip():
            continue
        obj = jsontext.loads(line, path=path, line=number)
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object per line, found {kind_of(obj)}", path=path, line=number)
        yield number, obj


def text_field(obj: dict[str, Any], path: Path, line: int | None, key: str = "text") -> str:
    """The object's document text; a missing or non-string one raises."""
    text = obj.get(key)
    if not isinstance(text, str):
        found = "none" if text is None else kind_of(text)
        raise InputError(f"expected a {key!r} string holding the document text, found {found}", path=path, line=line)
    return text


def int_offset(value: Any, what: str, path: Path, line: int | None) -> int:
    """An integer offset (bools and floats are refused: they are a file's mistake, not offsets)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be an integer code-point offset, found {shown(value)}", path=path, line=line)
    return value


def label_field(value: Any, path: Path, line: int | None) -> str:
    if not isinstance(value, str):
        raise InputError(f"span label must be a string, found {shown(value)}", path=path, line=line)
    return value


def list_field(obj: dict[str, Any], key: str, shape: str, path: Path, line: int | None) -> list[Any]:
    """``obj[key]`` when it is a list (an empty one when the key is absent); any other value raises."""
    value = obj.get(key, [])
    if not isinstance(value, list):
        found = kind_of(value)
        raise InputError(f"{key!r} must be a list of {shape}, found {found}", path=path, line=line)
    return value


def check_surface(text: str, span: Span, surface: Any, path: Path, line: int | None) -> None:
    """Raise when a span's stated text differs from the text its offsets cover."""
    if surface is None or not 0 <= span.start < span.end <= len(text):
        return  # no stated text, or bad offsets that checked_spans reports
    if surface != text[span.start : span.end]:
        raise InputError(
            f"span [{span.start}, {span.end}) {shown(span.label)} says its text is {shown(surface)} "
            f"but the text there is {shown(text[span.start : span.end])}: offsets must be code points into the text",
            path=path,
            line=line,
        )


def unique_id(doc_id: Any, seen: set[str], path: Path, line: int | None) -> str:
    """The id as a string, refused when an earlier document has it (predictions are paired by id)."""
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
        raise InputError(f"document id must be a string or an integer, found {shown(doc_id)}", path=path, line=line)
    doc_id = str(doc_id)
    if doc_id in seen:
        raise InputError(f"duplicate document id {shown(doc_id)}: ids must be unique", path=path, line=line)
    seen.add(doc_id)
    return doc_id


_SPAN_KEYS = frozenset({"start", "end", "label"})
# Keys a span may carry besides: its text (checked), nerbench's native label, Prodigy's and spaCy's extras.
_SPAN_EXTRAS = frozenset({"text", "native_label", "token_start", "token_end", "pattern", "score", "rank"})
_SPAN_EXTRAS |= {"source", "input_hash", "kb_id"}
_SPAN_ALL_KEYS = _SPAN_KEYS | _SPAN_EXTRAS
# Keys other formats keep spans under, and what to do about each.
_FOREIGN_SPAN_KEYS = {
    "label": " (Doccano's 'label' lists: read with --format doccano)",
    "labels": " (Doccano's 'labels' lists: read with --format doccano)",
    "ents": " (spaCy's Doc.to_json: rename 'ents' to 'spans')",
    "annotations": " (a Label Studio export: read with --format labelstudio)",
    "ner_tags": " (Hugging Face tokens and ner_tags: read with --format hf)",
}
_ANSWERS = ("accept", "reject", "ignore")


def _check_span_keys(obj: dict[str, Any], path: Path, line: int) -> None:
    """Refuse spans kept where this format does not read them (they would read as none)."""
    if obj.keys().isdisjoint(_FOREIGN_SPAN_KEYS):
        return
    for key, hint in _FOREIGN_SPAN_KEYS.items():
        if key not in obj or (key == "label" and isinstance(obj[key], str) and "spans" in obj):
            continue  # a string "label" beside "spans" is Prodigy's task label
        raise InputError(
            f"key {key!r} holds no spans this format reads: spans go in 'spans' [{{start, end, label}}] "
            f"or 'entities' [[start, end, label]]{hint}",
            path=path,
            line=line,
        )


def _span(raw: Any, text: str, native: dict[Span, str], path: Path, line: int) -> Span:
    if type(raw) is dict and len(raw) == 3:  # the common {start, end, label}: checked in one pass
        start, end, label = raw.get("start"), raw.get("end"), raw.get("label")
        if type(start) is int and type(end) is int and type(label) is str:
            return Span(start, end, label)
    if not isinstance(raw, dict) or not raw.keys() >= _SPAN_KEYS:
        raise InputError(f"span {shown(raw)} needs 'start', 'end' and 'label'", path=path, line=line)
    if not raw.keys() <= _SPAN_ALL_KEYS:
        unknown = raw.keys() - _SPAN_ALL_KEYS
        raise InputError(
            f"span has unknown key(s) {', '.join(map(shown, sorted(unknown)))}: a span is start, end, label "
            f"(and optionally {', '.join(sorted(_SPAN_EXTRAS))})",
            path=path,
            line=line,
        )
    span = Span(
        int_offset(raw["start"], "start", path, line),
        int_offset(raw["end"], "end", path, line),
        label_field(raw["label"], path, line),
    )
    check_surface(text, span, raw.get("text"), path, line)
    if "native_label" in raw:
        native[span] = label_field(raw["native_label"], path, line)
    return span


def _spans(obj: dict[str, Any], text: str, path: Path, line: int) -> tuple[list[Span], dict[Span, str]]:
    """The line's spans (from ``spans`` or ``entities``) and any ``native_label`` they carry."""
    _check_span_keys(obj, path, line)
    native: dict[Span, str] = {}
    spans = [
        _span(raw, text, native, path, line) for raw in list_field(obj, "spans", "{start, end, label}", path, line)
    ]
    for raw in list_field(obj, "entities", "[start, end, label]", path, line):
        if not isinstance(raw, list) or len(raw) != 3:
            hint = " (Doccano's start_offset objects: read with --format doccano)" if isinstance(raw, dict) else ""
            raise InputError(f"entity {shown(raw)} must be [start, end, label]{hint}", path=path, line=line)
        start, end, label = raw
        spans.append(
            Span(
                int_offset(start, "start", path, line),
                int_offset(end, "end", path, line),
                label_field(label, path, line),
            )
        )
    return spans, native


def _tokens(raw: Any, text: str, path: Path, line: int) -> tuple[tuple[int, int], ...] | None:
    """Prodigy token objects or ``[start, end]`` pairs -> checked ``(start, end)`` offsets."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InputError("'tokens' must be a list", path=path, line=line)
    size = len(text)
    try:  # the common case, [start, end] pairs of plain integers inside the text, checked in one pass
        pairs = tuple((start, end) for start, end in raw)
    except (TypeError, ValueError):
        pairs = None
    if pairs is not None and all(type(a) is int and type(b) is int and 0 <= a <= b <= size for a, b in pairs):
        return pairs
    tokens = []
    for token in raw:
        pair = (token.get("start"), token.get("end")) if isinstance(token, dict) else token
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise InputError(
                f"token {shown(token)} must be {{'start', 'end', ...}} or [start, end]", path=path, line=line
            )
        start, end = (int_offset(v, "token offset", path, line) for v in pair)
        if not 0 <= start <= end <= len(text):
            raise InputError(f"token [{start}, {end}) is outside the text (length {len(text)})", path=path, line=line)
        tokens.append((start, end))
    return tuple(tokens)


def parse_document(obj: dict[str, Any], *, path: Path, line: int, seen: set[str], options: ReadOptions) -> Document:
    """One JSONL object -> a checked Document."""
    text = text_field(obj, path, line)
    spans, native = _spans(obj, text, path, line)
    ordered = checked_spans(text, spans, path=path, line=line, overlaps=options.overlaps)
    raw_meta = obj.get("meta", {})
    if not isinstance(raw_meta, dict):
        raise InputError(f"'meta' must be an object, found {kind_of(raw_meta)}", path=path, line=line)
    meta: dict[str, Any] = dict(raw_meta)
    meta["line"] = line
    if native:
        meta["native_labels"] = tuple(native.get(s, s.label) for s in ordered)
    if options.predictions:
        ordered += _invalid_predictions(obj, path, line)
    doc_id = unique_id(obj.get("id", str(line)), seen, path, line)
    return Document(doc_id, text, ordered, _tokens(obj.get("tokens"), text, path, line), meta)


def _invalid_predictions(obj: dict[str, Any], path: Path, line: int) -> tuple[Span, ...]:
    """A run's ``"invalid"`` entries (offsets outside the text, or surface text that differs), unchecked."""
    spans = []
    for entry in list_field(obj, "invalid", "{start, end, native_label}", path, line):
        if not isinstance(entry, dict):
            raise InputError(f"invalid prediction {shown(entry)} must be an object", path=path, line=line)
        label = label_field(entry.get("native_label", entry.get("label")), path, line)
        start, end = (
            int_offset(entry.get("start"), "start", path, line),
            int_offset(entry.get("end"), "end", path, line),
        )
        surface = entry.get("text")
        spans.append(Span(start, end, label, surface if isinstance(surface, str) else None))
    return tuple(spans)


def _answer(obj: dict[str, Any], path: Path, line: int) -> str:
    """Prodigy's answer (``accept`` when there is none); another value raises rather than guess."""
    answer = obj.get("answer", "accept")
    if answer not in _ANSWERS:
        raise InputError(f"'answer' must be one of {', '.join(_ANSWERS)}, found {shown(answer)}", path=path, line=line)
    return str(answer)


def first_object(path: Path, head: str) -> dict[str, Any] | None:
    """The first non-blank line as a JSON object, or None when it is not one.

    A first line longer than ``head`` is read whole from ``path``: the keys that tell
    formats apart may come after a long text.
    """
    lines = head.split("\n")
    first = next((line for line in lines[:-1] if line.strip()), None)
    if first is None:
        first = _first_line(path) if path.is_file() else head
    try:
        obj = json.loads(first)
    except (ValueError, RecursionError):  # bad JSON, a number too long, nesting too deep: not this format
        return None
    return obj if isinstance(obj, dict) else None


def is_doccano_object(obj: dict[str, Any]) -> bool:
    """Doccano's keys: ``label``/``labels`` lists, or ``entities`` objects with ``start_offset``."""
    if isinstance(obj.get("label"), list) or isinstance(obj.get("labels"), list):
        return True
    entities = obj.get("entities")
    return isinstance(entities, list) and any(isinstance(e, dict) and "start_offset" in e for e in entities)


def _first_line(path: Path, limit: int = 64 << 20) -> str:
    """The first non-blank line of a file (up to ``limit`` bytes), decoded leniently ("" when unreadable)."""
    try:
        with path.open("rb") as fh:
            while raw := fh.readline(limit):
                if raw.strip():
                    return raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    except OSError:
        pass  # the reader says what is wrong with the file
    return ""


def _document_line(doc: Document, path: Path) -> str:
    checked_spans(doc.text, doc.spans, path=path, line=None, overlaps="allow")
    obj: dict[str, Any] = {
        "id": doc.id,
        "text": doc.text,
        "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in doc.spans],
    }
    if doc.tokens is not None:
        obj["tokens"] = [[start, end] for start, end in doc.tokens]
    return json.dumps(obj, ensure_ascii=False)


@dataclass(frozen=True)
class JsonlFormat:
    """The ``jsonl`` format: character offsets, one document per line (see the module docstring)."""

    name: str = "jsonl"
    extensions: tuple[str, ...] = (".jsonl", ".ndjson", ".json")
    description: str = "JSONL with character offsets (spaCy/Prodigy spans, or entities triples)"

    def sniff(self, path: Path, head: str) -> bool:
        """True when the first line is an object with a text (and not Doccano's label lists)."""
        obj = first_object(path, head)
        if obj is None:
            return False
        if isinstance(obj.get("spans"), list):
            return isinstance(obj.get("text"), str)
        return isinstance(obj.get("text"), str) and not is_doccano_object(obj)

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read every line as one document; Prodigy rejects are skipped and counted."""
        documents: list[Document] = []
        seen: set[str] = set()
        skipped = 0
        for line, obj in json_lines(path):
            if _answer(obj, path, line) in _SKIPPED_ANSWERS:
                skipped += 1
                continue
            documents.append(parse_document(obj, path=path, line=line, seen=seen, options=options))
        notes = (f"{skipped} Prodigy lines answered reject/ignore were skipped",) if skipped else ()
        return Corpus(tuple(documents), self.name, notes=notes)

    def write(self, documents: Sequence[Document], path: Path) -> None:
        """Write one JSON object per document (atomically)."""
        path = Path(path)
        seen: set[str] = set()
        lines = []
        for doc in documents:
            if doc.id in seen:
                raise InputError(f"two documents have the id {doc.id!r}: ids must be unique to read back", path=path)
            seen.add(doc.id)
            lines.append(_document_line(doc, path))
        atomic_write(path, "".join(line + "\n" for line in lines))


FORMAT = JsonlFormat()
