"""Span matching, the error taxonomy and the metrics every other part reads (pure).

Raw predictions are first checked (offsets inside the text, non-empty, surface
text equal to ``text[start:end]`` where the model reported one) and their labels
resolved into the target schema. The rest are matched to gold one document at a
time (:mod:`nerbench.matching`), in this order, so the result never depends on the
order of the spans:

1. same start, end and label -> COR;
2. same start and end, other label -> TYPE;
3. overlapping pairs left, matched one-to-one by maximum total overlap (then most
   pairs, then most same-label pairs) within each overlap cluster: same label ->
   BND, other label -> BND_TYPE;
4. predictions left -> SPU, gold spans left -> MIS.

Counts come first; every ratio is derived from them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from nerbench.doc_rows import grouped as by_groups
from nerbench.gc_paused import gc_paused
from nerbench.labels import LabelMap, Resolution, resolve_label
from nerbench.matching import GOLD_SIDE, Key, MatchClass, match_document
from nerbench.types import Document, Span

SCORER_VERSION = 2  # 2: each label's CI resampled from the label columns alone (as without other buckets)
__all__ = [
    "COUNT_NAMES", "SCORER_VERSION", "Counts", "Instance", "LabelScore", "MatchClass", "PairedComparison",
    "Score", "SemEvalCounts", "bootstrap_ci", "paired_bootstrap", "score", "semeval_views",
]  # fmt: skip


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


class CountRatios:
    """Precision, recall and F1 of anything with ``correct``, ``predicted`` and ``gold`` counts (a label, a
    bucket, a relaxed view): ratios derived from counts, None where there is nothing to divide by."""

    __slots__ = ()  # a slotted dataclass deriving from it keeps its slots
    correct: int
    predicted: int
    gold: int

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

    @property
    def invalid_rate(self) -> float | None:
        """Invalid predictions (bad offsets, or a surface not in the text: an LLM's ungrounded entity) / predictions."""
        return _ratio(self.invalid, self.scored_predictions)

    def gold_breakdown(self) -> dict[str, float | None]:
        """Shares of gold spans by fate: label, boundary, both, missed (sum = 1 - recall)."""
        names = ("label_error", "boundary_error", "label_boundary_error", "missed")
        return {name: _ratio(getattr(self, name), self.gold) for name in names}

    def as_dict(self) -> dict[str, int]:
        return {"gold": self.gold, "predicted": self.scored_predictions} | {n: getattr(self, n) for n in COUNT_NAMES}


@dataclass(frozen=True, slots=True)
class LabelScore(CountRatios):
    """Strict scores for one schema label (seqeval's per-type row)."""

    correct: int
    gold: int
    predicted: int


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
    # The document ids in order: a paired bootstrap checks that two scores cover the same documents.
    doc_ids: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def macro(self) -> dict[str, float | None]:
        """Unweighted means over labels with gold or predicted spans (undefined counts as 0)."""
        rows = [s for s in self.per_label.values() if s.gold or s.predicted]
        if not rows:
            return {"precision": None, "recall": None, "f1": None}
        return {name: sum(getattr(s, name) or 0.0 for s in rows) / len(rows) for name in ("precision", "recall", "f1")}

    def semeval(self) -> dict[str, SemEvalCounts]:
        """The strict, exact, partial and type views, derived from the one-to-one matching."""
        return semeval_views(self.counts)

    def by_document(self) -> Iterator[list[Instance]]:
        """The instance records grouped by document, in document order (a document may have none)."""
        grouped: dict[str, list[Instance]] = {}
        for doc_id, group in itertools.groupby(self.instances, key=itemgetter(0)):
            grouped.setdefault(doc_id, []).extend(group)
        for doc_id in self.doc_ids:
            yield grouped.pop(doc_id, [])


def semeval_views(c: Counts) -> dict[str, SemEvalCounts]:
    """The strict, exact, partial and type views of one set of counts (all spans, or one label's).

    Invalid and out-of-schema predictions count as spurious in every view.
    """
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
    tally = _Tally(label_map, schema)
    with gc_paused():  # a large corpus makes hundreds of thousands of small tuples: skip the rescans
        for doc, preds in zip(documents, predictions, strict=True):
            tally.add(doc, preds)
        return tally.result()


_COR, _INVALID = MatchClass.COR, MatchClass.INVALID  # locals of the hot loop
_REJECTED = {Resolution.OUT_OF_SCHEMA: MatchClass.OUT_OF_SCHEMA, Resolution.IGNORED: MatchClass.IGNORED}


class _Tally:
    """Accumulates instance records and per-document counts, one document at a time."""

    def __init__(self, label_map: LabelMap | None, schema: frozenset[str] | None) -> None:
        self.label_map, self.schema = label_map, schema
        self.resolved: dict[str, str] = {}
        self.instances: list[tuple[str, int | None, int | None, MatchClass, str | None, str | None]] = []
        self.per_doc: list[tuple[int, int, int]] = []  # correct, scored predictions, gold
        self.doc_ids: list[str] = []
        self.rejected_labels: Counter[str | None] = Counter()

    def add(self, doc: Document, preds: Sequence[Span]) -> None:
        doc_id, gold = doc.id, [(g.start, g.end, g.label) for g in doc.spans]
        self.doc_ids.append(doc_id)
        valid, raw, scored = self._checked(doc_id, doc.text, preds)
        if gold == valid:  # the common case: every prediction correct, in gold order
            self.instances += [(doc_id, i, raw[i], _COR, g[2], g[2]) for i, g in enumerate(gold)]
            self.per_doc.append((len(gold), scored, len(gold)))
            return
        correct = 0
        instances = self.instances
        for gi, pi, cls in match_document(gold, valid):
            if pi is None:
                instances.append((doc_id, gi, None, cls, gold[gi][2], None))  # type: ignore[index]
            else:
                correct += cls is _COR
                instances.append((doc_id, gi, raw[pi], cls, None if gi is None else gold[gi][2], valid[pi][2]))
        self.per_doc.append((correct, scored, len(gold)))

    def _checked(self, doc_id: str, text: str, preds: Sequence[Span]) -> tuple[list[Key], Sequence[int], int]:
        """Valid in-schema predictions as keys, their raw indices, and the count of scored ones.

        Records the invalid, out-of-schema and ignored predictions as it goes.
        """
        size = len(text)
        if self.label_map is None and self.schema is None:  # every label stands for itself
            valid = [
                (start, end, p.label)
                for p in preds
                if 0 <= (start := p.start) < (end := p.end) <= size
                and (p.surface is None or p.surface == text[start:end])
            ]
            if len(valid) == len(preds):
                return valid, range(len(valid)), len(valid)
        valid, raw, ignored = [], [], 0
        for i, p in enumerate(preds):
            start, end, surface = p.start, p.end, p.surface
            if 0 <= start < end <= size and (surface is None or surface == text[start:end]):
                label = self.resolved.get(p.label)
                if label is None:
                    label = self.resolved[p.label] = resolve_label(p.label, self.label_map, self.schema)
                cls = _REJECTED.get(label)
                if cls is None:
                    valid.append((start, end, label))
                    raw.append(i)
                    continue
                ignored += cls is MatchClass.IGNORED
            else:
                cls = _INVALID
            self.instances.append((doc_id, None, i, cls, None, p.label))
            self.rejected_labels[p.label] += 1
        return valid, raw, len(preds) - ignored

    def result(self) -> Score:
        """Totals and per-label counts, read off the instance records."""
        by_gold = Counter(map(itemgetter(3, 4), self.instances))  # (class, gold label)
        totals: Counter[MatchClass] = Counter()
        gold: Counter[str | None] = Counter()
        for (cls, label), n in by_gold.items():
            totals[cls] += n
            if cls in GOLD_SIDE:
                gold[label] += n
        pred = Counter(map(itemgetter(5), self.instances))  # the label of every prediction...
        pred.subtract(self.rejected_labels)  # ...less the raw labels of rejected ones
        labels = sorted(lab for lab in gold.keys() | pred.keys() if lab is not None and (gold[lab] or pred[lab]))
        per_label = {lab: LabelScore(by_gold[(_COR, lab)], gold[lab], pred[lab]) for lab in labels}
        instances = tuple(map(partial(tuple.__new__, Instance), self.instances))
        flat = itertools.chain.from_iterable(self.per_doc)
        per_doc = np.fromiter(flat, dtype=np.int64, count=3 * len(self.per_doc)).reshape(-1, 3)
        counts = Counts(*(totals[cls] for cls in MatchClass))
        return Score(counts, per_label, instances, per_doc, tuple(self.doc_ids))


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Paired bootstrap of ``F1(a) - F1(b)`` on the same gold documents."""

    delta: float
    ci: tuple[float, float]
    p_value: float
    resamples: int

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def _distinct_rows(table: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an integer table and how many documents share each one (``weights``: how many
    documents each row of ``table`` stands for, when it is already a table of distinct rows)."""
    if table.size and table.min() >= 0:
        base = table.max(axis=0).astype(np.int64) + 1
        if float(np.prod(base.astype(np.float64))) < 2**62:  # pack each row into one integer key
            packed = np.cumprod(np.concatenate(([1], base[:-1]))).astype(np.int64)
            _, first, inverse, counts = np.unique(
                table.astype(np.int64) @ packed, return_index=True, return_inverse=True, return_counts=True
            )
            return table[first], counts if weights is None else np.bincount(inverse, weights).astype(np.int64)
    rows, inverse, counts = np.unique(table, axis=0, return_inverse=True, return_counts=True)
    return rows, counts if weights is None else np.bincount(inverse.ravel(), weights).astype(np.int64)


_DRAWS_AT_ONCE = 2_000_000  # weights drawn per chunk (16 MB): memory stays flat whatever the corpus; the draws
# do not depend on the chunking (a generator draws each resample in turn)


def resample_sums(
    table: np.ndarray, resamples: int, seed: int, *, counts: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Column sums of ``table`` (documents x counts) over document-level bootstrap resamples, in chunks.

    Documents whose count rows are equal are interchangeable, so drawing n documents with replacement is
    drawing how many land in each group of equal rows: a multinomial over the distinct rows (exact, not an
    approximation). Each chunk is then one matrix product: its cost follows the number of distinct rows, not
    the number of documents. Where nearly every row is distinct, documents are drawn and counted instead.
    ``counts``: ``table`` is already distinct rows, each standing for that many documents (a streamed score
    keeps no more); the draws are those the whole table would get wherever it has few distinct rows.
    """
    rng = np.random.default_rng(seed)
    given = counts is not None
    n = int(counts.sum()) if counts is not None else len(table)
    rows, counts = _distinct_rows(table, counts)
    grouped = by_groups(len(rows), n)
    if given and not grouped:  # distinct rows given, yet nearly all distinct: draw from every document
        table = np.repeat(rows, counts, axis=0)
    if grouped:
        values = rows.astype(np.float64)
        chunk = max(1, min(resamples, _DRAWS_AT_ONCE // max(len(values), 1)))
    else:
        chunk = max(1, min(resamples, _WEIGHTS_AT_ONCE // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        if grouped:
            yield rng.multinomial(n, counts / n, size=size).astype(np.float64) @ values
        else:
            weights = np.empty((size, n), dtype=np.float32)
            for r in range(size):
                weights[r] = np.bincount(rng.integers(0, n, size=n), minlength=n)
            yield _exact_product(weights, table)
        done += size


_WEIGHTS_AT_ONCE = 16_000_000  # document weights per chunk where documents are drawn (64 MB of float32)
_EXACT = 1 << 24  # float32 holds every integer below this exactly


def _exact_product(weights: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``weights @ table`` for small non-negative integers, exactly, without a float copy of the whole table:
    float32 products over slices of rows small enough that no partial sum reaches 2**24 (so each is exact
    whatever order BLAS adds in), summed in float64."""
    out = np.zeros((len(weights), table.shape[1]), dtype=np.float64)
    if not table.size:
        return out
    top = max(1, int(weights.max()) * max(1, int(table.max())))
    kind: type[np.floating[Any]] = np.float32
    if top >= _EXACT or int(table.min()) < 0:  # not small counts: float64, still exact below 2**53
        top, kind = 1, np.float64
    step = max(1, _EXACT // top - 1)
    for start in range(0, len(table), step):
        out += weights[:, start : start + step].astype(kind, copy=False) @ table[start : start + step].astype(kind)
    return out


def _resample_f1(
    per_doc: Sequence[np.ndarray], resamples: int, seed: int, counts: np.ndarray | None = None
) -> list[np.ndarray]:
    """Micro F1 of each system on ``resamples`` document-level resamples (the same draws for all)."""
    table = np.hstack([np.asarray(t, dtype=np.int64).reshape(-1, 3) for t in per_doc])
    out: list[list[np.ndarray]] = [[] for _ in per_doc]
    for sums in resample_sums(table, resamples, seed, counts=counts):
        for k in range(len(per_doc)):
            correct, predicted, gold = sums[:, 3 * k], sums[:, 3 * k + 1], sums[:, 3 * k + 2]
            den = predicted + gold
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k].append(np.where(den > 0, 2 * correct / np.maximum(den, 1), np.nan))
    return [np.concatenate(parts) for parts in out]


def bootstrap_ci(
    result: Score, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile confidence interval of micro F1 over document-level resamples."""
    if result.counts.f1 is None:
        return None
    return f1_interval(result.per_doc, resamples=resamples, confidence=confidence, seed=seed)


def f1_interval(
    per_doc: np.ndarray,
    *,
    counts: np.ndarray | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """:func:`bootstrap_ci` from per-document rows (correct, scored predictions, gold); ``counts``: the rows
    are distinct, each standing for that many documents."""
    if resamples <= 0 or len(per_doc) == 0:
        return None
    (f1s,) = _resample_f1([per_doc], resamples, seed, counts)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.nanpercentile(f1s, [tail, 100 - tail])
    return float(lo), float(hi)


def _same_gold(a: Score, b: Score) -> bool:
    """Same documents (ids, in order), same gold count in each, same gold support per label."""
    return (
        a.per_doc.shape == b.per_doc.shape
        and a.doc_ids == b.doc_ids
        and np.array_equal(a.per_doc[:, 2], b.per_doc[:, 2])
        and {k: s.gold for k, s in a.per_label.items() if s.gold}
        == {k: s.gold for k, s in b.per_label.items() if s.gold}
    )


def paired_bootstrap(a: Score, b: Score, *, resamples: int = 1000, seed: int = 0) -> PairedComparison:
    """Is ``a``'s F1 different from ``b``'s on the same documents? Two-sided, paired by document."""
    if not _same_gold(a, b):
        raise ValueError("paired bootstrap needs two scores of the same gold documents")
    return paired_bootstrap_counts(a.per_doc, b.per_doc, resamples=resamples, seed=seed)


def _micro_f1(per_doc: np.ndarray) -> float:
    correct, predicted, gold = per_doc.sum(axis=0) if len(per_doc) else (0, 0, 0)
    return 2 * float(correct) / float(predicted + gold) if predicted + gold else 0.0


def paired_bootstrap_counts(
    per_doc_a: Sequence[Sequence[int]] | np.ndarray,
    per_doc_b: Sequence[Sequence[int]] | np.ndarray,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> PairedComparison:
    """Paired bootstrap of ``F1(a) - F1(b)`` from stored per-document rows (correct, scored predictions, gold).

    For callers that hold a run's ``details`` rather than Score objects (the report, the gate); the rows
    must be the same documents in the same order.
    """
    a = np.asarray(per_doc_a, dtype=np.int64).reshape(-1, 3)
    b = np.asarray(per_doc_b, dtype=np.int64).reshape(-1, 3)
    if a.shape != b.shape or not np.array_equal(a[:, 2], b[:, 2]):
        raise ValueError("paired bootstrap needs per-document counts of the same gold documents")
    if len(a) == 0:
        raise ValueError("paired bootstrap needs at least one document")
    if a.tobytes() > b.tobytes():  # one canonical order, so comparing b with a mirrors comparing a with b exactly
        mirrored = paired_bootstrap_counts(b, a, resamples=resamples, seed=seed)
        return PairedComparison(-mirrored.delta, (-mirrored.ci[1], -mirrored.ci[0]), mirrored.p_value, resamples)
    fa, fb = _resample_f1([a, b], resamples, seed)
    deltas = np.nan_to_num(fa) - np.nan_to_num(fb)
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    p = min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))
    return PairedComparison(_micro_f1(a) - _micro_f1(b), (float(lo), float(hi)), p, resamples)
