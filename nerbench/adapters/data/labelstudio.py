"""Label Studio's JSON exports: a JSON array of tasks, in the JSON or the JSON-MIN shape.

JSON (the full export): each task holds ``"data"`` with the document text under
``"text"`` (or the key named by ``ReadOptions.extra["text_key"]``, else the first string
value) and ``"annotations"`` (``"completions"`` in old exports). The first annotation not
marked ``was_cancelled`` is the gold one; its ``"result"`` items of type ``"labels"`` are
the spans: ``value = {"start", "end", "text", "labels": [...]}``. Tasks with no usable
annotation are not gold: they are skipped and counted in ``Corpus.notes``, as are results
of other span types (``hypertextlabels``...). ``annotations`` and ``result`` must be
lists and each result an object with a ``type``: anything else is an error, never a task
without entities.

JSON-MIN: each record is the task's data keys (the text as above), its ``"id"``, and
for each labelling control a list of regions ``{"start", "end", "text", "labels"}`` under
the control's name (``"label"`` in Label Studio's NER template), with ``annotator``,
``annotation_id``, ``created_at``, ``updated_at``, ``lead_time`` beside. Every list of
objects holding ``"labels"`` is read as spans; lists of other ``...labels`` regions are
counted in the notes. A record whose ``annotation_id`` is null is a task without an
annotation (skipped and counted); a task annotated several times has one record per
annotation, newest first: the first is gold, the others are skipped and counted. The
first task decides the shape; a task of the other shape later is an error.

A region with several labels follows ``ReadOptions.multi_label`` (``"error"``, or
``"first"`` to keep the first). Offsets are code points in current Label Studio; older
versions counted UTF-16 code units, which shifts every span after an emoji.
``value.text`` is checked against the text the offsets cover and a difference raises.
Errors name the line where the task starts. The task ``"id"`` is the document id (else
its position, from 1). Anything but whitespace after the array is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.adapters.data import jsontext
from nerbench.adapters.data.base import (
    Corpus,
    ReadOptions,
    checked_spans,
    kind_of,
    plain,
    read_text,
    shown,
    unix_newlines,
)
from nerbench.adapters.data.jsonl import check_surface, int_offset, label_field, unique_id
from nerbench.errors import InputError
from nerbench.types import Document, Span

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _json_error(err: json.JSONDecodeError, path: Path) -> InputError:
    return InputError(f"invalid JSON ({err.msg}, column {err.colno})", path=path, line=err.lineno)


def _tasks(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, task)`` for each element of the top-level array, parsed one at a time to know its line."""
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        raise InputError(
            "expected a JSON array of tasks (Label Studio's JSON or JSON-MIN export)", path=path, line=_line(text, pos)
        )
    pos, line, counted = _skip(text, pos + 1), 1, 0
    while not text.startswith("]", pos):
        line, counted = line + text.count("\n", counted, pos), pos
        task, pos = jsontext.decode_at(text, pos, path=path)
        yield line, task
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("]", pos):
            raise _json_error(json.JSONDecodeError("expected ',' or ']' after a task", text, pos), path)
    end = _skip(text, pos + 1)
    if end < len(text):
        raise _json_error(json.JSONDecodeError("extra data after the array of tasks", text, end), path)


def _skip(text: str, pos: int) -> int:
    """The position of the next non-whitespace character from ``pos``."""
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# Keys JSON-MIN adds beside a task's data: never its text.
_MIN_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"})


def _text(data: dict[str, Any], options: ReadOptions, path: Path, line: int, skip: frozenset[str]) -> str:
    """The text under the text key, else the first string value (outside ``skip``)."""
    key = options.extra.get("text_key", "text")
    if key in data:
        if not isinstance(data[key], str):
            raise InputError(f"task data {key!r} must be a string, found {kind_of(data[key])}", path=path, line=line)
        return str(data[key])
    first = next((v for k, v in data.items() if isinstance(v, str) and k not in skip), None)
    if first is None:
        raise InputError(f"task data has no {key!r} string (nor any string value)", path=path, line=line)
    return first


def _annotation(task: dict[str, Any], path: Path, line: int) -> dict[str, Any] | None:
    """The first annotation that was not cancelled, or None; a malformed list raises."""
    key = "annotations" if "annotations" in task else "completions"
    annotations = task.get(key, [])
    if not isinstance(annotations, list):
        raise InputError(f"{key!r} must be a list, found {kind_of(annotations)}", path=path, line=line)
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise InputError(f"an annotation must be an object, found {kind_of(annotation)}", path=path, line=line)
        if not annotation.get("was_cancelled"):
            return annotation
    return None


def _span(value: Any, text: str, options: ReadOptions, path: Path, line: int) -> Span:
    if not isinstance(value, dict) or not {"start", "end", "labels"} <= value.keys():
        raise InputError(f"'labels' region {shown(value)} needs 'start', 'end' and 'labels'", path=path, line=line)
    labels = value["labels"]
    if not isinstance(labels, list) or not labels:
        raise InputError(f"'labels' must be a non-empty list, found {shown(labels)}", path=path, line=line)
    if len(labels) > 1 and options.multi_label == "error":
        raise InputError(
            f"a span has several labels {shown(labels)}: read with multi_label='first' to keep the first",
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
    repeated: int = 0


def _result_spans(
    annotation: dict[str, Any], text: str, *, path: Path, line: int, options: ReadOptions, counts: _Counts
) -> list[Span]:
    """The spans of an annotation's ``"labels"`` results (JSON shape)."""
    results = annotation.get("result")
    spans: list[Span] = []
    if not isinstance(results, list):
        found = "none" if results is None else kind_of(results)
        raise InputError(f"an annotation's 'result' must be a list, found {found}", path=path, line=line)
    for result in results:
        kind = result.get("type") if isinstance(result, dict) else None
        if not isinstance(kind, str):
            raise InputError(
                f"a result must be an object with a 'type' string, found {shown(result)}", path=path, line=line
            )
        if kind == "labels":
            spans.append(_span(result.get("value"), text, options, path, line))
        elif kind.endswith("labels"):
            counts.other_types.add(kind)
    return spans


def _region_spans(
    record: dict[str, Any], text: str, *, path: Path, line: int, options: ReadOptions, counts: _Counts
) -> list[Span]:
    """The spans of every list of ``"labels"`` regions in a JSON-MIN record."""
    spans: list[Span] = []
    for key, value in record.items():
        if key in _MIN_KEYS or not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            continue
        if any("labels" in v for v in value):
            spans.extend(_span(v, text, options, path, line) for v in value)
        else:
            counts.other_types.update(k for v in value for k in v if k.endswith("labels"))
    return spans


def _is_min(task: Any) -> bool:
    """True for a JSON-MIN record: an object without the JSON shape's ``data`` and annotations."""
    return isinstance(task, dict) and not {"data", "annotations", "completions"} & task.keys()


@dataclass
class _Reader:
    """Reads the tasks of one file into Documents, in the shape its first task has."""

    path: Path
    options: ReadOptions
    minimal: bool | None = None
    seen: set[str] = field(default_factory=set)
    counts: _Counts = field(default_factory=_Counts)

    def document(self, task: Any, index: int, line: int) -> Document | None:
        """The task's Document, or None for a task that is not gold (counted)."""
        if not isinstance(task, dict):
            raise InputError(f"expected a task object, found {kind_of(task)}", path=self.path, line=line)
        if self.minimal is None:
            self.minimal = _is_min(task)
        elif self.minimal != _is_min(task):
            shapes = ("JSON-MIN", "JSON") if self.minimal else ("JSON", "JSON-MIN")
            raise InputError(
                f"the first task is in the {shapes[0]} shape, this one in {shapes[1]}", path=self.path, line=line
            )
        doc_id = task.get("id", str(index))
        found = self._min_record(task, doc_id, line) if self.minimal else self._json_task(task, line)
        if found is None:
            return None
        text, spans = found
        ordered = checked_spans(text, spans, path=self.path, line=line, overlaps=self.options.overlaps)
        return Document(unique_id(doc_id, self.seen, self.path, line), text, ordered, None, {"line": line})

    def _json_task(self, task: dict[str, Any], line: int) -> tuple[str, list[Span]] | None:
        data = task.get("data")
        if not isinstance(data, dict):
            raise InputError("task has no 'data' object holding the text", path=self.path, line=line)
        text = _text(data, self.options, self.path, line, frozenset())
        annotation = _annotation(task, self.path, line)
        if annotation is None:
            self.counts.unannotated += 1
            return None
        return text, _result_spans(
            annotation, text, path=self.path, line=line, options=self.options, counts=self.counts
        )

    def _min_record(self, record: dict[str, Any], doc_id: Any, line: int) -> tuple[str, list[Span]] | None:
        if record.get("annotation_id", "") is None:
            self.counts.unannotated += 1
            return None
        if isinstance(doc_id, str | int) and str(doc_id) in self.seen:
            self.counts.repeated += 1  # another annotation of a task read already
            return None
        text = _text(record, self.options, self.path, line, _MIN_KEYS)
        return text, _region_spans(record, text, path=self.path, line=line, options=self.options, counts=self.counts)


def _notes(counts: _Counts) -> tuple[str, ...]:
    notes = []
    if counts.unannotated:
        notes.append(f"{counts.unannotated} tasks without a (non-cancelled) annotation were skipped")
    if counts.repeated:
        notes.append(f"{counts.repeated} further annotations of a task were skipped (its first record is gold)")
    if counts.other_types:
        notes.append(
            f"results of type {', '.join(map(plain, sorted(counts.other_types)))} were ignored (only 'labels' is read)"
        )
    return tuple(notes)


def _first_task(path: Path, head: str) -> Any:
    """The first element of the file's array (reading on past ``head`` when it is longer), or None."""
    text = head
    for _ in range(2):
        pos = _skip(text, 0)
        if not text.startswith("[", pos):
            return None
        try:
            return json.JSONDecoder().raw_decode(text, _skip(text, pos + 1))[0]
        except (ValueError, RecursionError):
            if len(text) > len(head) or not path.is_file():
                return None
        try:
            with path.open("rb") as fh:
                text = unix_newlines(fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace").removeprefix("\ufeff"))
        except OSError:
            return None
    return None


_SNIFF_BYTES = 16 << 20  # a first task longer than this is not recognised (name the format)


@dataclass(frozen=True)
class LabelStudioFormat:
    """The ``labelstudio`` format: Label Studio's JSON and JSON-MIN exports of text-span tasks."""

    name: str = "labelstudio"
    extensions: tuple[str, ...] = (".json",)
    description: str = "Label Studio JSON or JSON-MIN export (tasks with 'labels' results)"

    def sniff(self, path: Path, head: str) -> bool:
        """True when the file is a JSON array whose first task has ``data`` and annotations, or is a JSON-MIN record."""
        stripped = head.lstrip()
        if not stripped.startswith("["):
            return False
        if '"data"' in head and ('"annotations"' in head or '"completions"' in head):
            return True
        task = _first_task(path, head)
        if not _is_min(task):
            return False
        regions = [v for v in task.values() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
        return "annotation_id" in task or any("labels" in r for v in regions for r in v)

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read every task's gold annotation as one document."""
        reader = _Reader(path, options)
        documents = []
        for index, (line, task) in enumerate(_tasks(unix_newlines(read_text(path)), path), 1):
            doc = reader.document(task, index, line)
            if doc is not None:
                documents.append(doc)
        return Corpus(tuple(documents), self.name, notes=_notes(reader.counts))


FORMAT = LabelStudioFormat()
