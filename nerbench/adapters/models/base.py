"""What every model family implements (DESIGN.md's adapter protocol) and what it is given.

The runner owns the loop: it constructs an adapter from a :class:`ModelConfig`,
calls ``load`` (timed as load time), ``fit`` when the family trains on the
suite's train split (timed apart), then ``predict`` on batches of
:class:`~nerbench.types.TextInput` — never gold spans — and reads ``usage``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from nerbench.types import Document, Span, TextInput


@dataclass(frozen=True)
class Usage:
    """What a model consumed since load, as its provider counts it.

    Cloud adapters report ``request_characters``, the characters of every billed
    request in order; the runner turns them into billing units with the pricing
    table's rules (unit size, per-request minimum), so that arithmetic lives in one
    place. ``billing_units`` is for providers that report units themselves.
    """

    requests: int = 0
    billing_units: float = 0.0
    billing_unit: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    request_characters: tuple[int, ...] = ()


class DocumentErrors(Exception):
    """Raised by ``predict`` when some documents failed and the rest succeeded.

    ``results`` holds one span list per input (empty for a failed one) and
    ``errors`` maps the index of each failed input to its reason. The worker
    records the failures as failed documents without re-sending anything, so a
    paid API is never called twice for documents that already succeeded.
    """

    def __init__(self, results: Sequence[list[Span]], errors: Mapping[int, str]) -> None:
        super().__init__(f"{len(errors)} of {len(results)} documents failed")
        self.results = list(results)
        self.errors = dict(errors)


@dataclass(frozen=True)
class ModelConfig:
    """One model of a suite: the adapter name and its raw options, plus the suite's schema.

    An adapter reads ``options`` through its declared options class
    (:func:`~nerbench.adapters.models.options.parse_config`), never key by key.

    ``schema`` maps each target label to a one-line description (the prompt of
    zero-shot models). ``cache_dir`` is where an adapter may keep what it builds
    (a trained model), keyed by its own content hash.
    """

    name: str
    adapter: str
    options: Mapping[str, Any] = field(default_factory=dict)
    schema: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path = Path(".nerbench/cache")


@runtime_checkable
class ModelAdapter(Protocol):
    """One model family. Each library is imported lazily inside ``load``.

    Class attributes every nerbench adapter declares, optional for a third party's:
    ``Options`` (its :class:`~nerbench.adapters.models.options.AdapterOptions` class,
    against which the suite loader checks the model's options before anything runs;
    without one, options are passed through unchecked) and ``vocabulary`` (its native
    label vocabulary, one of :data:`nerbench.labels.VOCABULARY_NAMES`; ``open`` when
    its labels come from the data, the prompt or the model it loads).

    Optional class attributes read by ``nerbench models``: ``requires`` (import
    names of the libraries), ``extra`` (the pip extra), ``native_labels`` and
    ``notice`` (one line users must see, e.g. a provider's end of support); and,
    recorded in each cell for the report, ``kind`` (``rules`` or ``zero-shot``;
    absent: a pretrained or managed model, or trained when it fits) and ``notice``.
    """

    family: ClassVar[str]
    trains: ClassVar[bool]  # True when the family must see the train split (``fit``) before predicting

    def __init__(self, config: ModelConfig) -> None: ...

    def load(self) -> None:
        """Load the model (timed as load time)."""
        ...

    def fit(self, documents: Sequence[Document]) -> None:
        """Train on gold documents of the suite's train split (only called when ``trains``)."""
        ...

    def labels(self) -> frozenset[str]:
        """The native label set."""
        ...

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        """Spans with code-point offsets into each input's text, one list per input."""
        ...

    def usage(self) -> Usage:
        """Billing units, tokens, requests since load."""
        ...

    def fingerprint(self) -> str:
        """The model's identity for caching: name plus version, or a hash of its files."""
        ...

    def describe(self) -> dict[str, str]:
        """Library versions and anything else a report should show about this model."""
        ...
