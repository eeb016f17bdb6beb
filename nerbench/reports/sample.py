"""What the report shows of a cell's details, read as a stream: never the whole details in memory.

A cell's details (per-document counts and every matching decision) grow with the corpus; the report needs
three things from them: the per-document counts as one integer array (the paired bootstrap between
models), the label confusion counts, and the few documents its error examples show (the ones with the
most errors, ties in document order). :func:`cell_sample` folds the details into those in one pass over
the instance records, which the scorer writes grouped by document in document order; records in another
order (a file nerbench did not write so) fall back to reading the details whole, with the same result.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nerbench.harness.results import Details
from nerbench.reports.stream import IdDigest

EXAMPLES = 6  # error examples the report shows per model and dataset
NONE_LABEL = "(none)"  # the confusion's row and column for a missed or spurious span
_OVERLAPPING = frozenset({"COR", "TYPE", "BND", "BND_TYPE"})
Instance = tuple[Any, ...]  # (doc id, gold index, prediction index, class, gold label, predicted label)


@dataclass(frozen=True, eq=False)
class DocCounts:
    """Per-document (correct, scored predictions, gold) rows of one cell, and a digest of its document ids."""

    ids: str
    per_doc: np.ndarray = field(repr=False)  # int64, one row per document

    @classmethod
    def of(cls, doc_ids: Iterable[str], rows: Iterable[Sequence[int]]) -> DocCounts:
        digest = IdDigest()
        for doc_id in doc_ids:
            digest.add(str(doc_id))
        flat = np.fromiter((int(v) for row in rows for v in row[:3]), dtype=np.int64)
        return cls(digest.hexdigest(), flat.reshape(-1, 3))

    def same_documents(self, other: DocCounts) -> bool:
        return self.ids == other.ids and len(self.per_doc) == len(other.per_doc)


@dataclass(frozen=True)
class Shown:
    """A document an error example shows: its errors (instance records that are not ``COR``) and records."""

    doc_id: str
    errors: int
    instances: tuple[Instance, ...]


@dataclass(frozen=True)
class CellSample:
    """What the report keeps of one cell's details."""

    counts: DocCounts
    confusion: Mapping[tuple[str, str], int]
    worst: tuple[Shown, ...]  # most errors first, ties in document order; at most the examples shown


class DetailSource(Protocol):
    """A cell's details, each part readable as a stream (from the store, a details file or memory)."""

    def counts(self) -> DocCounts | None: ...  # None: the details hold no per-document counts
    def doc_ids(self) -> Iterator[str]: ...
    def instances(self) -> Iterator[Instance]: ...
    def whole(self) -> Details: ...


@runtime_checkable
class Sampled(Protocol):
    """A source that finds the error examples and confusion counts itself (the store, with SQL)."""

    def sample(self, keep: int) -> tuple[tuple[Shown, ...], Counter[tuple[str, str]]]: ...


@dataclass(frozen=True)
class InMemory:
    """Details already read whole (a baseline file's inline details; tests)."""

    details: Details

    def counts(self) -> DocCounts:
        return DocCounts.of(self.details.doc_ids, self.details.per_doc)

    def doc_ids(self) -> Iterator[str]:
        return iter(self.details.doc_ids)

    def instances(self) -> Iterator[Instance]:
        return iter(self.details.instances)

    def whole(self) -> Details:
        return self.details


def add_confusion(pairs: Counter[tuple[str, str]], instance: Instance, times: int = 1) -> None:
    """Count one record (``times`` such records): (gold label, predicted label) for overlapping spans,
    missed -> predicted (none), spurious -> gold (none); invalid, out-of-schema and ignored predictions are
    no label's confusion."""
    klass = instance[3]
    if klass in _OVERLAPPING:
        pairs[(str(instance[4]), str(instance[5]))] += times
    elif klass == "MIS":
        pairs[(str(instance[4]), NONE_LABEL)] += times
    elif klass == "SPU":
        pairs[(NONE_LABEL, str(instance[5]))] += times


class _OutOfOrder(Exception):
    """Instance records not grouped by document in document order."""


def _worst(
    doc_ids: Iterable[str], instances: Iterable[Instance], keep: int, eligible: Callable[[str], bool] | None
) -> tuple[tuple[Shown, ...], Counter[tuple[str, str]]]:
    """One pass: each document's records (the run of records with its id), the ``keep`` eligible documents
    with most errors (earlier documents first among equals), and the confusion counts of every record."""
    pairs: Counter[tuple[str, str]] = Counter()
    records = iter(instances)
    pending = next(records, None)
    kept: list[tuple[int, int, str, tuple[Instance, ...]]] = []  # a min-heap of (errors, -position, ...)
    for position, doc_id in enumerate(doc_ids):
        group = []
        while pending is not None and str(pending[0]) == doc_id:
            add_confusion(pairs, pending)
            group.append(tuple(pending))
            pending = next(records, None)
        if keep <= 0 or (eligible is not None and not eligible(doc_id)):
            continue
        errors = sum(i[3] != "COR" for i in group)
        entry = (errors, -position, doc_id, tuple(group))
        if len(kept) < keep:
            heapq.heappush(kept, entry)
        elif errors > kept[0][0]:
            heapq.heapreplace(kept, entry)
    if pending is not None:
        raise _OutOfOrder
    ordered = sorted(kept, key=lambda e: (-e[0], -e[1]))
    return tuple(Shown(d, errors, group) for errors, _, d, group in ordered), pairs


def _worst_whole(
    details: Details, keep: int, eligible: Callable[[str], bool] | None
) -> tuple[tuple[Shown, ...], Counter[tuple[str, str]]]:
    """:func:`_worst` on records in any order: sorted into document order first (records of documents
    not in the cell are only counted in the confusion)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for instance in details.instances:
        add_confusion(pairs, instance)
    position = {d: n for n, d in enumerate(details.doc_ids)}
    ordered = sorted((i for i in details.instances if str(i[0]) in position), key=lambda i: position[str(i[0])])
    worst, _ = _worst(details.doc_ids, ordered, keep, eligible)
    return worst, pairs


def cell_sample(
    source: DetailSource, *, keep: int = EXAMPLES, eligible: Callable[[str], bool] | None = None
) -> CellSample | None:
    """Fold a cell's details into what the report shows; ``eligible`` limits the example documents (None: all).
    None: the details hold no per-document counts (the report has no details of the cell then)."""
    counts = source.counts()
    if counts is None:
        return None
    if eligible is None and isinstance(source, Sampled):
        worst, pairs = source.sample(keep)
        return CellSample(counts, pairs, worst)
    try:
        worst, pairs = _worst(source.doc_ids(), source.instances(), keep, eligible)
    except _OutOfOrder:
        worst, pairs = _worst_whole(source.whole(), keep, eligible)
    return CellSample(counts, pairs, worst)


def sample_of(details: Details, *, keep: int = EXAMPLES) -> CellSample:
    """The sample of details held whole."""
    worst, pairs = _worst_whole(details, keep, None)
    return CellSample(InMemory(details).counts(), pairs, worst)
