"""Where the report reads a cell's details, as streams (the store's rows, or a run directory's details file),
and the few gold and prediction lines its error examples show."""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nerbench.errors import InputError
from nerbench.harness.names import cell_file_stem, safe_name
from nerbench.harness.results import Details, RunResult
from nerbench.harness.store import Store
from nerbench.reports.sample import (
    CellSample,
    DetailSource,
    DocCounts,
    Instance,
    Shown,
    add_confusion,
    cell_sample,
)
from nerbench.reports.stream import IdDigest, Item, line_ids, lines_with_ids, object_items

_LISTS = ("doc_ids", "per_doc", "instances")
_KEYS = frozenset({*_LISTS, "per_doc_columns", "instance_columns"})  # what rundir.write_details writes
_BAD = (ValueError, TypeError, KeyError, IndexError, RecursionError, OSError, UnicodeDecodeError)


@dataclass(frozen=True)
class StoredDetails:
    """A scoring's details rows in the store (which stays open while the report is built)."""

    store: Store
    scoring_id: int

    def counts(self) -> DocCounts:
        digest = IdDigest()
        flat = array("q")
        for doc_id, correct, predicted, gold in self.store.doc_counts(self.scoring_id):
            digest.add(str(doc_id))
            flat.extend((int(correct), int(predicted), int(gold)))
        return DocCounts(digest.hexdigest(), np.frombuffer(flat, dtype=np.int64).reshape(-1, 3))

    def doc_ids(self) -> Iterator[str]:
        return (str(row[0]) for row in self.store.doc_counts(self.scoring_id))

    def instances(self) -> Iterator[Instance]:
        return iter(self.store.instances(self.scoring_id))

    def sample(self, keep: int) -> tuple[tuple[Shown, ...], Counter[tuple[str, str]]]:
        """The ``keep`` documents with most errors and the confusion counts, as :func:`cell_sample`'s pass
        over every record finds them, computed by SQLite (a pass in Python costs seconds per million)."""
        pairs: Counter[tuple[str, str]] = Counter()
        for klass, gold_label, pred_label, n in self.store.class_counts(self.scoring_id):
            add_confusion(pairs, (None, None, None, klass, gold_label, pred_label), n)
        worst = self.store.worst_documents(self.scoring_id, keep) if keep > 0 else []
        records = self.store.instances_of(self.scoring_id, [str(d) for d, _, _ in worst])
        groups: dict[str, list[Instance]] = {}
        for record in records:
            groups.setdefault(str(record[0]), []).append(tuple(record))
        return tuple(Shown(str(d), int(e), tuple(groups.get(str(d), ()))) for d, _, e in worst), pairs

    def whole(self) -> Details:
        ids: list[str] = []
        per_doc: list[tuple[int, int, int]] = []
        for doc_id, correct, predicted, gold in self.store.doc_counts(self.scoring_id):
            ids.append(str(doc_id))
            per_doc.append((int(correct), int(predicted), int(gold)))
        return Details(tuple(ids), tuple(per_doc), tuple(tuple(i) for i in self.store.instances(self.scoring_id)))


@dataclass(frozen=True)
class DetailsFile:
    """``details/M__D.json``, read item by item (its lists are never decoded whole)."""

    path: Path

    def _items(self, wanted: str) -> Iterator[Item]:
        """The file's members, up to the last item of the list ``wanted``."""
        try:
            with self.path.open(encoding="utf-8") as fh:
                seen = False
                for item in object_items(fh, _LISTS):
                    if item.key not in _KEYS:
                        raise KeyError(f"a member {item.key!r}")
                    if item.key in _LISTS and not item.streamed:
                        raise TypeError(f"{item.key} is {type(item.value).__name__}, not a list")
                    if item.key == wanted:
                        seen = True
                    elif seen:
                        return
                    yield item
        except _BAD as err:
            raise InputError(f"not a nerbench details file ({err!r})", path=self.path) from None

    def counts(self) -> DocCounts | None:
        """None where the file has no per-document counts (as a details file without ``per_doc`` has none)."""
        digest = IdDigest()
        flat = array("q")
        found = False
        try:
            for item in self._items("per_doc"):
                if item.key == "doc_ids" and item.streamed:
                    digest.add(str(item.value))
                elif item.key == "per_doc":
                    found = True
                    a, b, c = item.value
                    flat.extend((int(a), int(b), int(c)))
        except _BAD as err:
            raise InputError(f"not a nerbench details file ({err!r})", path=self.path) from None
        return DocCounts(digest.hexdigest(), np.frombuffer(flat, dtype=np.int64).reshape(-1, 3)) if found else None

    def doc_ids(self) -> Iterator[str]:
        return (str(item.value) for item in self._items("doc_ids") if item.key == "doc_ids" and item.streamed)

    def instances(self) -> Iterator[Instance]:
        for item in self._items("instances"):
            if item.key == "instances" and item.streamed:
                yield tuple(item.value)

    def whole(self) -> Details:
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
            details = Details.from_json(raw)
        except _BAD as err:
            raise InputError(f"not a nerbench details file ({err!r})", path=self.path) from None
        if details is None:
            raise InputError("not a nerbench details file (no per_doc)", path=self.path)
        return details


def example_lines(
    out_dir: Path,
    result: RunResult,
    samples: Mapping[tuple[str, str], CellSample],
    sources: Mapping[tuple[str, str], DetailSource],
    *,
    keep: int,
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], CellSample]]:
    """The gold and prediction lines of the documents the error examples show, read from the run directory
    (one pass over each file, keeping those lines alone), and the samples they fit.

    An example shows a document of the gold file: where a gold file is not the cells' documents in their
    order (a file rewritten since), the cells' examples are chosen again among the documents it has.
    """
    samples = dict(samples)
    gold: dict[str, dict[str, Any]] = {}
    for d in result.datasets:
        path = out_dir / "gold" / f"{safe_name(d.name)}.jsonl"
        here = [k for k in samples if k[1] == d.name]
        lines, digest, count = lines_with_ids(path, {w.doc_id for k in here for w in samples[k].worst})
        stale = [k for k in here if samples[k].counts.ids != digest and samples[k].worst]
        if stale and not count:
            samples.update({k: replace(samples[k], worst=()) for k in stale})
        elif stale:
            ids = line_ids(path)
            for k in stale:
                samples[k] = cell_sample(sources[k], keep=keep, eligible=ids.__contains__) or samples[k]
            more = {w.doc_id for k in stale for w in samples[k].worst} - lines.keys()
            lines.update(lines_with_ids(path, more)[0] if more else {})
        gold[d.name] = lines
    preds = {}
    for c in result.cells:
        sample = samples.get((c.model, c.dataset))
        if c.ranked and sample is not None and sample.worst:
            path = out_dir / "predictions" / f"{cell_file_stem(c.model, c.dataset)}.jsonl"
            preds[(c.model, c.dataset)] = lines_with_ids(path, {w.doc_id for w in sample.worst})[0]
    return gold, preds, samples
