"""CRF: a linear-chain CRF (sklearn-crfsuite, L-BFGS) trained on the suite's train split.

The feature-engineered family Stanford NER belongs to: lower-cased word,
prefixes and suffixes of 2-3 characters, word shape (``Xxxx``, ``dd``), title,
upper, digit, hyphen and punctuation flags, the same for the words at -2..+2,
and sentence begin/end marks. Tags are BIO (IOB2), decoded with conlleval's rules.

Options:

- ``c1`` (0.1), ``c2`` (0.1): L1 and L2 regularisation; ``max_iterations`` (100);
- ``split_sentences`` (true): cut each document into sentences before tagging (a
  newline, or ``.!?…`` then whitespace and a capital, not after an abbreviation),
  so the CRF sees sentence-length sequences; when training no cut falls inside a gold span;
- ``model``: the path of an already trained ``.crfsuite`` file (from this adapter):
  ``fit`` then trains nothing.

Tokens are the gold tokens when the input carries them, else
:func:`~nerbench.adapters.models.tokenize.word_spans`; when training, tokens are
cut at gold span boundaries so every span aligns. A trained model is kept in
``cache_dir/crf-<hash>.crfsuite``, the hash covering the training documents and
the options, so the same data trains once. L-BFGS is deterministic: no seed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_file
from nerbench.adapters.models.tokenize import Token, clean_tokens, input_tokens, sentences, split_at, word_spans
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.tagging import chunks_to_tags, tags_to_chunks
from nerbench.types import Document, Span, TextInput

FEATURES_VERSION = "1"  # bump when the features change: cached models are keyed by it
WINDOW = (-2, -1, 1, 2)
Features = dict[str, Any]
Sequences = list[tuple[list[Features], list[str]]]


@dataclass(frozen=True, kw_only=True)
class CrfOptions(AdapterOptions):
    """The options of the ``crf`` adapter."""

    c1: float = field(default=0.1, metadata=about(ge=0, help="L1 regularisation"))
    c2: float = field(default=0.1, metadata=about(ge=0, help="L2 regularisation"))
    max_iterations: int = field(default=100, metadata=about(ge=1, help="L-BFGS iterations"))
    split_sentences: bool = field(default=True, metadata=about("tag sentence by sentence, not whole documents"))
    model: Path | None = field(
        default=None, metadata=about("an already trained .crfsuite file (then nothing is trained)")
    )

    def check(self) -> None:
        require_file(self.model, "model")


class CrfAdapter:
    """A CRF trained in ``fit`` (or read from option ``model``), tagging in ``predict``."""

    family: ClassVar[str] = "crf"
    trains: ClassVar[bool] = True
    vocabulary: ClassVar[str] = "open"
    Options: ClassVar[type[AdapterOptions]] = CrfOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(CrfOptions, config)
        self.c1, self.c2 = options.c1, options.c2
        self.max_iterations = options.max_iterations
        self.split_sentences = options.split_sentences
        self.model_option = None if options.model is None else options.model.expanduser()
        self.model_file: Path | None = None
        self.source = "untrained"  # then "file", "cache" or "trained"
        self._tagger: Any = None
        self._requests = 0
        self._characters = 0

    def load(self) -> None:
        _import_crfsuite()
        if self.model_option is not None:
            if not self.model_option.is_file():
                raise ConfigError(f"model {self.config.name!r} (adapter crf): no model file at {self.model_option}")
            self._open(self.model_option, "file")

    def fit(self, documents: Sequence[Document]) -> None:
        """Train on ``documents``, or reuse the model cached for the same data and options."""
        if self.model_option is not None:
            return  # a trained file was given
        path = self.config.cache_dir / f"crf-{self.training_hash(documents)[:24]}.crfsuite"
        if path.is_file():
            self._open(path, "cache")
            return
        sequences = [seq for doc in documents for seq in training_sequences(doc, split=self.split_sentences)]
        if not sequences:
            raise ConfigError(f"model {self.config.name!r} (adapter crf): the train split has no tokens to learn from")
        self._train(sequences, path)
        self._open(path, "trained")

    def training_hash(self, documents: Sequence[Document]) -> str:
        """What a trained model depends on: the documents (in order) and the settings."""
        digest = hashlib.sha256(self._settings().encode())
        for doc in documents:
            spans = [(s.start, s.end, s.label) for s in doc.spans]
            digest.update(json.dumps([doc.text, spans, doc.tokens], ensure_ascii=False).encode())
        return digest.hexdigest()

    def labels(self) -> frozenset[str]:
        if self._tagger is None:
            return frozenset()
        return frozenset(tag[2:] for tag in self._tagger.labels() if tag != "O")

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._tagger is None:
            raise RuntimeError("CrfAdapter: call fit() (or give option 'model' and call load()) first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        return [self._predict_one(inp) for inp in inputs]

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        """The given model file's sha256; for a model trained here, the settings' hash.

        A trained model is fixed by its training data and the settings (L-BFGS is
        deterministic); the runner keys cached predictions on the train split's hash
        as well, so the fingerprint stays the same before and after ``fit``.
        """
        if self.model_option is not None:
            return f"crf:{_file_sha256(self.model_option, self.config.name)}"
        return f"crf:{hashlib.sha256(self._settings().encode()).hexdigest()}"

    def describe(self) -> dict[str, str]:
        info = {
            "sklearn-crfsuite": _version("sklearn-crfsuite"),
            "python-crfsuite": _version("python-crfsuite"),
            "source": self.source,
            "c1": str(self.c1),
            "c2": str(self.c2),
            "max_iterations": str(self.max_iterations),
        }
        if self._tagger is not None and self.model_file is not None:
            info["features"] = str(self._tagger.info().header.get("num_attrs", "?"))
            info["labels"] = str(len(self.labels()))
            info["model_file"] = str(self.model_file)
            info["model_sha256"] = _file_sha256(self.model_file, self.config.name)
        return info

    def _settings(self) -> str:
        return json.dumps(
            {
                "features": FEATURES_VERSION,
                "c1": self.c1,
                "c2": self.c2,
                "max_iterations": self.max_iterations,
                "split_sentences": self.split_sentences,
                "sklearn-crfsuite": _version("sklearn-crfsuite"),
            },
            sort_keys=True,
        )

    def _train(self, sequences: Sequences, path: Path) -> None:
        """Train into a temporary file beside ``path``, then rename it: the cache is complete or absent."""
        sklearn_crfsuite, _ = _import_crfsuite()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=self.c1,
            c2=self.c2,
            max_iterations=self.max_iterations,
            all_possible_transitions=True,
            model_filename=str(temporary),
        )
        try:
            crf.fit([x for x, _ in sequences], [y for _, y in sequences])
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    def _open(self, path: Path, source: str) -> None:
        _, pycrfsuite = _import_crfsuite()
        tagger = pycrfsuite.Tagger()
        try:
            tagger.open(str(path))
        except (OSError, ValueError) as err:
            raise ConfigError(f"model {self.config.name!r}: {path} is not a CRFsuite model: {err}") from None
        if self._tagger is not None:
            self._tagger.close()
        self._tagger, self.model_file, self.source = tagger, path, source

    def _predict_one(self, inp: TextInput) -> list[Span]:
        text = inp.text
        tokens = input_tokens(inp)
        ranges = sentences(text, tokens) if self.split_sentences else [(0, len(tokens))]
        spans = []
        for first, end in ranges:
            tags = self._tagger.tag(sentence_features(text, tokens[first:end]))
            for a, b, label in tags_to_chunks(tags, scheme="IOB2", repair="conlleval").chunks:
                spans.append(Span(tokens[first + a][0], tokens[first + b - 1][1], label))
        return spans


def training_sequences(doc: Document, *, split: bool = True) -> Sequences:
    """One document as (features, BIO tags) per sentence, tokens cut to align with its spans.

    Overlapping gold spans cannot be BIO-encoded: the earlier (then longer) one is kept.
    """
    spans = _non_overlapping(doc.spans)
    try:
        base = word_spans(doc.text) if doc.tokens is None else clean_tokens(doc.text, doc.tokens)
    except ValueError as err:
        raise InputError(f"training document {doc.id!r}: {err}") from None
    tokens = split_at(base, [b for s in spans for b in (s.start, s.end)])
    starts, ends = [t[0] for t in tokens], [t[1] for t in tokens]
    chunks = []
    for s in spans:
        first, end = bisect.bisect_left(starts, s.start), bisect.bisect_right(ends, s.end)
        if first < end:
            chunks.append((first, end, s.label))
    tags = chunks_to_tags(chunks, len(tokens), scheme="IOB2")
    keep = [(s.start, s.end) for s in spans]
    ranges = sentences(doc.text, tokens, keep=keep) if split else [(0, len(tokens))]
    return [(sentence_features(doc.text, tokens[a:b]), tags[a:b]) for a, b in ranges if b > a]


def sentence_features(text: str, tokens: Sequence[Token]) -> list[Features]:
    """The CRF features of each token of one sentence."""
    words = [text[s:e] for s, e in tokens]
    features = []
    for i, word in enumerate(words):
        f = dict(_own_features(word))
        for offset in WINDOW:
            j = i + offset
            if 0 <= j < len(words):
                f.update(_context_features(words[j], offset))
        if i == 0:
            f["BOS"] = True
        if i == len(words) - 1:
            f["EOS"] = True
        features.append(f)
    return features


def word_shape(word: str) -> str:
    """``'McDonald'`` -> ``'XxXxxx'``: X upper, x lower, d digit, other kept; runs capped at 3."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not (len(out) >= 3 and out[-1] == out[-2] == out[-3] == c):
            out.append(c)
    return "".join(out)


def _flags(word: str) -> Features:
    flags = {
        "title": word.istitle(),
        "upper": word.isupper(),
        "digit": word.isdigit(),
        "hyphen": "-" in word,
        "punct": not any(ch.isalnum() for ch in word),
    }
    return {k: True for k, v in flags.items() if v}


@lru_cache(maxsize=200_000)
def _own_features(word: str) -> Features:
    shape = word_shape(word)
    return {
        "bias": 1.0,
        "lower": word.lower(),
        "prefix2": word[:2],
        "prefix3": word[:3],
        "suffix2": word[-2:],
        "suffix3": word[-3:],
        "shape": shape,
        "short_shape": "".join(c for i, c in enumerate(shape) if i == 0 or shape[i - 1] != c),
        **_flags(word),
    }


@lru_cache(maxsize=200_000)
def _context_features(word: str, offset: int) -> Features:
    own = {"lower": word.lower(), "suffix3": word[-3:], "shape": word_shape(word), **_flags(word)}
    return {f"{offset:+d}:{k}": v for k, v in own.items()}


def _non_overlapping(spans: Sequence[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _import_crfsuite() -> tuple[Any, Any]:
    try:
        import pycrfsuite
        import sklearn_crfsuite
    except ImportError:
        raise MissingExtraError("sklearn-crfsuite", "crf") from None
    return sklearn_crfsuite, pycrfsuite


def _file_sha256(path: Path, model: str) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise ConfigError(f"model {model!r} (adapter crf): cannot read {path}: {err.strerror}") from None
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"
