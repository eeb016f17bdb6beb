"""``nerbench score`` in bounded memory: gold and predictions read, paired and scored a batch at a time.

The streamed path keeps no documents and no instance records: per-label counts, the relaxed view's counts,
and per-document count rows (:class:`~nerbench.doc_rows.DocRows`, which keeps distinct rows once there are
many documents) for the bootstrap CIs. Its numbers are those of the in-memory path: where it cannot be sure
of that, it raises :class:`NotStreamable` and :func:`nerbench.evaluation.evaluate_files` reads the files
whole. That happens when

- a file is not in a format read in blocks (CoNLL and JSONL: :mod:`nerbench.adapters.data.blocks`), or has
  an error (the whole-file read names it exactly as before);
- documents do not pair up in order (counts differ, a text differs, or the ids are the same set in another
  order: the in-memory path pairs those by id).

The default schema (every gold label, and the map's targets) is known only at the end: each batch is scored
with the gold labels seen so far, and where a predicted label judged out of schema early turns out to be a
gold label further on, the files are scored once more with the schema the first pass learnt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np

from nerbench.adapters.data import detect_format, get_format
from nerbench.adapters.data.base import ReadOptions
from nerbench.adapters.data.blocks import BlockStats, NotStreamable, read_blocks
from nerbench.buckets import _sort_key, bucket_ci
from nerbench.doc_rows import DocRows, NotGrouped
from nerbench.labels import LabelMap, Resolution, resolve_label
from nerbench.matching import PRED_SIDE, MatchClass
from nerbench.scoring import Counts, LabelScore, Score, f1_interval, score, semeval_views
from nerbench.types import Document, Span
from nerbench.views import COUNT_OF, Relaxed, overlap

__all__ = ["NotStreamable", "StreamedScore", "score_streamed"]

BATCH = 10_000  # documents paired and scored at a time


@dataclass(frozen=True)
class StreamedScore:
    """What the streamed path computed: everything ``Evaluation`` reports, without documents."""

    score: Score
    documents: int
    f1_ci: tuple[float, float] | None
    label_cis: Mapping[str, tuple[float, float] | None]
    label_views: Mapping[str, Mapping[str, Any]]
    relaxed: Relaxed
    schema: frozenset[str]
    repairs: int
    predicted_labels: Mapping[str, int]


def _blocks(path: Path, format: str, options: Mapping[str, Any], stats: BlockStats) -> Iterator[list[Document]]:
    fmt = detect_format(path) if format == "auto" else get_format(format)
    return read_blocks(path, fmt.name, ReadOptions(**options), stats)


@dataclass
class ScoreTotals:
    """The running sums of the batches scored so far."""

    counts: Counts = field(default_factory=Counts)
    per_label: dict[str, LabelScore] = field(default_factory=dict)
    by_label: dict[str, Counter[str]] = field(default_factory=dict)
    relaxed_extra: int = 0
    overall: DocRows = field(default_factory=DocRows)
    labels: DocRows = field(default_factory=DocRows)
    rejected: set[str] = field(default_factory=set)  # raw labels judged out of schema
    predicted_labels: Counter[str] = field(default_factory=Counter)
    _columns: dict[str, int] = field(default_factory=dict)  # each label's first column in ``labels``

    def add(self, result: Score, gold: Sequence[Document], spans: Sequence[Sequence[Span]], relaxed: Relaxed) -> None:
        self.counts = Counts(*(a + b for a, b in zip(astuple(self.counts), astuple(result.counts), strict=True)))
        for label, s in result.per_label.items():
            old = self.per_label.get(label)
            self.per_label[label] = s if old is None else LabelScore(
                old.correct + s.correct, old.gold + s.gold, old.predicted + s.predicted
            )  # fmt: skip
        self.overall.column("all")
        self.overall.add(result.per_doc)
        self._instances(result, gold, spans, relaxed)
        self.predicted_labels.update(s.label for raw in spans for s in raw)

    def score(self) -> Score:
        """The totals as a Score (no per-document rows or instance records: they were not kept)."""
        per_label = {k: self.per_label[k] for k in sorted(self.per_label) if self.per_label[k].gold or
                     self.per_label[k].predicted}  # fmt: skip
        return Score(self.counts, per_label, (), np.zeros((0, 3), dtype=np.int64), ())

    def f1_ci(self, bootstrap: int, seed: int) -> tuple[float, float] | None:
        """The micro F1's percentile bootstrap CI over documents (None: no bootstrap, or F1 undefined)."""
        if bootstrap <= 0 or not self.overall.documents or self.counts.f1 is None:
            return None
        rows, counts = self.overall.table(["all"])
        return f1_interval(rows, counts=counts, resamples=bootstrap, seed=seed)

    def label_views(self) -> dict[str, dict[str, Any]]:
        """The four SemEval views of every label."""
        return {label: semeval_views(Counts(**dict(c))) for label, c in sorted(self.by_label.items())}

    def relaxed(self, relaxed: Relaxed) -> Relaxed:
        """The relaxed view: strict matches, and boundary errors that overlap enough."""
        c = self.counts
        return Relaxed(relaxed.min_overlap, relaxed.measure, relaxed.by_label, c.correct + self.relaxed_extra,
                       c.scored_predictions, c.gold)  # fmt: skip

    def _instances(
        self, result: Score, gold: Sequence[Document], spans: Sequence[Sequence[Span]], relaxed: Relaxed
    ) -> None:
        """Per-label class counts, per-document label rows and relaxed matches, in one pass over the records."""
        where = {doc.id: i for i, doc in enumerate(gold)}
        by_label, at_of = self.by_label, self._columns
        hit_docs: list[int] = []  # the document and column of each count
        hit_cols: list[int] = []
        for doc_id, gi, pi, cls, gold_label, pred_label in result.instances:
            if cls is MatchClass.OUT_OF_SCHEMA and pred_label is not None:
                self.rejected.add(pred_label)
            i = where[doc_id]
            if gi is not None and gold_label is not None and cls in COUNT_OF:
                tally = by_label.get(gold_label)
                if tally is None:
                    tally = by_label[gold_label] = Counter()
                tally[COUNT_OF[cls]] += 1
                at = at_of.get(gold_label)
                if at is None:
                    at = at_of[gold_label] = self.labels.column(gold_label)
                hit_docs.append(i)
                hit_cols.append(at + 2)
                if cls is MatchClass.COR:
                    hit_docs.append(i)
                    hit_cols.append(at)
                elif cls is MatchClass.BND and pi is not None:
                    g = gold[i].spans[gi]
                    self.relaxed_extra += overlap(g, spans[i][pi], relaxed.measure) >= relaxed.threshold(g.label)
            elif cls is MatchClass.SPU and pred_label is not None:
                tally = by_label.get(pred_label)
                if tally is None:
                    tally = by_label[pred_label] = Counter()
                tally["spurious"] += 1
            if pi is not None and cls in PRED_SIDE:
                key = str(pred_label)
                at = at_of.get(key)
                if at is None:
                    at = at_of[key] = self.labels.column(key)
                hit_docs.append(i)
                hit_cols.append(at + 1)
        width = 3 * len(self.labels.keys)
        flat = np.asarray(hit_docs, dtype=np.int64) * width + np.asarray(hit_cols, dtype=np.int64)
        self.labels.add(np.bincount(flat, minlength=len(gold) * width).astype(np.int32).reshape(len(gold), width))


def _pairs(gold: Iterator[Document], pred: Iterator[Document]) -> Iterator[tuple[list[Document], list[Document]]]:
    """Batches of gold documents with their predicted documents, paired by order (see the module docstring)."""
    ids_differ, gold_hash, pred_hash = False, 0, 0
    while True:
        g, p = list(islice(gold, BATCH)), list(islice(pred, BATCH))
        if len(g) != len(p):
            raise NotStreamable("the files hold different numbers of documents")
        if not g:
            break
        for a, b in zip(g, p, strict=True):
            if a.text != b.text:
                raise NotStreamable("a text differs where documents pair by order")
            if a.id != b.id:
                ids_differ = True
        gold_hash += sum(hash(d.id) for d in g)
        pred_hash += sum(hash(d.id) for d in p)
        yield g, p
    if ids_differ and (gold_hash - pred_hash) % (1 << 64) == 0:
        raise NotStreamable("the same ids in another order: paired by id")


def score_streamed(
    gold_path: Path,
    pred_path: Path,
    *,
    gold_format: str,
    pred_format: str,
    label_map: LabelMap | None,
    schema: frozenset[str] | None,
    bootstrap: int,
    seed: int,
    relaxed: Relaxed,
    read_options: Mapping[str, Any],
) -> StreamedScore:
    """Score the files a batch at a time; raises NotStreamable where the in-memory path must decide."""
    gstats, pstats = BlockStats(), BlockStats()
    gold = chain.from_iterable(_blocks(gold_path, gold_format, read_options, gstats))
    pred_options = {**read_options, "overlaps": "allow", "predictions": True}
    pred = chain.from_iterable(_blocks(pred_path, pred_format, pred_options, pstats))
    targets = label_map.targets() if label_map is not None else frozenset()
    seen: set[str] = set()
    totals = ScoreTotals()
    for g, p in _pairs(gold, pred):
        if schema is None:
            seen.update(s.label for d in g for s in d.spans)
        spans = [d.spans for d in p]
        result = score(
            g, spans, label_map=label_map, schema=schema if schema is not None else frozenset(seen) | targets
        )
        totals.add(result, g, spans, relaxed)
    final = schema if schema is not None else frozenset(seen) | targets
    if any(resolve_label(raw, label_map, final) is not Resolution.OUT_OF_SCHEMA for raw in totals.rejected):
        # a label judged out of schema early turned out to be a gold label: score again, knowing the schema
        return score_streamed(
            gold_path, pred_path, gold_format=gold_format, pred_format=pred_format, label_map=label_map,
            schema=final, bootstrap=bootstrap, seed=seed, relaxed=relaxed, read_options=read_options,
        )  # fmt: skip
    try:
        return _finish(totals, final, bootstrap, seed, relaxed, gstats.repairs + pstats.repairs)
    except NotGrouped as err:
        raise NotStreamable(str(err)) from None


def _finish(
    totals: ScoreTotals, schema: frozenset[str], bootstrap: int, seed: int, relaxed: Relaxed, repairs: int
) -> StreamedScore:
    n = totals.overall.documents
    keys = sorted(totals.labels.keys, key=lambda k: _sort_key(("label", str(k))))
    label_cis: dict[str, tuple[float, float] | None] = {}
    if keys and n:
        rows, counts = totals.labels.table(keys)
        cis = bucket_ci(rows.reshape(len(rows), len(keys), 3), bootstrap, seed, counts=counts)
        label_cis = {str(k): ci for k, ci in zip(keys, cis, strict=True)}
    return StreamedScore(
        totals.score(), n, totals.f1_ci(bootstrap, seed), label_cis, totals.label_views(), totals.relaxed(relaxed),
        schema, repairs, totals.predicted_labels,
    )  # fmt: skip
