"""GLiNER: zero-shot span NER prompted with one natural-language label per schema label.

Options (:class:`GlinerOptions`, checked before anything runs):

- ``model`` (required): a hub name (``urchade/gliner_medium-v2.1``, ``knowledgator/gliner-multitask-large-v0.5``)
  or a local directory written by ``save_pretrained``; ``local_files_only`` (false) never touches the hub;
- ``labels``: ``{PER: "person", ...}``, the prompt label of each schema label; by default the
  schema's description (``PER: "person"`` in the suite), or the label itself lower-cased;
- ``threshold`` (0.5), ``flat_ner`` (true: no nested spans), ``multi_label`` (false), ``batch_size`` (8),
  ``device`` (cpu, cuda or auto);
- ``chunk_words``: the most words sent at once (default and ceiling: the model's ``max_len``).

Predictions come back under the schema label they were prompted for. A document
longer than ``chunk_words`` (in GLiNER's own words) is cut into overlapping
windows of words; each window owns the spans that start in its core, and the
overlap (twice the model's widest span) holds every span that starts there, so
no span is lost or shifted at a window edge. Gold tokens are not used: GLiNER
splits words itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.model_files import library_version, model_identity, resolve_device
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, parse_options, require_device
from nerbench.errors import ConfigError, MissingExtraError
from nerbench.types import Document, Span, TextInput


@dataclass(frozen=True)
class Window:
    """Words ``[first, end)`` of one input sent to the model; it owns spans starting in ``[core_first, core_end)``."""

    doc: int
    first: int
    end: int
    core_first: int
    core_end: int


@dataclass(frozen=True, kw_only=True)
class GlinerOptions(AdapterOptions):
    """The options of the ``gliner`` adapter."""

    model: str = field(metadata=about("a hub name or a local save_pretrained directory"))
    labels: dict[str, str] = field(
        default_factory=dict, metadata=about("the prompt label of each schema label ({PER: person})")
    )
    threshold: float = field(default=0.5, metadata=about(ge=0, le=1, help="the lowest span score kept"))
    flat_ner: bool = field(default=True, metadata=about("no nested spans"))
    multi_label: bool = field(default=False, metadata=about("a span may have several labels"))
    batch_size: int = field(default=8, metadata=about(ge=1, help="windows per forward pass"))
    local_files_only: bool = field(default=False, metadata=about("never touch the hub"))
    device: str = field(default="cpu", metadata=about("cpu, cuda, cuda:N or auto"))
    chunk_words: int | None = field(
        default=None, metadata=about(ge=1, help="the most words sent at once (default: the model's max_len)")
    )

    def __post_init__(self) -> None:
        require_device(self.device)


class GlinerAdapter:
    """A GLiNER model prompted with the suite's labels."""

    family: ClassVar[str] = "gliner"
    kind: ClassVar[str] = "zero-shot"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("gliner", "torch")
    extra: ClassVar[str] = "gliner"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "open"
    Options: ClassVar[type[AdapterOptions]] = GlinerOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(GlinerOptions, config)
        self.model_name = options.model
        self.threshold = options.threshold
        self.flat_ner = options.flat_ner
        self.multi_label = options.multi_label
        self.batch_size = options.batch_size
        self.local_files_only = options.local_files_only
        self.device = options.device
        self.chunk_words = options.chunk_words
        self.prompts = prompt_labels(config, options.labels)
        self._model: Any = None
        self._window = self._overlap = 0
        self._requests = self._characters = 0

    def load(self) -> None:
        try:
            from gliner import GLiNER
        except ImportError:
            raise MissingExtraError("gliner", "gliner") from None
        try:
            model = GLiNER.from_pretrained(self.model_name, local_files_only=self.local_files_only)
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"model {self.config.name!r} (adapter gliner): cannot load {self.model_name!r}: {str(err)[:200]};"
                " give a local directory, or run once online to fetch it into the Hugging Face cache"
            ) from None
        model.to(resolve_device(self.device, model=self.config.name))
        model.eval()
        max_len, max_width = int(model.config.max_len), int(model.config.max_width)
        self._window = min(self.chunk_words or max_len, max_len)
        self._overlap = 2 * max_width
        if self._window <= 2 * self._overlap:
            raise ConfigError(
                f"model {self.config.name!r}: chunk_words ({self._window}) must exceed 4 x the model's max_width"
                f" ({max_width})"
            )
        self._model = model

    def fit(self, documents: Sequence[Document]) -> None:
        """GLiNER is zero-shot: nothing to train."""

    def labels(self) -> frozenset[str]:
        return frozenset(self.prompts)

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._model is None:
            raise RuntimeError("GlinerAdapter: call load() first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        words = [self._words(inp.text) for inp in inputs]
        windows = [w for i, ws in enumerate(words) for w in plan_windows(i, len(ws), self._window, self._overlap)]
        chunks = [inputs[w.doc].text[words[w.doc][w.first][0] : words[w.doc][w.end - 1][1]] for w in windows]
        found = self._model.inference(
            chunks,
            list(self.prompts.values()),
            flat_ner=self.flat_ner,
            threshold=self.threshold,
            multi_label=self.multi_label,
            batch_size=self.batch_size,
        )
        by_prompt = {prompt: label for label, prompt in self.prompts.items()}
        kept: list[list[tuple[float, Span]]] = [[] for _ in inputs]
        for window, entities in zip(windows, found, strict=True):
            starts = [s for s, _ in words[window.doc]]
            shift = words[window.doc][window.first][0]
            for ent in entities:
                start, end = int(ent["start"]) + shift, int(ent["end"]) + shift
                word = bisect.bisect_right(starts, start) - 1
                if window.core_first <= word < window.core_end:
                    span = Span(start, end, by_prompt[ent["label"]], surface=ent.get("text"))
                    kept[window.doc].append((float(ent.get("score", 0.0)), span))
        return [self._resolve(spans) for spans in kept]

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        settings = {
            "prompts": self.prompts,
            "threshold": self.threshold,
            "flat_ner": self.flat_ner,
            "multi_label": self.multi_label,
            "chunk_words": self.chunk_words,
        }
        return model_identity(self.model_name, package="gliner", model=self.config.name, settings=settings)

    def describe(self) -> dict[str, str]:
        info = {
            "gliner": library_version("gliner"),
            "torch": library_version("torch"),
            "model": self.model_name,
            "prompts": ", ".join(f"{k}={v}" for k, v in self.prompts.items()),
            "threshold": str(self.threshold),
            "flat_ner": str(self.flat_ner),
        }
        if self._model is not None:
            info["chunk_words"] = str(self._window)
            info["encoder"] = str(getattr(self._model.config, "model_name", "?"))
        return info

    def _words(self, text: str) -> list[tuple[int, int]]:
        """GLiNER's own words of ``text`` as code-point offsets."""
        return [(int(start), int(end)) for _, start, end in self._model.data_processor.words_splitter(text)]

    def _resolve(self, scored: list[tuple[float, Span]]) -> list[Span]:
        """Spans in text order; with ``flat_ner`` overlaps between windows are settled by score."""
        if not self.flat_ner:
            return sorted((s for _, s in scored), key=lambda s: (s.start, s.end, s.label))
        chosen: list[Span] = []
        for _, span in sorted(scored, key=lambda x: -x[0]):
            if not any(span.overlaps(other) for other in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: (s.start, s.end))


def prompt_labels(config: ModelConfig, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """Schema label -> the natural-language label GLiNER is prompted with (one each, all distinct).

    ``given`` is option ``labels`` (default: read from ``config``'s options).
    """
    if given is None:
        given = parse_options(GlinerOptions, {"model": "-", "labels": config.options.get("labels", {})}).labels
    schema = list(config.schema) or list(given)
    if not schema:
        raise ConfigError(f"model {config.name!r} (adapter gliner): the suite has no schema; give option 'labels'")
    unknown = sorted(set(given) - set(schema))
    if unknown:
        raise ConfigError(f"model {config.name!r}: option 'labels' names {unknown}, not in the schema {schema}")
    prompts = {label: str(given.get(label) or config.schema.get(label) or label.lower()).strip() for label in schema}
    if len(set(prompts.values())) < len(prompts):
        raise ConfigError(f"model {config.name!r}: two schema labels share one GLiNER label: {prompts}")
    return prompts


def plan_windows(doc: int, n_words: int, size: int, overlap: int) -> list[Window]:
    """Windows of ``size`` words stepping by ``size - overlap``; the cores partition the words.

    >>> [(w.first, w.end, w.core_first, w.core_end) for w in plan_windows(0, 25, 10, 4)]
    [(0, 10, 0, 8), (6, 16, 8, 14), (12, 22, 14, 20), (18, 25, 20, 25)]
    """
    if n_words == 0:
        return []
    step, half = size - overlap, overlap // 2
    windows = []
    first = 0
    while True:
        end = min(first + size, n_words)
        last = end == n_words
        windows.append(Window(doc, first, end, first + half if first else 0, n_words if last else end - overlap + half))
        if last:
            return windows
        first += step
