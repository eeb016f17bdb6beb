"""Doccano's JSONL export for sequence labelling.

Each non-blank line is a JSON object with ``"text"`` and its entities as either
``"label": [[start, end, "LABEL"], ...]`` (the usual export; ``"labels"`` in older
versions) or ``"entities": [{"id", "label", "start_offset", "end_offset"}, ...]``
(the export with relations). Offsets are code points, end exclusive. ``"id"`` is the
document id when present, else the line number; other keys go to ``Document.meta``.
The extension is ``.jsonl`` like the generic format, so :meth:`DoccanoFormat.sniff`
decides by the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans, shown
from nerbench.adapters.data.jsonl import (
    first_object,
    int_offset,
    is_doccano_object,
    json_lines,
    label_field,
    text_field,
    unique_id,
)
from nerbench.errors import InputError
from nerbench.types import Document, Span

_ENTITY_KEYS = {"label", "start_offset", "end_offset"}
_ENTITY_EXTRAS = {"id"}
_SPAN_KEYS = ("label", "labels", "entities")


def _triples(raw: Any, path: Path, line: int) -> list[Span]:
    """``[[start, end, label], ...]`` -> spans."""
    if not isinstance(raw, list):
        raise InputError(f"'label' must be a list of [start, end, label], found {shown(raw)}", path=path, line=line)
    spans = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 3:
            raise InputError(f"label {shown(item)} must be [start, end, label]", path=path, line=line)
        start, end, label = item
        spans.append(
            Span(
                int_offset(start, "start", path, line),
                int_offset(end, "end", path, line),
                label_field(label, path, line),
            )
        )
    return spans


def _entity_objects(raw: Any, path: Path, line: int) -> list[Span]:
    """``[{"label", "start_offset", "end_offset"}, ...]`` -> spans."""
    if not isinstance(raw, list):
        raise InputError(f"'entities' must be a list, found {shown(raw)}", path=path, line=line)
    spans = []
    for item in raw:
        if not isinstance(item, dict) or not item.keys() >= _ENTITY_KEYS:
            raise InputError(
                f"entity {shown(item)} needs 'label', 'start_offset' and 'end_offset'", path=path, line=line
            )
        unknown = item.keys() - _ENTITY_KEYS - _ENTITY_EXTRAS
        if unknown:
            raise InputError(
                f"entity has unknown key(s) {', '.join(map(shown, sorted(unknown)))}: "
                "an entity is id, label, start_offset, end_offset",
                path=path,
                line=line,
            )
        start = int_offset(item["start_offset"], "start_offset", path, line)
        end = int_offset(item["end_offset"], "end_offset", path, line)
        spans.append(Span(start, end, label_field(item["label"], path, line)))
    return spans


def _raw_spans(obj: dict[str, Any], path: Path, line: int) -> list[Span]:
    """The spans under the one key that holds them; none, several, or nerbench's ``spans`` raise."""
    if "spans" in obj:
        raise InputError(
            "key 'spans' is not Doccano's: Doccano keeps spans in 'label' or 'entities' "
            "(a nerbench/Prodigy JSONL line? read the file with --format jsonl)",
            path=path,
            line=line,
        )
    keys = [key for key in _SPAN_KEYS if key in obj]
    if len(keys) != 1:
        found = f"{' and '.join(map(repr, keys))} both" if keys else "none of them"
        raise InputError(
            f"a Doccano line keeps its spans in one of 'label', 'labels' or 'entities', found {found}",
            path=path,
            line=line,
        )
    if keys[0] == "entities":
        return _entity_objects(obj["entities"], path, line)
    return _triples(obj[keys[0]], path, line)


def _document(obj: dict[str, Any], *, path: Path, line: int, seen: set[str], options: ReadOptions) -> Document:
    text = text_field(obj, path, line)
    spans = _raw_spans(obj, path, line)
    ordered = checked_spans(text, spans, path=path, line=line, overlaps=options.overlaps)
    meta = {k: v for k, v in obj.items() if k not in ("id", "text", "label", "labels", "entities")}
    meta["line"] = line
    return Document(unique_id(obj.get("id", str(line)), seen, path, line), text, ordered, None, meta)


@dataclass(frozen=True)
class DoccanoFormat:
    """The ``doccano`` format: Doccano's sequence-labelling JSONL export."""

    name: str = "doccano"
    extensions: tuple[str, ...] = (".jsonl", ".json")
    description: str = "Doccano JSONL export ('label' triples or 'entities' with start_offset)"

    def sniff(self, path: Path, head: str) -> bool:
        """True when the first line has a text and Doccano's ``label`` list or ``start_offset`` entities."""
        obj = first_object(path, head)
        if obj is None:
            return False
        return isinstance(obj.get("text"), str) and "spans" not in obj and is_doccano_object(obj)

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read every line as one document."""
        seen: set[str] = set()
        documents = [_document(obj, path=path, line=line, seen=seen, options=options) for line, obj in json_lines(path)]
        return Corpus(tuple(documents), self.name)


FORMAT = DoccanoFormat()
