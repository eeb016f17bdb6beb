"""Datasets read once by the runner, with the content hashes the cache and provenance use."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.adapters.data import detect_format, get_format, read_corpus
from nerbench.adapters.data.base import ReadOptions
from nerbench.adapters.data.blocks import BlockStats, NotStreamable, read_blocks
from nerbench.buckets import Bounds, BoundsCounter
from nerbench.harness.spilled import collect
from nerbench.harness.suite import DatasetSpec, Suite
from nerbench.types import Document


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset read once in the runner: its documents (on disk when many: :mod:`~nerbench.harness.spilled`),
    their content hashes, and what one pass over them learnt."""

    spec: DatasetSpec
    documents: Sequence[Document]
    content_hash: str  # ids, texts and tokens: what a model sees
    gold_hash: str  # plus the gold spans: what the scores depend on
    train_hash: str | None
    gold_labels: frozenset[str] = frozenset()  # the labels the gold spans carry
    repairs: int = 0  # tags the reader repaired
    characters: int = 0
    words: int = 0  # whitespace-separated words
    entities: int = 0
    bounds: Bounds = field(default_factory=Bounds)  # the length buckets' bounds, from the gold

    @property
    def labels(self) -> frozenset[str]:
        """The dataset's labels: its declared schema, else the labels its gold spans carry."""
        return frozenset(self.spec.schema) or self.gold_labels


def content_hash(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    if path.is_dir():
        return content_hash(*[(str(p.relative_to(path)), file_hash(p)) for p in sorted(path.rglob("*")) if p.is_file()])
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_datasets(suite: Suite, limit: int | None = None) -> list[LoadedDataset]:
    """Read every dataset of the suite (the first ``limit`` documents of each, when given)."""
    return [load_dataset(spec, limit) for spec in suite.datasets]


def load_dataset(spec: DatasetSpec, limit: int | None = None) -> LoadedDataset:
    """One pass over a dataset: its documents kept (on disk when many), hashed and counted as they stream.

    CoNLL and JSONL files are read in blocks; where the block reader cannot be sure of the whole-file reading
    (:class:`~nerbench.adapters.data.blocks.NotStreamable`) or for any other format, the file is read whole.
    """
    ref = spec.test
    fmt = detect_format(ref.path) if ref.format == "auto" else get_format(ref.format)
    try:
        stats = BlockStats()
        loaded = _loaded(spec, read_blocks(ref.path, fmt.name, ReadOptions(**ref.options), stats), limit, stats)
        if len(loaded.documents):
            return loaded
    except NotStreamable:
        pass
    corpus = read_corpus(ref.path, format=ref.format, **ref.options)
    return _loaded(spec, [corpus.documents], limit, BlockStats(repairs=corpus.repairs))


class _ListJson:
    """``content_hash``'s JSON text of a list, written a block of its items at a time to ``write``."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write
        self.started = False
        write(b"[")

    def add(self, items: list[Any]) -> None:
        if not items:
            return
        if self.started:
            self.write(b", ")
        self.write(json.dumps(items, sort_keys=True, ensure_ascii=False, default=str)[1:-1].encode("utf-8"))
        self.started = True

    def close(self) -> None:
        self.write(b"]\x00")


def _loaded(
    spec: DatasetSpec, blocks: Iterable[Sequence[Document]], limit: int | None, stats: BlockStats
) -> LoadedDataset:
    content_digest = hashlib.sha256()
    content = _ListJson(content_digest.update)
    with tempfile.SpooledTemporaryFile(max_size=1 << 23) as gold_text:  # the spans' part, hashed after content's
        gold = _ListJson(gold_text.write)
        bounds = BoundsCounter()
        labels: set[str] = set()
        totals = [0, 0, 0]  # characters, words, entities

        def counted(blocks: Iterable[Sequence[Document]]) -> Iterator[Sequence[Document]]:
            taken = 0
            for block in blocks:
                if limit is not None:
                    block = block[: max(0, limit - taken)]
                taken += len(block)
                content.add([(d.id, d.text, d.tokens) for d in block])
                gold.add([[(s.start, s.end, s.label) for s in d.spans] for d in block])
                for d in block:
                    words = len(d.text.split())
                    bounds.add(d, words)
                    labels.update(s.label for s in d.spans)
                    totals[0] += len(d.text)
                    totals[1] += words
                    totals[2] += len(d.spans)
                yield block

        documents = collect(counted(blocks))
        content.close()
        gold.close()
        content_hex = content_digest.hexdigest()
        digest = hashlib.sha256(json.dumps(content_hex).encode("utf-8") + b"\x00")
        gold_text.seek(0)
        while chunk := gold_text.read(1 << 20):
            digest.update(chunk)
    train = content_hash(file_hash(spec.train.path), spec.train.format, spec.train.options) if spec.train else None
    return LoadedDataset(
        spec, documents, content_hex, digest.hexdigest(), train, frozenset(labels), stats.repairs,
        characters=totals[0], words=totals[1], entities=totals[2], bounds=bounds.bounds(),
    )  # fmt: skip
