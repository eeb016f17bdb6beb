"""The one currency of nerbench: documents, spans and what a model is shown.

Offsets are half-open ``[start, end)`` in Unicode code points into ``Document.text``
(Python ``str`` indices). Token and tag views are derived from spans, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled character span ``text[start:end]``.

    ``surface`` is the text a model says it tagged, when it says so; the scorer
    counts a span whose surface differs from ``text[start:end]`` as invalid. It
    takes no part in equality: two spans are the same span when offsets and label are.
    """

    start: int
    end: int
    label: str
    surface: str | None = field(default=None, compare=False)

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one code point."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Document:
    """A gold (or predicted) document: the text is the source of truth.

    ``tokens`` is the gold tokenization as ``(start, end)`` offsets, kept for
    benchmarks whose convention feeds models gold tokens.
    """

    id: str
    text: str
    spans: tuple[Span, ...] = ()
    tokens: tuple[tuple[int, int], ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def span_text(self, span: Span) -> str:
        """The text a span covers."""
        return self.text[span.start : span.end]

    def token_texts(self) -> list[str]:
        """The gold tokens as strings (empty when the document has no tokens)."""
        return [self.text[s:e] for s, e in self.tokens or ()]


@dataclass(frozen=True, slots=True)
class TextInput:
    """What a model adapter sees: the text, and gold tokens only when asked for.

    Never the gold spans: an adapter cannot peek at the answers, by construction.
    """

    id: str
    text: str
    tokens: tuple[tuple[int, int], ...] | None = None

    @classmethod
    def from_document(cls, doc: Document, *, gold_tokens: bool = False) -> TextInput:
        return cls(doc.id, doc.text, doc.tokens if gold_tokens else None)
