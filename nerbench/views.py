"""Extra views of one score, beside strict F1 (never replacing it), read off the scorer's matching decisions.

- **per label**: each label's own counts (gold-side classes by the gold label, spurious by the predicted
  label) and the four SemEval-2013 views of them;
- **relaxed matching**: a same-label prediction paired with a gold span by the matcher (a boundary error)
  counts as correct when it overlaps enough: ``min_overlap`` of the gold span's characters (``gold``
  measure) or of their union (``iou``), with per-label overrides. Precision and recall keep strict's
  denominators, so relaxed F1 >= strict F1 and the gap is what boundary conventions cost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nerbench.matching import MatchClass
from nerbench.scoring import CountRatios, Counts, Score, SemEvalCounts, semeval_views
from nerbench.types import Document, Span

MEASURES = ("gold", "iou")
COUNT_OF = {  # the Counts field each gold-side class adds to
    MatchClass.COR: "correct", MatchClass.TYPE: "label_error", MatchClass.BND: "boundary_error",
    MatchClass.BND_TYPE: "label_boundary_error", MatchClass.MIS: "missed",
}  # fmt: skip


def label_counts(result: Score) -> dict[str, Counts]:
    """Each label's counts: matched and missed gold spans by their gold label, spurious predictions by theirs."""
    tally: dict[str, Counter[str]] = {}
    for inst in result.instances:
        if inst.cls in COUNT_OF and inst.gold_label is not None:
            tally.setdefault(inst.gold_label, Counter())[COUNT_OF[inst.cls]] += 1
        elif inst.cls is MatchClass.SPU and inst.pred_label is not None:
            tally.setdefault(inst.pred_label, Counter())["spurious"] += 1
    return {label: Counts(**dict(c)) for label, c in sorted(tally.items())}


def label_semeval(result: Score) -> dict[str, dict[str, SemEvalCounts]]:
    """The four SemEval views of every label."""
    return {label: semeval_views(c) for label, c in label_counts(result).items()}


@dataclass(frozen=True)
class Relaxed(CountRatios):
    """Relaxed matching: how much overlap makes a boundary error correct, and the counts it gives."""

    min_overlap: float
    measure: str  # "gold" (share of the gold span's characters) or "iou"
    by_label: Mapping[str, float] = field(default_factory=dict)
    correct: int = 0
    predicted: int = 0  # strict's precision denominator
    gold: int = 0

    def threshold(self, label: str) -> float:
        return self.by_label.get(label, self.min_overlap)


def overlap(gold: Span, pred: Span, measure: str) -> float:
    """The share of ``gold``'s characters ``pred`` covers (``gold``), or intersection over union (``iou``)."""
    shared = max(0, min(gold.end, pred.end) - max(gold.start, pred.start))
    whole = gold.end - gold.start if measure == "gold" else max(gold.end, pred.end) - min(gold.start, pred.start)
    return shared / whole if whole else 0.0


def relaxed_view(
    documents: Sequence[Document],
    predictions: Sequence[Sequence[Span]],
    result: Score,
    *,
    min_overlap: float = 0.5,
    measure: str = "gold",
    by_label: Mapping[str, float] | None = None,
) -> Relaxed:
    """Strict's correct spans plus the boundary errors that overlap their gold span enough."""
    view = Relaxed(min_overlap, measure, dict(by_label or {}))
    extra = 0
    for doc, raw, instances in zip(documents, predictions, result.by_document(), strict=True):
        for inst in instances:
            if inst.cls is MatchClass.BND and inst.gold_index is not None and inst.pred_index is not None:
                gold = doc.spans[inst.gold_index]
                extra += overlap(gold, raw[inst.pred_index], measure) >= view.threshold(gold.label)
    c = result.counts
    return Relaxed(min_overlap, measure, view.by_label, c.correct + extra, c.scored_predictions, c.gold)
