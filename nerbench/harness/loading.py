"""Datasets read once by the runner, with the content hashes the cache and provenance use."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data import Corpus, read_corpus
from nerbench.harness.suite import DatasetSpec, Suite
from nerbench.types import Document


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset read once in the runner: its documents and content hashes."""

    spec: DatasetSpec
    corpus: Corpus
    content_hash: str  # ids, texts and tokens: what a model sees
    gold_hash: str  # plus the gold spans: what the scores depend on
    train_hash: str | None
    gold_labels: frozenset[str] = frozenset()  # the labels the gold spans carry

    @property
    def documents(self) -> tuple[Document, ...]:
        return self.corpus.documents

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
    loaded = []
    for spec in suite.datasets:
        corpus = read_corpus(spec.test.path, format=spec.test.format, **spec.test.options)
        if limit is not None:
            corpus = Corpus(corpus.documents[:limit], corpus.format, corpus.scheme, corpus.repairs, corpus.notes)
        docs = corpus.documents
        content = content_hash([(d.id, d.text, d.tokens) for d in docs])
        gold = content_hash(content, [[(s.start, s.end, s.label) for s in d.spans] for d in docs])
        train = content_hash(file_hash(spec.train.path), spec.train.format, spec.train.options) if spec.train else None
        labels = frozenset(s.label for d in docs for s in d.spans)
        loaded.append(LoadedDataset(spec, corpus, content, gold, train, labels))
    return loaded
