"""Span matching, the error taxonomy and the metrics every other part reads (pure).

Raw predictions are first checked (offsets inside the text, non-empty, surface
text equal to ``text[start:end]`` where the model reported one) and their labels
resolved into the target schema. The rest are matched to gold, in this order, so
the result never depends on the order of the spans:

1. same start, end and label -> COR;
2. same start and end, other label -> TYPE;
3. overlapping pairs left, matched one-to-one by maximum total overlap (then most
   pairs, then most same-label pairs) within each overlap cluster: same label ->
   BND, other label -> BND_TYPE;
4. predictions left -> SPU, gold spans left -> MIS.

Counts come first; every ratio is derived from them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from nerbench.labels import LabelMap, Resolution, resolve_label
from nerbench.types import Document, Span

SCORER_VERSION = 1


class MatchClass(IntEnum):
    """What became of one gold span or one raw prediction."""

    COR = 0
    TYPE = 1
    BND = 2
    BND_TYPE = 3
    SPU = 4
    MIS = 5
    INVALID = 6
    OUT_OF_SCHEMA = 7
    IGNORED = 8


COUNT_NAMES: tuple[str, ...] = (
    "correct", "label_error", "boundary_error", "label_boundary_error",
    "spurious", "missed", "invalid", "out_of_schema", "ignored",
)  # fmt: skip


class Instance(NamedTuple):
    """One matching decision, for the report to drill into (indices into the raw lists)."""

    doc_id: str
    gold_index: int | None
    pred_index: int | None
    cls: MatchClass
    gold_label: str | None
    pred_label: str | None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Counts:
    """Integer counts of each class; P/R/F1 and the error rates are derived."""

    correct: int = 0
    label_error: int = 0
    boundary_error: int = 0
    label_boundary_error: int = 0
    spurious: int = 0
    missed: int = 0
    invalid: int = 0
    out_of_schema: int = 0
    ignored: int = 0

    @property
    def matched(self) -> int:
        return self.correct + self.label_error + self.boundary_error + self.label_boundary_error

    @property
    def gold(self) -> int:
        return self.matched + self.missed

    @property
    def predicted(self) -> int:
        """|P|: valid, in-schema predictions."""
        return self.matched + self.spurious

    @property
    def scored_predictions(self) -> int:
        """The precision denominator: |P| + invalid + out-of-schema (ignored ones excluded)."""
        return self.predicted + self.invalid + self.out_of_schema

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.scored_predictions)

    @property
    def recall(self) -> float | None:
        return _ratio(self.correct, self.gold)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.correct, self.scored_predictions + self.gold)

    @property
    def schema_error_rate(self) -> float | None:
        errors = self.label_error + self.label_boundary_error + self.out_of_schema + self.invalid
        return _ratio(errors, self.scored_predictions)

    @property
    def boundary_error_rate(self) -> float | None:
        return _ratio(self.boundary_error + self.label_boundary_error, self.scored_predictions)

    def gold_breakdown(self) -> dict[str, float | None]:
        """Shares of gold spans by fate: label, boundary, both, missed (sum = 1 - recall)."""
        names = ("label_error", "boundary_error", "label_boundary_error", "missed")
        return {name: _ratio(getattr(self, name), self.gold) for name in names}

    def as_dict(self) -> dict[str, int]:
        return {"gold": self.gold, "predicted": self.scored_predictions} | {n: getattr(self, n) for n in COUNT_NAMES}


@dataclass(frozen=True, slots=True)
class LabelScore:
    """Strict scores for one schema label (seqeval's per-type row)."""

    correct: int
    gold: int
    predicted: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.correct, self.gold)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.correct, self.predicted + self.gold)


@dataclass(frozen=True, slots=True)
class SemEvalCounts:
    """One SemEval-2013 view in nervaluate's terms."""

    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    half_partial: bool

    @property
    def precision(self) -> float | None:
        actual = self.correct + self.incorrect + self.partial + self.spurious
        return _ratio(self.correct + (0.5 * self.partial if self.half_partial else 0), actual)  # type: ignore[arg-type]

    @property
    def recall(self) -> float | None:
        possible = self.correct + self.incorrect + self.partial + self.missed
        return _ratio(self.correct + (0.5 * self.partial if self.half_partial else 0), possible)  # type: ignore[arg-type]

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Score:
    """Everything the scorer computes for one prediction set against one gold set."""

    counts: Counts
    per_label: Mapping[str, LabelScore]
    instances: tuple[Instance, ...] = field(repr=False)
    # Per document: correct, scored predictions, gold — what the bootstrap resamples.
    per_doc: np.ndarray = field(repr=False, compare=False)

    @property
    def macro(self) -> dict[str, float | None]:
        """Unweighted means over labels with gold or predicted spans (undefined counts as 0)."""
        rows = [s for s in self.per_label.values() if s.gold or s.predicted]
        if not rows:
            return {"precision": None, "recall": None, "f1": None}
        return {
            name: sum(getattr(s, name) or 0.0 for s in rows) / len(rows) for name in ("precision", "recall", "f1")
        }

    def semeval(self) -> dict[str, SemEvalCounts]:
        """The strict, exact, partial and type views, derived from the one-to-one matching.

        Invalid and out-of-schema predictions count as spurious in every view.
        """
        c = self.counts
        spu = c.spurious + c.invalid + c.out_of_schema
        bnd = c.boundary_error + c.label_boundary_error
        return {
            "strict": SemEvalCounts(c.correct, c.label_error + bnd, 0, c.missed, spu, False),
            "exact": SemEvalCounts(c.correct + c.label_error, bnd, 0, c.missed, spu, False),
            "partial": SemEvalCounts(c.correct + c.label_error, 0, bnd, c.missed, spu, True),
            "type": SemEvalCounts(
                c.correct + c.boundary_error, c.label_error + c.label_boundary_error, 0, c.missed, spu, True
            ),
        }


def score(
    documents: Sequence[Document],
    predictions: Sequence[Sequence[Span]],
    *,
    label_map: LabelMap | None = None,
    schema: frozenset[str] | None = None,
) -> Score:
    """Score ``predictions[i]`` (raw model spans) against ``documents[i].spans``."""
    if len(documents) != len(predictions):
        raise ValueError(f"{len(documents)} documents but {len(predictions)} prediction lists")
    resolved: dict[str, str] = {}
    totals = [0] * len(MatchClass)
    gold_per_label: Counter[str] = Counter()
    pred_per_label: Counter[str] = Counter()
    cor_per_label: Counter[str] = Counter()
    instances: list[Instance] = []
    per_doc = np.zeros((len(documents), 3), dtype=np.int64)
    for d, (doc, preds) in enumerate(zip(documents, predictions, strict=True)):
        text, doc_id, gold = doc.text, doc.id, doc.spans
        valid: list[tuple[int, int, str, int]] = []
        rejected = 0
        for i, p in enumerate(preds):
            start, end = p.start, p.end
            if not 0 <= start < end <= len(text) or (p.surface is not None and p.surface != text[start:end]):
                cls = MatchClass.INVALID
            else:
                label = resolved.get(p.label)
                if label is None:
                    label = resolved[p.label] = resolve_label(p.label, label_map, schema)
                if label == Resolution.OUT_OF_SCHEMA:
                    cls = MatchClass.OUT_OF_SCHEMA
                elif label == Resolution.IGNORED:
                    cls = MatchClass.IGNORED
                else:
                    valid.append((start, end, label, i))
                    pred_per_label[label] += 1
                    continue
            totals[cls] += 1
            rejected += cls != MatchClass.IGNORED
            instances.append(Instance(doc_id, None, i, cls, None, p.label))
        for g in gold:
            gold_per_label[g.label] += 1
        correct = 0
        for gi, pi, cls in _match(gold, valid):
            totals[cls] += 1
            glabel = gold[gi].label if gi is not None else None
            plabel = valid[pi][2] if pi is not None else None
            if cls == MatchClass.COR:
                correct += 1
                cor_per_label[glabel] += 1  # type: ignore[index]
            instances.append(Instance(doc_id, gi, None if pi is None else valid[pi][3], cls, glabel, plabel))
        per_doc[d] = (correct, len(valid) + rejected, len(gold))
    labels = sorted(set(gold_per_label) | set(pred_per_label))
    per_label = {lab: LabelScore(cor_per_label[lab], gold_per_label[lab], pred_per_label[lab]) for lab in labels}
    return Score(Counts(*totals), per_label, tuple(instances), per_doc)


Pair = tuple[int | None, int | None, MatchClass]


def _match(gold: Sequence[Span], valid: Sequence[tuple[int, int, str, int]]) -> list[Pair]:
    """Match one document's gold spans with its valid predictions (indices into ``valid``)."""
    if not valid:
        return [(gi, None, MatchClass.MIS) for gi in range(len(gold))]
    if not gold:
        return [(None, pi, MatchClass.SPU) for pi in range(len(valid))]
    by_key: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for gi in range(len(gold) - 1, -1, -1):
        g = gold[gi]
        by_key[(g.start, g.end, g.label)].append(gi)
    pairs: list[Pair] = []
    left_p: list[int] = []
    for pi, (start, end, label, _) in enumerate(valid):
        hit = by_key.get((start, end, label))
        if hit:
            pairs.append((hit.pop(), pi, MatchClass.COR))
        else:
            left_p.append(pi)
    if len(pairs) == len(gold):
        return pairs + [(None, pi, MatchClass.SPU) for pi in left_p]
    left_g = sorted(gi for hits in by_key.values() for gi in hits)
    if not left_p:
        return pairs + [(gi, None, MatchClass.MIS) for gi in left_g]
    left_g, left_p = _match_same_bounds(gold, valid, left_g, left_p, pairs)
    _match_overlaps(gold, valid, left_g, left_p, pairs)
    return pairs


def _match_same_bounds(
    gold: Sequence[Span], valid: Sequence[tuple[int, int, str, int]], left_g: list[int], left_p: list[int], pairs: list[Pair]
) -> tuple[list[int], list[int]]:
    by_bounds: dict[tuple[int, int], list[int]] = defaultdict(list)
    for gi in sorted(left_g, key=lambda i: gold[i].label, reverse=True):
        by_bounds[(gold[gi].start, gold[gi].end)].append(gi)
    rest_p = []
    for pi in sorted(left_p, key=lambda i: valid[i][2]):
        hit = by_bounds.get((valid[pi][0], valid[pi][1]))
        if hit:
            pairs.append((hit.pop(), pi, MatchClass.TYPE))
        else:
            rest_p.append(pi)
    return sorted(gi for hits in by_bounds.values() for gi in hits), rest_p


def _match_overlaps(
    gold: Sequence[Span], valid: Sequence[tuple[int, int, str, int]], left_g: list[int], left_p: list[int], pairs: list[Pair]
) -> None:
    edges: list[tuple[int, int, int]] = []  # (gold, pred, overlap)
    for pi in left_p:
        ps, pe = valid[pi][0], valid[pi][1]
        for gi in left_g:
            g = gold[gi]
            overlap = min(pe, g.end) - max(ps, g.start)
            if overlap > 0:
                edges.append((gi, pi, overlap))
    matched_g: set[int] = set()
    matched_p: set[int] = set()
    for cluster in _clusters(edges):
        for gi, pi in _best_assignment(gold, valid, cluster):
            same = gold[gi].label == valid[pi][2]
            pairs.append((gi, pi, MatchClass.BND if same else MatchClass.BND_TYPE))
            matched_g.add(gi)
            matched_p.add(pi)
    pairs.extend((None, pi, MatchClass.SPU) for pi in left_p if pi not in matched_p)
    pairs.extend((gi, None, MatchClass.MIS) for gi in left_g if gi not in matched_g)


def _clusters(edges: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """Connected components of the gold/prediction overlap graph."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for gi, pi, _ in edges:
        parent[find(("g", gi))] = find(("p", pi))
    groups: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
    for edge in edges:
        groups[find(("g", edge[0]))].append(edge)
    return list(groups.values())


def _best_assignment(
    gold: Sequence[Span], valid: Sequence[tuple[int, int, str, int]], cluster: list[tuple[int, int, int]]
) -> list[tuple[int, int]]:
    """One-to-one pairs maximising total overlap, then pair count, then same-label pairs."""
    if len(cluster) == 1:
        return [(cluster[0][0], cluster[0][1])]
    gs = sorted({e[0] for e in cluster})
    ps = sorted({e[1] for e in cluster})
    size = len(gs) + len(ps)
    pair_weight, overlap_weight = size + 1, (size + 1) ** 2
    weights = np.zeros((len(gs), len(ps)), dtype=np.int64)
    for gi, pi, overlap in cluster:
        same = gold[gi].label == valid[pi][2]
        weights[gs.index(gi), ps.index(pi)] = overlap * overlap_weight + pair_weight + same
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(gs[r], ps[c]) for r, c in zip(rows, cols, strict=True) if weights[r, c] > 0]


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Paired bootstrap of ``F1(a) - F1(b)`` on the same gold documents."""

    delta: float
    ci: tuple[float, float]
    p_value: float
    resamples: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def _resample_f1(per_doc: Sequence[np.ndarray], resamples: int, seed: int) -> list[np.ndarray]:
    """Micro F1 of each system on ``resamples`` document-level resamples (same draws for all)."""
    n = len(per_doc[0])
    rng = np.random.default_rng(seed)
    out: list[list[np.ndarray]] = [[] for _ in per_doc]
    chunk = max(1, min(resamples, 20_000_000 // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(size, n))
        for k, table in enumerate(per_doc):
            sums = table[idx].sum(axis=1)  # (size, 3): correct, scored predictions, gold
            den = sums[:, 1] + sums[:, 2]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k].append(np.where(den > 0, 2 * sums[:, 0] / np.maximum(den, 1), np.nan))
        done += size
    return [np.concatenate(parts) for parts in out]


def bootstrap_ci(
    result: Score, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile confidence interval of micro F1 over document-level resamples."""
    if resamples <= 0 or len(result.per_doc) == 0 or result.counts.f1 is None:
        return None
    (f1s,) = _resample_f1([result.per_doc], resamples, seed)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.nanpercentile(f1s, [tail, 100 - tail])
    return float(lo), float(hi)


def paired_bootstrap(a: Score, b: Score, *, resamples: int = 1000, seed: int = 0) -> PairedComparison:
    """Is ``a``'s F1 different from ``b``'s on the same documents? Two-sided, paired by document."""
    if a.per_doc.shape != b.per_doc.shape or not np.array_equal(a.per_doc[:, 2], b.per_doc[:, 2]):
        raise ValueError("paired bootstrap needs two scores of the same gold documents")
    fa, fb = _resample_f1([a.per_doc, b.per_doc], resamples, seed)
    deltas = np.nan_to_num(fa) - np.nan_to_num(fb)
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    p = min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))
    delta = (a.counts.f1 or 0.0) - (b.counts.f1 or 0.0)
    return PairedComparison(delta, (float(lo), float(hi)), p, resamples)
