"""How much of a test set a trained model has already seen: test entities whose surface form occurs,
with the same label, as an entity of its train split. A high share flatters a trained model's F1."""

from __future__ import annotations

from collections.abc import Iterable

from nerbench.types import Document


def entity_keys(documents: Iterable[Document]) -> frozenset[tuple[str, str]]:
    """(surface text, label) of every gold span of ``documents``."""
    return frozenset((doc.text[s.start : s.end], s.label) for doc in documents for s in doc.spans)


def seen_in_train(test: Iterable[Document], train_keys: frozenset[tuple[str, str]]) -> tuple[int, int]:
    """(test entities seen in training, all test entities)."""
    seen = total = 0
    for doc in test:
        for s in doc.spans:
            total += 1
            seen += (doc.text[s.start : s.end], s.label) in train_keys
    return seen, total
