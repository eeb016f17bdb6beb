"""Error examples: documents with gold and predicted spans as text segments tagged by their error class.

The classes come from the stored instance records (``details/``, as the report sampled them), never from
re-matching: a gold span's class is found by its gold index; predicted spans line up with the instance
records of the document sorted by prediction index, once the invalid and ignored predictions (kept apart in
the predictions file) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nerbench.reports.model import Report
from nerbench.reports.sample import EXAMPLES

CLASS_NAMES = {
    "COR": "correct", "TYPE": "label error", "BND": "boundary error", "BND_TYPE": "label + boundary",
    "SPU": "spurious", "MIS": "missed", "INVALID": "invalid", "OUT_OF_SCHEMA": "out of schema", "IGNORED": "ignored",
}  # fmt: skip
_OFF_FILE = ("INVALID", "IGNORED")  # kept in the predictions file's 'invalid' / 'ignored' lists, not in 'spans'


@dataclass(frozen=True)
class Segment:
    """A piece of document text; ``klass`` and ``label`` are set when it is a span."""

    text: str
    klass: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Example:
    """One document of one model: its gold row and its predicted row, and what errors it shows."""

    doc_id: str
    gold: tuple[Segment, ...]
    predicted: tuple[Segment, ...]
    classes: tuple[str, ...]
    labels: tuple[str, ...]
    errors: int
    failed: str | None = None


def segments(text: str, spans: Sequence[tuple[int, int, str, str]]) -> tuple[Segment, ...]:
    """Text cut at span edges; a span overlapping an earlier one is left out of the row."""
    out, pos = [], 0
    for start, end, label, klass in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < pos or not 0 <= start < end <= len(text):
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], klass, label))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return tuple(out)


def example(gold: Mapping[str, Any], pred: Mapping[str, Any] | None, instances: Sequence[tuple[Any, ...]]) -> Example:
    """Gold and predicted rows of one document from its stored instance records."""
    gold_class = {int(i[1]): str(i[3]) for i in instances if i[1] is not None}
    pred_side = sorted((i for i in instances if i[2] is not None and i[3] not in _OFF_FILE), key=lambda i: int(i[2]))
    gold_spans = [
        (int(s["start"]), int(s["end"]), str(s["label"]), gold_class.get(k, "COR"))
        for k, s in enumerate(gold.get("spans") or ())
    ]
    pred_list = list((pred or {}).get("spans") or ())
    pred_spans = [
        (int(s["start"]), int(s["end"]), str(s["label"]), str(pred_side[k][3]) if k < len(pred_side) else "SPU")
        for k, s in enumerate(pred_list)
    ]
    classes = sorted({str(i[3]) for i in instances})
    labels = sorted({s[2] for s in gold_spans} | {s[2] for s in pred_spans})
    text = str(gold.get("text", ""))
    return Example(
        str(gold.get("id", "")), segments(text, gold_spans), segments(text, pred_spans), tuple(classes),
        tuple(labels), sum(1 for i in instances if i[3] != "COR"), (pred or {}).get("error"),
    )  # fmt: skip


def examples(report: Report, model: str, dataset: str, *, limit: int = EXAMPLES) -> list[Example]:
    """The documents where ``model`` made the most errors on ``dataset`` (ties: document order); at most as
    many as the report kept (``load_report``'s ``keep``)."""
    sample = report.samples.get((model, dataset))
    gold = report.gold.get(dataset) or {}
    if sample is None or not gold:
        return []
    preds = report.predictions.get((model, dataset)) or {}
    return [example(gold[w.doc_id], preds.get(w.doc_id), w.instances) for w in sample.worst[:limit] if w.doc_id in gold]
