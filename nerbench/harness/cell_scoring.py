"""A cell's scoring pass, in bounded memory: its stored predictions paired with the gold a batch at a time.

Each batch of gold documents is paired with its stored predictions (by id, in gold order), scored, added to
the running totals (:class:`~nerbench.evaluation_stream.ScoreTotals`: counts, per-label views, relaxed
matches, per-document rows) and to the bucket table (:class:`~nerbench.buckets.BucketTable`), and its
details rows (per-document counts, instance records) are handed to ``write_details``. Only counts stay in
memory, so a cell of ten million documents costs what one of a hundred thousand does; the numbers are those
of scoring the whole cell at once (``tests/harness/test_cell_scoring.py`` pins them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from nerbench.buckets import Bucket, BucketTable
from nerbench.evaluation import Metrics
from nerbench.evaluation_stream import ScoreTotals
from nerbench.gc_paused import gc_paused
from nerbench.harness.cell_result import Failures
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.store import Store
from nerbench.labels import LabelMap
from nerbench.scoring import Score, score
from nerbench.types import Document, Span
from nerbench.views import Relaxed

BATCH = 10_000  # documents scored at a time
NO_PREDICTION = "no prediction stored"

DetailsWriter = Callable[[int, int, Score], None]  # (first document's position, first record's number, batch)


@dataclass(frozen=True)
class ScoredCell:
    """What the scoring pass found: the metrics, the buckets, the failed documents and the raw labels."""

    metrics: Metrics
    buckets: tuple[Bucket, ...]
    failures: Failures
    predicted_labels: Counter[str]  # every raw predicted label, with how often it was predicted


def stored_batches(
    dataset: LoadedDataset, key: str, store: Store, size: int = BATCH
) -> Iterator[tuple[list[Document], list[list[Span]], list[str | None]]]:
    """Batches of gold documents, each with its stored raw spans and error (None: it did not fail; a failed
    document has no spans), in gold order."""
    docs = iter(dataset.documents)
    while batch := list(islice(docs, size)):
        spans: list[list[Span]] = []
        errors: list[str | None] = []
        with gc_paused():
            for item in store.predictions_of(key, (d.id for d in batch)):
                if item is None or item.error is not None:
                    spans.append([])
                    errors.append(item.error if item is not None and item.error else NO_PREDICTION)
                else:
                    spans.append([Span(int(s), int(e), str(lab), sur) for s, e, lab, sur in item.spans])
                    errors.append(None)
        yield batch, spans, errors


def iter_stored_spans(
    dataset: LoadedDataset, key: str, store: Store
) -> Iterator[tuple[Document, list[Span], str | None]]:
    """Each gold document with its stored raw spans and error (see :func:`stored_batches`), in gold order."""
    for batch, spans, errors in stored_batches(dataset, key, store, store.READ_BATCH):
        yield from zip(batch, spans, errors, strict=True)


def score_cell(
    dataset: LoadedDataset,
    batches: Iterator[tuple[list[Document], list[list[Span]], list[str | None]]],
    *,
    label_map: LabelMap | None,
    schema: frozenset[str],
    resamples: int,
    seed: int,
    relaxed: Relaxed,
    train: frozenset[tuple[str, str]] | None = None,
    train_split: str = "",
    write_details: DetailsWriter | None = None,
) -> ScoredCell:
    """Score a cell batch by batch (see the module docstring); ``relaxed`` gives the relaxed view's
    thresholds (its counts are ignored)."""
    totals = ScoreTotals()
    table = BucketTable(dataset.bounds, train=train)
    failed, first_error = 0, None
    position = seq = 0
    for gold, spans, errors in batches:
        result = score(gold, spans, label_map=label_map, schema=schema)
        totals.add(result, gold, spans, relaxed)
        table.add(gold, spans, result)
        for error in errors:
            if error is not None:
                failed += 1
                first_error = first_error if first_error is not None else error
        if write_details is not None:
            write_details(position, seq, result)
        position += len(gold)
        seq += len(result.instances)
    buckets = table.buckets(resamples=resamples, seed=seed, train_split=train_split)
    label_cis = {b.value: b.f1_ci for b in buckets if b.attribute == "label"}
    metrics = Metrics.from_score(
        totals.score(), f1_ci=totals.f1_ci(resamples, seed), repairs=dataset.repairs, documents=position,
        label_cis=label_cis, relaxed=totals.relaxed(relaxed), label_views=totals.label_views(),
    )  # fmt: skip
    return ScoredCell(metrics, buckets, Failures(failed, position, first_error), totals.predicted_labels)


def instance_rows(result: Score) -> Iterator[Sequence[object]]:
    """The details' instance records of a batch, as stored."""
    return ([i.doc_id, i.gold_index, i.pred_index, i.cls.name, i.gold_label, i.pred_label] for i in result.instances)
