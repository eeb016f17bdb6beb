"""Stanza (Stanford NLP, Python): a ``stanza.Pipeline`` with tokenize + ner.

Options (:class:`StanzaOptions`, checked before anything runs):

- ``lang`` ("en"), ``package`` ("default", e.g. ``ontonotes-ww-multi_charlm`` or ``conll03_charlm``
  for the ner processor: give ``processors: {tokenize: default, ner: conll03_charlm}``);
- ``processors`` ("tokenize,ner", or a mapping processor -> package);
- ``dir``: a local stanza resources directory; ``ner_model_path``: a trained NER model file.
  When either is given the pipeline never downloads (``download_method=None``); otherwise
  stanza fetches the usual models into ``~/stanza_resources`` on first use;
- ``pipeline``: any other ``stanza.Pipeline`` keyword (``ner_batch_size``, ``tokenize_with_spacy``...);
- ``device`` (cpu, cuda or auto).

Offsets are stanza's ``ent.start_char``/``ent.end_char`` (code points into the
text), with whitespace trimmed from the edges. On gold tokens a second
pipeline with ``tokenize_pretokenized`` is fed the token strings, and its
entities are mapped back through their token positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.model_files import library_version, model_identity, resolve_device, trimmed
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_device, require_file
from nerbench.adapters.models.tokenize import clean_tokens, sentences
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.types import Document, Span, TextInput


@dataclass(frozen=True, kw_only=True)
class StanzaOptions(AdapterOptions):
    """The options of the ``stanza`` adapter."""

    lang: str = field(default="en", metadata=about("the language"))
    package: str = field(default="default", metadata=about("the model package (e.g. ontonotes-ww-multi_charlm)"))
    processors: str | dict[str, str] = field(
        default="tokenize,ner", metadata=about("processors, or a mapping processor -> package")
    )
    dir: str | None = field(
        default=None, metadata=about("a local stanza resources directory (then nothing is downloaded)")
    )
    ner_model_path: str | None = field(
        default=None, metadata=about("a trained NER model file (then nothing is downloaded)")
    )
    pipeline: dict[str, Any] = field(default_factory=dict, metadata=about("any other stanza.Pipeline keyword"))
    device: str = field(default="cpu", metadata=about("cpu, cuda, cuda:N or auto"))

    def __post_init__(self) -> None:
        require_device(self.device)

    def check(self) -> None:
        require_file(self.dir, "dir", "directory")
        require_file(self.ner_model_path, "ner_model_path")


class StanzaAdapter:
    """A stanza NER pipeline; its own tokenizer, or gold tokens pretokenized."""

    family: ClassVar[str] = "stanza"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("stanza", "torch")
    extra: ClassVar[str] = "stanza"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "ontonotes"
    Options: ClassVar[type[AdapterOptions]] = StanzaOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(StanzaOptions, config)
        self.lang = options.lang
        self.package = options.package
        self.processors = options.processors
        self.dir = options.dir
        self.ner_model_path = options.ner_model_path
        self.extra_options: dict[str, Any] = dict(options.pipeline)
        self.device = options.device
        self._pipelines: dict[bool, Any] = {}
        self._requests = self._characters = 0

    def load(self) -> None:
        self._pipelines[False] = self._pipeline(pretokenized=False)

    def fit(self, documents: Sequence[Document]) -> None:
        """A stanza model is trained outside nerbench: nothing to do."""

    def labels(self) -> frozenset[str]:
        pipeline = self._pipelines.get(False)
        if pipeline is None or "ner" not in pipeline.processors:
            return frozenset()
        tags = pipeline.processors["ner"].get_known_tags()
        return frozenset(tags[0] if tags and isinstance(tags[0], list) else tags)

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if not self._pipelines:
            raise RuntimeError("StanzaAdapter: call load() first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        out: list[list[Span]] = [[] for _ in inputs]
        raw = [i for i, inp in enumerate(inputs) if inp.tokens is None and inp.text.strip()]
        if raw:
            import stanza

            docs = self._pipelines[False]([stanza.Document([], text=inputs[i].text) for i in raw])
            for i, doc in zip(raw, docs, strict=True):
                out[i] = _entity_spans(inputs[i].text, doc)
        for i, inp in enumerate(inputs):
            if inp.tokens is not None:
                out[i] = self._predict_tokens(inp)
        return out

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        settings = {"lang": self.lang, "package": self.package, "processors": self.processors, **self.extra_options}
        name = self.ner_model_path or self.dir or f"{self.lang}/{self.package}"
        return model_identity(name, package="stanza", model=self.config.name, settings=settings)

    def describe(self) -> dict[str, str]:
        info = {"stanza": library_version("stanza"), "torch": library_version("torch"), "lang": self.lang}
        info["model"] = self.ner_model_path or f"{self.lang}/{self.package}"
        if self._pipelines:
            info["labels"] = ", ".join(sorted(self.labels()))
        return info

    def _pipeline(self, *, pretokenized: bool) -> Any:
        try:
            import stanza
        except ImportError:
            raise MissingExtraError("stanza", "stanza") from None
        local = self.dir is not None or self.ner_model_path is not None
        kwargs: dict[str, Any] = {
            "lang": self.lang,
            "package": self.package,
            "processors": self.processors,
            "device": resolve_device(self.device, model=self.config.name),
            "logging_level": "WARN",
            **self.extra_options,
        }
        if self.dir is not None:
            kwargs["dir"] = str(Path(self.dir).expanduser())
        if self.ner_model_path is not None:
            kwargs["ner_model_path"] = str(Path(self.ner_model_path).expanduser())
            kwargs.setdefault("allow_unknown_language", True)
        if local:
            kwargs["download_method"] = None
        if pretokenized:
            kwargs["tokenize_pretokenized"] = True
            kwargs.pop("tokenize_with_spacy", None)
        try:
            return stanza.Pipeline(**kwargs)
        except (FileNotFoundError, ValueError) as err:
            raise ConfigError(
                f"model {self.config.name!r} (adapter stanza): cannot build the pipeline: {err}"
            ) from None

    def _predict_tokens(self, inp: TextInput) -> list[Span]:
        """Gold tokens, one stanza sentence per sentence, entities mapped back by token position."""
        try:
            tokens = clean_tokens(inp.text, inp.tokens or ())
        except ValueError as err:
            raise InputError(f"input {inp.id!r}: {err}") from None
        if not tokens:
            return []
        if True not in self._pipelines:
            self._pipelines[True] = self._pipeline(pretokenized=True)
        groups = [tokens[a:b] for a, b in sentences(inp.text, tokens)]
        doc = self._pipelines[True]([[inp.text[s:e] for s, e in group] for group in groups])
        ours = [t for group in groups for t in group]
        position = {token.start_char: k for k, token in enumerate(doc.iter_tokens())}
        spans = []
        for ent in doc.ents:
            first, last = position[ent.tokens[0].start_char], position[ent.tokens[-1].start_char]
            spans.append(Span(ours[first][0], ours[last][1], ent.type))
        return spans


def _entity_spans(text: str, doc: Any) -> list[Span]:
    spans = []
    for ent in doc.ents:
        start, end = trimmed(text, int(ent.start_char), int(ent.end_char))
        if start < end:
            spans.append(Span(start, end, ent.type))
    return spans
