"""Label Studio's JSON export: a JSON array of tasks.

Each task holds ``"data"`` with the document text under ``"text"`` (or the key named
by ``ReadOptions.extra["text_key"]``, else the first string value) and
``"annotations"`` (``"completions"`` in old exports). The first annotation not marked
``was_cancelled`` is the gold one; its ``"result"`` items of type ``"labels"`` are the
spans: ``value = {"start", "end", "text", "labels": [...]}``. A result with several
labels follows ``ReadOptions.multi_label`` (``"error"``, or ``"first"`` to keep the
first). Tasks with no usable annotation are not gold: they are skipped and counted
in ``Corpus.notes``, as are results of other span types (``hypertextlabels``...).

Offsets are code points in current Label Studio; older versions counted UTF-16 code
units, which shifts every span after an emoji. ``value.text`` is checked against the
text the offsets cover and a difference raises. Errors name the line where the task
starts. The task ``"id"`` is the document id (else its position, from 1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.adapters.data.base import Corpus, ReadOptions, checked_spans, read_text
from nerbench.adapters.data.jsonl import check_surface, int_offset, label_field, unique_id
from nerbench.errors import InputError
from nerbench.types import Document, Span

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_error(err: json.JSONDecodeError, path: Path) -> InputError:
    return InputError(f"invalid JSON ({err.msg}, column {err.colno})", path=path, line=err.lineno)


def _tasks(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, task)`` for each element of the top-level array, parsed one at a time to know its line."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        raise InputError(
            "expected a JSON array of tasks (Label Studio's JSON export)", path=path, line=_line(text, pos)
        )
    pos, line, counted = _skip(text, pos + 1), 1, 0
    while not text.startswith("]", pos):
        line, counted = line + text.count("\n", counted, pos), pos
        try:
            task, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise _json_error(err, path) from None
        yield line, task
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("]", pos):
            raise _json_error(json.JSONDecodeError("expected ',' or ']' after a task", text, pos), path)


def _skip(text: str, pos: int) -> int:
    """The position of the next non-whitespace character from ``pos``."""
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _task_text(task: dict[str, Any], options: ReadOptions, path: Path, line: int) -> str:
    data = task.get("data")
    if not isinstance(data, dict):
        raise InputError("task has no 'data' object holding the text", path=path, line=line)
    key = options.extra.get("text_key", "text")
    if isinstance(data.get(key), str):
        return str(data[key])
    first = next((v for v in data.values() if isinstance(v, str)), None)
    if first is None:
        raise InputError(f"task data has no {key!r} string (nor any string value)", path=path, line=line)
    return first


def _annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The first annotation that was not cancelled, or None."""
    annotations = task.get("annotations", task.get("completions")) or []
    for annotation in annotations if isinstance(annotations, list) else []:
        if isinstance(annotation, dict) and not annotation.get("was_cancelled"):
            return annotation
    return None


def _span(value: Any, text: str, options: ReadOptions, path: Path, line: int) -> Span:
    if not isinstance(value, dict) or not {"start", "end", "labels"} <= value.keys():
        raise InputError(f"'labels' result value {value!r} needs 'start', 'end' and 'labels'", path=path, line=line)
    labels = value["labels"]
    if not isinstance(labels, list) or not labels:
        raise InputError(f"'labels' must be a non-empty list, found {labels!r}", path=path, line=line)
    if len(labels) > 1 and options.multi_label == "error":
        raise InputError(
            f"a span has several labels {labels!r}: read with multi_label='first' to keep the first",
            path=path,
            line=line,
        )
    start, end = int_offset(value["start"], "start", path, line), int_offset(value["end"], "end", path, line)
    span = Span(start, end, label_field(labels[0], path, line))
    check_surface(text, span, value.get("text"), path, line)
    return span


@dataclass
class _Counts:
    unannotated: int = 0
    other_types: set[str] = field(default_factory=set)


def _document(
    task: Any, index: int, *, line: int, path: Path, options: ReadOptions, seen: set[str], counts: _Counts
) -> Document | None:
    if not isinstance(task, dict):
        raise InputError(f"expected a task object, found {type(task).__name__}", path=path, line=line)
    text = _task_text(task, options, path, line)
    annotation = _annotation(task)
    if annotation is None:
        counts.unannotated += 1
        return None
    spans = []
    for result in annotation.get("result") or []:
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "labels":
            spans.append(_span(result.get("value"), text, options, path, line))
        elif isinstance(kind, str) and kind.endswith("labels"):
            counts.other_types.add(kind)
    ordered = checked_spans(text, spans, path=path, line=line, overlaps=options.overlaps)
    doc_id = unique_id(task.get("id", str(index)), seen, path, line)
    return Document(doc_id, text, ordered, None, {"line": line})


def _notes(counts: _Counts) -> tuple[str, ...]:
    notes = []
    if counts.unannotated:
        notes.append(f"{counts.unannotated} tasks without a (non-cancelled) annotation were skipped")
    if counts.other_types:
        notes.append(f"results of type {', '.join(sorted(counts.other_types))} were ignored (only 'labels' is read)")
    return tuple(notes)


@dataclass(frozen=True)
class LabelStudioFormat:
    """The ``labelstudio`` format: Label Studio's JSON export of text-span tasks."""

    name: str = "labelstudio"
    extensions: tuple[str, ...] = (".json",)
    description: str = "Label Studio JSON export (tasks with 'labels' results)"

    def sniff(self, path: Path, head: str) -> bool:
        """True when the file is a JSON array whose first task has ``data`` and annotations."""
        stripped = head.lstrip()
        return stripped.startswith("[") and '"data"' in head and ('"annotations"' in head or '"completions"' in head)

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read every task's first non-cancelled annotation as one document."""
        seen: set[str] = set()
        counts = _Counts()
        documents = []
        for index, (line, task) in enumerate(_tasks(read_text(path), path), 1):
            doc = _document(task, index, line=line, path=path, options=options, seen=seen, counts=counts)
            if doc is not None:
                documents.append(doc)
        return Corpus(tuple(documents), self.name, notes=_notes(counts))


FORMAT = LabelStudioFormat()
