"""Stanford CoreNLP (the Java Stanford NER) through the HTTP API of a running CoreNLP server.

Options (:class:`CoreNlpOptions`, checked before anything runs):

- ``url`` ("http://localhost:9000"): the server, started with
  ``java -mx4g -cp "*" edu.stanford.nlp.pipeline.StanfordCoreNLPServer -port 9000``;
- ``annotators`` ("tokenize,ssplit,pos,lemma,ner": CoreNLP's ner needs pos and lemma);
- ``language`` ("en"): sent as ``tokenize.language``; ``properties``: any other CoreNLP
  properties (``ner.applyFineGrained: false``, ``ner.model: ...``), sent with the rest as
  the ``properties`` JSON query parameter;
- ``request_timeout_s`` (60); ``concurrency`` (1): parallel requests (the server has threads);
- ``server_version``: written into the fingerprint, since the server does not say which models it runs.

CoreNLP counts ``characterOffsetBegin``/``End`` in Java ``char`` units, i.e.
UTF-16 code units: each character outside the Basic Multilingual Plane (an
emoji) counts two. They are converted to code points. Entities come from
``entitymentions``, or from runs of the same token ``ner`` tag when that
annotator is absent. On gold tokens the tokens are sent space-joined, one
sentence a line, with ``tokenize.whitespace`` and ``ssplit.eolonly``, and
mapped back by token index.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.model_files import model_identity, trimmed, utf16_to_code_points
from nerbench.adapters.models.options import AdapterOptions, OptionError, about, parse_config, require_url
from nerbench.adapters.models.tokenize import Token, clean_tokens, sentences
from nerbench.errors import ConfigError, InputError
from nerbench.labels import CORENLP
from nerbench.types import Document, Span, TextInput


@dataclass(frozen=True, kw_only=True)
class CoreNlpOptions(AdapterOptions):
    """The options of the ``corenlp`` adapter.

    Not :class:`~nerbench.adapters.models.remote.RemoteOptions`: a CoreNLP server is not
    billed and its requests are not retried, so only ``concurrency`` (default 1 here) and
    ``request_timeout_s`` of those apply.
    """

    url: str = field(default="http://localhost:9000", metadata=about("the CoreNLP server"))
    annotators: str = field(
        default="tokenize,ssplit,pos,lemma,ner", metadata=about("CoreNLP annotators (ner needs pos and lemma)")
    )
    language: str = field(default="en", metadata=about("sent as tokenize.language"))
    properties: dict[str, Any] = field(default_factory=dict, metadata=about("any other CoreNLP properties"))
    request_timeout_s: float = field(default=60.0, metadata=about(gt=0, help="seconds before a request is abandoned"))
    concurrency: int = field(default=1, metadata=about(ge=1, help="parallel requests (the server has threads)"))
    server_version: str | int | float = field(default="unknown", metadata=about("written into the fingerprint"))

    def __post_init__(self) -> None:
        require_url(self.url, "url")
        if "ner" not in self.annotators.split(","):
            raise OptionError(f"option 'annotators' must include ner, got {self.annotators!r}", key=("annotators",))


class CoreNlpAdapter:
    """Posts each document to a CoreNLP server and reads its JSON entity mentions."""

    family: ClassVar[str] = "corenlp"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = ""
    native_labels: ClassVar[frozenset[str] | None] = CORENLP
    vocabulary: ClassVar[str] = "corenlp"
    Options: ClassVar[type[AdapterOptions]] = CoreNlpOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(CoreNlpOptions, config)
        self.url = options.url.rstrip("/")
        self.annotators = options.annotators
        self.language = options.language
        self.properties: dict[str, Any] = dict(options.properties)
        self.timeout_s = options.request_timeout_s
        self.concurrency = options.concurrency
        self.server_version = str(options.server_version)
        self._requests = self._characters = 0

    def load(self) -> None:
        """Check the server answers ``/ping``: a missing server is a one-line error, not a failure per document."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=self.timeout_s) as reply:
                reply.read()
        except (urllib.error.URLError, OSError) as err:
            raise ConfigError(
                f"model {self.config.name!r} (adapter corenlp): no CoreNLP server at {self.url} ({err}); start one"
                " with: java -mx4g -cp '*' edu.stanford.nlp.pipeline.StanfordCoreNLPServer -port 9000"
            ) from None

    def fit(self, documents: Sequence[Document]) -> None:
        """The server's models are fixed: nothing to train."""

    def labels(self) -> frozenset[str]:
        return CORENLP

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        self._requests += sum(1 for i in inputs if i.text.strip())
        self._characters += sum(len(i.text) for i in inputs)
        if self.concurrency == 1:
            return [self._predict_one(inp) for inp in inputs]
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._predict_one, inputs))

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        settings = {"properties": self._properties(gold_tokens=False), "server_version": self.server_version}
        return model_identity(self.url, package="corenlp", model=self.config.name, settings=settings)

    def describe(self) -> dict[str, str]:
        return {"url": self.url, "annotators": self.annotators, "language": self.language,
                "server_version": self.server_version}  # fmt: skip

    def _properties(self, *, gold_tokens: bool) -> dict[str, Any]:
        props: dict[str, Any] = {"annotators": self.annotators, "outputFormat": "json"}
        props["tokenize.language"] = self.language
        props.update(self.properties)
        if gold_tokens:
            props.update({"tokenize.whitespace": "true", "ssplit.eolonly": "true"})
        return props

    def _predict_one(self, inp: TextInput) -> list[Span]:
        if not inp.text.strip():
            return []
        if inp.tokens is not None:
            return self._predict_tokens(inp)
        return mention_spans(inp.text, self._annotate(inp.text, gold_tokens=False))

    def _predict_tokens(self, inp: TextInput) -> list[Span]:
        try:
            tokens = clean_tokens(inp.text, inp.tokens or ())
        except ValueError as err:
            raise InputError(f"input {inp.id!r}: {err}") from None
        lines = [" ".join(inp.text[s:e] for s, e in tokens[a:b]) for a, b in sentences(inp.text, tokens)]
        reply = self._annotate("\n".join(lines), gold_tokens=True)
        return token_spans(tokens, reply, doc_id=inp.id)

    def _annotate(self, text: str, *, gold_tokens: bool) -> dict[str, Any]:
        query = urllib.parse.urlencode({"properties": json.dumps(self._properties(gold_tokens=gold_tokens))})
        request = urllib.request.Request(
            f"{self.url}/?{query}",
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                body = reply.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")[:200]
            raise RuntimeError(f"CoreNLP server {self.url} answered HTTP {err.code}: {detail}") from None
        try:
            parsed: dict[str, Any] = json.loads(body)
        except json.JSONDecodeError:
            raise RuntimeError(f"CoreNLP server {self.url} did not answer JSON: {body[:200]!r}") from None
        return parsed


def mention_spans(text: str, reply: dict[str, Any]) -> list[Span]:
    """Entities of a CoreNLP JSON reply as code-point spans of ``text`` (UTF-16 offsets converted)."""
    table = utf16_to_code_points(text)
    spans = []
    for begin, end, label in _mentions(reply):
        start, stop = trimmed(text, table[min(begin, len(table) - 1)], table[min(end, len(table) - 1)])
        if start < stop:
            spans.append(Span(start, stop, label))
    return spans


def token_spans(tokens: Sequence[Token], reply: dict[str, Any], *, doc_id: str) -> list[Span]:
    """Entities of a reply on whitespace-joined gold tokens, mapped back by document token index."""
    count = sum(len(s.get("tokens", ())) for s in reply.get("sentences", ()))
    if count != len(tokens):
        raise RuntimeError(f"input {doc_id!r}: CoreNLP returned {count} tokens for {len(tokens)} gold tokens")
    return [Span(tokens[first][0], tokens[end - 1][1], label) for first, end, label in _mentions(reply, by_token=True)]


def _mentions(reply: dict[str, Any], *, by_token: bool = False) -> list[tuple[int, int, str]]:
    """``(begin, end, label)`` per entity: UTF-16 offsets, or document token indices when ``by_token``."""
    found = []
    base = 0
    for sentence in reply.get("sentences", ()):
        tokens = sentence.get("tokens", [])
        if "entitymentions" in sentence:
            for m in sentence["entitymentions"]:
                if by_token:
                    found.append((base + int(m["tokenBegin"]), base + int(m["tokenEnd"]), str(m["ner"])))
                else:
                    found.append((int(m["characterOffsetBegin"]), int(m["characterOffsetEnd"]), str(m["ner"])))
        else:
            found.extend(_tag_runs(tokens, base, by_token=by_token))
        base += len(tokens)
    return found


def _tag_runs(tokens: Sequence[dict[str, Any]], base: int, *, by_token: bool) -> list[tuple[int, int, str]]:
    """Runs of tokens with the same non-``O`` ``ner`` tag (CoreNLP's tags carry no B-/I- prefix)."""
    runs: list[tuple[int, int, str]] = []
    previous = "O"
    for k, token in enumerate(tokens):
        tag = str(token.get("ner", "O"))
        if tag != "O" and tag == previous:
            first, _, label = runs[-1]
            runs[-1] = (first, k + 1, label)
        elif tag != "O":
            runs.append((k, k + 1, tag))
        previous = tag
    if by_token:
        return [(base + a, base + b, label) for a, b, label in runs]
    return [
        (int(tokens[a]["characterOffsetBegin"]), int(tokens[b - 1]["characterOffsetEnd"]), lab) for a, b, lab in runs
    ]
