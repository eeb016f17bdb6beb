"""Flair: a ``SequenceTagger`` over sentences built from our own token offsets.

Options (:class:`FlairOptions`, checked before anything runs):

- ``model`` (required): a Flair model name (``flair/ner-english``, ``flair/ner-english-large``,
  ``flair/ner-multi``, or a short name such as ``ner``) or the path of a trained ``.pt`` file;
- ``mini_batch_size`` (32); ``split_sentences`` (true: one Flair sentence per sentence, not per
  document); ``device`` (cpu, cuda or auto).

Tokens are the gold tokens when the suite asks for them, else
:func:`~nerbench.adapters.models.tokenize.word_spans`. Flair is given the token
strings, never a string to re-tokenize, and each predicted span is mapped back
through the indices of its first and last token, so offsets are exact code points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.model_files import library_version, model_identity, resolve_device
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_device, require_file
from nerbench.adapters.models.tokenize import Token, input_tokens, sentences
from nerbench.errors import MissingExtraError
from nerbench.types import Document, Span, TextInput

_NOT_ENTITY = frozenset({"O", "<unk>", "<START>", "<STOP>", ""})


@dataclass(frozen=True, kw_only=True)
class FlairOptions(AdapterOptions):
    """The options of the ``flair`` adapter."""

    model: str = field(metadata=about("a Flair model name (flair/ner-english, ner) or the path of a trained .pt file"))
    mini_batch_size: int = field(default=32, metadata=about(ge=1, help="sentences per forward pass"))
    split_sentences: bool = field(default=True, metadata=about("one Flair sentence per sentence, not per document"))
    device: str = field(default="cpu", metadata=about("cpu, cuda, cuda:N or auto"))

    def __post_init__(self) -> None:
        require_device(self.device)

    def check(self) -> None:
        if self.model.endswith((".pt", ".bin")):
            require_file(self.model, "model")


class FlairAdapter:
    """A Flair sequence tagger loaded with ``SequenceTagger.load``."""

    family: ClassVar[str] = "flair"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("flair", "torch")
    extra: ClassVar[str] = "flair"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "conll"
    Options: ClassVar[type[AdapterOptions]] = FlairOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(FlairOptions, config)
        self.model_name = options.model
        self.mini_batch_size = options.mini_batch_size
        self.split_sentences = options.split_sentences
        self.device = options.device
        self._tagger: Any = None
        self._sentence: Any = None
        self._requests = self._characters = 0

    def load(self) -> None:
        try:
            import flair
            from flair.data import Sentence
            from flair.models import SequenceTagger
        except ImportError:
            raise MissingExtraError("flair", "flair") from None
        import torch

        flair.device = torch.device(resolve_device(self.device, model=self.config.name))
        self._tagger = SequenceTagger.load(self.model_name)
        self._sentence = Sentence

    def fit(self, documents: Sequence[Document]) -> None:
        """A Flair model is trained outside nerbench: nothing to do."""

    def labels(self) -> frozenset[str]:
        if self._tagger is None:
            return frozenset()
        tags = self._tagger.label_dictionary.get_items()
        return frozenset(t.split("-", 1)[1] if t[:2] in {"B-", "I-", "E-", "S-"} else t for t in tags) - _NOT_ENTITY

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._tagger is None:
            raise RuntimeError("FlairAdapter: call load() first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        batch: list[tuple[int, list[Token], Any]] = []
        for i, inp in enumerate(inputs):
            tokens = input_tokens(inp)
            ranges = sentences(inp.text, tokens) if self.split_sentences else [(0, len(tokens))]
            for first, end in ranges:
                if end > first:
                    part = tokens[first:end]
                    batch.append((i, part, self._sentence([inp.text[s:e] for s, e in part])))
        if batch:
            self._tagger.predict([s for _, _, s in batch], mini_batch_size=self.mini_batch_size, verbose=False)
        out: list[list[Span]] = [[] for _ in inputs]
        for i, part, sentence in batch:
            for span in sentence.get_spans(self._tagger.label_type):
                first, last = span.tokens[0].idx - 1, span.tokens[-1].idx - 1
                out[i].append(Span(part[first][0], part[last][1], span.get_label(self._tagger.label_type).value))
        return out

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        settings = {"split_sentences": self.split_sentences}
        return model_identity(self.model_name, package="flair", model=self.config.name, settings=settings)

    def describe(self) -> dict[str, str]:
        info = {"flair": library_version("flair"), "torch": library_version("torch"), "model": self.model_name}
        if self._tagger is not None:
            info["tag_type"] = str(self._tagger.label_type)
            info["labels"] = ", ".join(sorted(self.labels()))
            info["embeddings"] = type(self._tagger.embeddings).__name__
        return info
