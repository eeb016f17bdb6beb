"""Gold file + prediction file -> paired documents -> scores -> the metrics JSON.

The one place that turns a :class:`~nerbench.scoring.Score` into the JSON shape
``nerbench score --json`` prints and every run stores, so the numbers mean the
same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data import Corpus, read_corpus
from nerbench.errors import InputError
from nerbench.labels import LabelMap
from nerbench.scoring import SCORER_VERSION, Score, bootstrap_ci, score
from nerbench.types import Document, Span


@dataclass(frozen=True)
class MetricInfo:
    """How one headline metric reads: the report's sort order and the gate's direction use it."""

    name: str
    display: str
    unit: str
    higher_is_better: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("f1", "F1", "", True, "strict micro F1: exact start, end and label"),
        MetricInfo("precision", "Precision", "", True, "correct / (valid + invalid + out-of-schema predictions)"),
        MetricInfo("recall", "Recall", "", True, "correct / gold spans"),
        MetricInfo("macro_f1", "Macro F1", "", True, "unweighted mean of per-label F1"),
        MetricInfo(
            "schema_error_rate",
            "Schema errors",
            "",
            False,
            "(label errors + label-and-boundary errors + out-of-schema + invalid) / predictions",
        ),
        MetricInfo(
            "boundary_error_rate", "Boundary errors", "", False, "(boundary + label-and-boundary errors) / predictions"
        ),
        MetricInfo(
            "invalid_rate",
            "Invalid spans",
            "",
            False,
            "invalid predictions (offsets outside the text, or a surface the text does not hold: "
            "an LLM's ungrounded, hallucinated entities) / predictions",
        ),
    )
}


def pair_predictions(
    gold: Sequence[Document], predicted: Sequence[Document], *, pred_path: Path | None = None
) -> list[tuple[Span, ...]]:
    """Each gold document's predicted spans: paired by id when the ids agree, else by order.

    A predicted document whose text differs from its gold document is an error naming it.
    """
    gold_ids = [d.id for d in gold]
    by_id = {d.id: d for d in predicted}
    if len(by_id) == len(predicted) and len(set(gold_ids)) == len(gold) and set(by_id) == set(gold_ids):
        pairs = [(g, by_id[g.id]) for g in gold]
    elif len(predicted) == len(gold):
        pairs = list(zip(gold, predicted, strict=True))
    else:
        missing = sorted(set(gold_ids) - set(by_id))[:3]
        raise InputError(
            f"documents do not pair up: {len(gold)} gold, {len(predicted)} predicted, and the ids differ "
            f"(gold ids missing from the predictions: {', '.join(missing) or 'none'})",
            path=pred_path,
        )
    for g, p in pairs:
        if g.text != p.text:
            where = _first_difference(g.text, p.text)
            raise InputError(
                f"document {p.id!r} pairs with gold {g.id!r} but its text differs at character {where}: "
                "predictions must be over the same texts as the gold",
                path=pred_path,
            )
    return [p.spans for _, p in pairs]


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def metrics_json(
    result: Score,
    *,
    f1_ci: tuple[float, float] | None = None,
    repairs: int = 0,
    documents: int | None = None,
) -> dict[str, Any]:
    """The metrics object of ``nerbench score --json`` (None where a ratio is undefined)."""
    c = result.counts
    macro = result.macro
    return {
        "micro": {"precision": c.precision, "recall": c.recall, "f1": c.f1, "f1_ci": list(f1_ci) if f1_ci else None},
        "macro": macro,
        "per_label": {
            label: {
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "support": s.gold,
                "predicted": s.predicted,
                "correct": s.correct,
            }
            for label, s in result.per_label.items()
        },
        "counts": c.as_dict(),
        "schema_error_rate": c.schema_error_rate,
        "boundary_error_rate": c.boundary_error_rate,
        "invalid_rate": c.invalid_rate,
        "gold_breakdown": c.gold_breakdown(),
        "semeval": {
            view: {
                "correct": v.correct,
                "incorrect": v.incorrect,
                "partial": v.partial,
                "missed": v.missed,
                "spurious": v.spurious,
                "precision": v.precision,
                "recall": v.recall,
                "f1": v.f1,
            }
            for view, v in result.semeval().items()
        },
        "repairs": repairs,
        "documents": len(result.per_doc) if documents is None else documents,
        "scorer_version": SCORER_VERSION,
    }


@dataclass(frozen=True)
class Evaluation:
    """A scored prediction file: the score, its CI, and what the readers repaired."""

    gold: Corpus
    predicted: Corpus
    score: Score
    f1_ci: tuple[float, float] | None

    @property
    def repairs(self) -> int:
        return self.gold.repairs + self.predicted.repairs

    def to_json(self) -> dict[str, Any]:
        return metrics_json(self.score, f1_ci=self.f1_ci, repairs=self.repairs)


def evaluate_files(
    gold_path: str | Path,
    pred_path: str | Path,
    *,
    gold_format: str = "auto",
    pred_format: str = "auto",
    label_map: LabelMap | None = None,
    schema: frozenset[str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    **read_options: Any,
) -> Evaluation:
    """Read a gold file and a prediction file (any two formats over the same texts) and score them."""
    gold = read_corpus(gold_path, format=gold_format, **read_options)
    predicted = read_corpus(pred_path, format=pred_format, **{**read_options, "overlaps": "allow", "predictions": True})
    spans = pair_predictions(gold.documents, predicted.documents, pred_path=Path(pred_path))
    if schema is None and label_map is not None:
        schema = frozenset(s.label for d in gold.documents for s in d.spans) | label_map.targets()
    result = score(gold.documents, spans, label_map=label_map, schema=schema)
    ci = bootstrap_ci(result, resamples=bootstrap, seed=seed) if bootstrap > 0 else None
    return Evaluation(gold, predicted, result, ci)
