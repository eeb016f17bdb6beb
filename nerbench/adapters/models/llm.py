"""Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure, vLLM, llama.cpp, Ollama) as an NER model.

The prompt lists the suite's schema (label and description) and asks for JSON
``{"entities": [{"text", "label", "occurrence"}]}``; with ``response_format:
json_schema`` the server is held to that schema, and by default (``auto``) a
server that refuses it (HTTP 400) is asked for ``json_object``, then for no
response format, the first that works kept for every later request. Every returned entity
is grounded in the document (:func:`ground`): the ``occurrence``-th exact match,
else the ``occurrence``-th match after case and whitespace normalisation. An
entity that cannot be grounded is returned as ``Span(0, 0, label, surface=text)``,
which the scorer counts as invalid, so the hallucination rate is invalid /
predictions. A reply that is not that JSON fails its document with the reason.
Usage is the prompt and completion tokens the server reports.

Options: ``base_url`` (e.g. ``https://api.openai.com/v1``), ``model``,
``api_key_env`` (the environment variable holding the key; none: no
``Authorization`` header), ``temperature`` (0), ``max_tokens`` (1024),
``response_format`` (``auto``, ``json_schema``, ``json_object`` or ``none``), ``few_shot``
(examples drawn from the dataset's train split, default 0), ``seed`` (which
examples), plus the shared remote options (``concurrency``,
``request_timeout_s``, ``max_retries``, ``backoff_s``, ``max_backoff_s``). Plain
``urllib``: no client library needed. Price it per model in the suite's
``pricing:`` block (``kind: tokens``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_url
from nerbench.adapters.models.remote import Meter, RemoteOptions, Retry, call_with_retries, http_retry, predict_each
from nerbench.errors import ConfigError
from nerbench.types import Document, Span, TextInput

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]
FORMATS: tuple[str, ...] = get_args(ResponseFormat)
FALLBACKS = ("json_schema", "json_object", "none")  # ``auto`` tries these in turn
_SCHEMA = {
    "type": "object",
    "properties": {
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "label": {"type": "string"},
                    "occurrence": {"type": "integer"},
                },
                "required": ["text", "label", "occurrence"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["entities"],
    "additionalProperties": False,
}
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _normalised(text: str) -> tuple[str, list[int], list[int]]:
    """Lower-cased text with whitespace runs as one space, and each normalised character's original span."""
    chars, starts, ends = [], [], []
    for match in re.finditer(r"\s+|.", text, re.DOTALL):
        c = match.group()
        lowered = " " if c[0].isspace() else c.lower()
        if len(lowered) != 1:  # a lower-casing that changes length keeps the character as it is
            lowered = c
        chars.append(lowered)
        starts.append(match.start())
        ends.append(match.end())
    return "".join(chars), starts, ends


def _nth(haystack: str, needle: str, n: int) -> int:
    """Start of the n-th (1-based) occurrence of ``needle``, overlapping matches counted; -1 if none."""
    at = -1
    for _ in range(n):
        at = haystack.find(needle, at + 1)
        if at < 0:
            return -1
    return at


def ground(text: str, surface: str, occurrence: int = 1) -> tuple[int, int] | None:
    """Where the model's entity string is in ``text``: exact first, then case/whitespace-normalised.

    ``occurrence`` (1-based) picks among repeated matches; None when there is no such match.
    """
    if not surface or occurrence < 1:
        return None
    at = _nth(text, surface, occurrence)
    if at >= 0:
        return at, at + len(surface)
    norm_text, starts, ends = _normalised(text)
    norm_surface = _normalised(surface.strip())[0]
    if not norm_surface:
        return None
    at = _nth(norm_text, norm_surface, occurrence)
    if at < 0:
        return None
    return starts[at], ends[at + len(norm_surface) - 1]


def grounded_spans(text: str, entities: Sequence[Any]) -> list[Span]:
    """Spans for the entities of a parsed reply; an ungrounded one is an invalid ``Span(0, 0)``."""
    spans = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("text"), str):
            raise ValueError(f"entity {entity!r} has no text")
        surface, label = entity["text"], str(entity.get("label", ""))
        occurrence = entity.get("occurrence", 1)
        place = ground(text, surface, occurrence if isinstance(occurrence, int) else 1)
        if place is None:
            spans.append(Span(0, 0, label, surface=surface))
        else:
            spans.append(Span(place[0], place[1], label, surface=text[place[0] : place[1]]))
    return spans


def parse_reply(content: str) -> list[Any]:
    """The ``entities`` list of a reply (code fences allowed); ValueError when it is not that JSON."""
    fenced = _FENCE.match(content)
    try:
        data = json.loads(fenced.group(1) if fenced else content)
    except json.JSONDecodeError as err:
        raise ValueError(f"unparseable reply ({err.msg}): {content[:80]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise ValueError(f"reply has no 'entities' list: {content[:80]!r}")
    return data["entities"]


def _retry(err: BaseException) -> Retry | None:
    if isinstance(err, urllib.error.HTTPError):
        return http_retry(err.code, dict(err.headers.items()) if err.headers else None)
    if isinstance(err, urllib.error.URLError | TimeoutError | ConnectionError):
        return Retry()
    return None


@dataclass(frozen=True, kw_only=True)
class LlmOptions(RemoteOptions):
    """The options of the ``llm`` adapter, besides the shared remote ones."""

    base_url: str = field(metadata=about("the OpenAI-compatible endpoint (https://api.openai.com/v1)"))
    model: str = field(metadata=about("the model name the server knows"))
    api_key_env: str | None = field(
        default=None, metadata=about("the environment variable holding the key (none: no key sent)")
    )
    temperature: float = field(default=0.0, metadata=about(ge=0, help="sampling temperature"))
    max_tokens: int = field(default=1024, metadata=about(ge=1, help="the longest reply"))
    response_format: ResponseFormat = field(
        default="auto", metadata=about("how the server is held to the reply's JSON")
    )
    few_shot: int = field(default=0, metadata=about(ge=0, help="examples drawn from the train split"))
    seed: int = field(default=0, metadata=about("which examples"))

    def __post_init__(self) -> None:
        require_url(self.base_url, "base_url")


class LlmAdapter:
    """An LLM behind an OpenAI-compatible ``/chat/completions`` endpoint, prompted with the suite's schema."""

    family: ClassVar[str] = "llm"
    kind: ClassVar[str] = "zero-shot"  # with few_shot, it also trains: the report then counts it as trained
    trains: bool = False  # True when few_shot > 0: examples come from the train split
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = "llm"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "open"
    Options: ClassVar[type[AdapterOptions]] = LlmOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.settings = options = parse_config(LlmOptions, config)
        self.base_url = options.base_url.rstrip("/")
        self.model = options.model
        self.api_key_env = options.api_key_env
        self.temperature = options.temperature
        self.max_tokens = options.max_tokens
        self.format: str = options.response_format
        self.few_shot = options.few_shot
        self.seed = options.seed
        self.trains = self.few_shot > 0
        self.meter = Meter("token")
        # With ``auto``, the formats still to try: a server that refuses one (HTTP 400) gets the next from then on.
        self._formats = list(FALLBACKS) if self.format == "auto" else [self.format]
        self._formats_lock = threading.Lock()
        self.examples: list[tuple[str, str]] = []
        self._api_key: str | None = None

    def load(self) -> None:
        if self.api_key_env:
            self._api_key = os.environ.get(self.api_key_env)
            if not self._api_key:
                raise ConfigError(
                    f"model {self.config.name!r} (llm): environment variable {self.api_key_env} is not set"
                )

    def fit(self, documents: Sequence[Document]) -> None:
        """Pick ``few_shot`` example documents (with entities) from the train split, seeded."""
        pool = [d for d in documents if d.spans] or list(documents)
        picked = random.Random(self.seed).sample(pool, min(self.few_shot, len(pool)))
        self.examples = [(d.text, json.dumps({"entities": _answer(d)}, ensure_ascii=False)) for d in picked]

    def labels(self) -> frozenset[str]:
        return frozenset(self.config.schema)

    def messages(self, text: str) -> list[dict[str, str]]:
        """The chat: instructions and schema, the few-shot examples, then the document alone."""
        labels = "\n".join(f"- {label}: {desc}" if desc else f"- {label}" for label, desc in self.config.schema.items())
        system = (
            "You extract named entities. Labels:\n" + labels + "\n"
            'Reply with JSON only: {"entities": [{"text": <the exact text of the entity as it appears>, '
            '"label": <one of the labels>, "occurrence": <1 for its first appearance in the text, 2 for the '
            "second, ...>}]}. The user message is the document, nothing else."
        )
        chat = [{"role": "system", "content": system}]
        for example, answer in self.examples:
            chat += [{"role": "user", "content": example}, {"role": "assistant", "content": answer}]
        return [*chat, {"role": "user", "content": text}]

    def _body(self, text: str, response_format: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "messages": self.messages(text), "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }  # fmt: skip
        if response_format == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "entities", "schema": _SCHEMA}}
        elif response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        return predict_each([i.text for i in inputs], self._complete, self.settings)

    def _post(self, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=self.settings.request_timeout_s) as response:
            reply: dict[str, Any] = json.loads(response.read().decode("utf-8"))
        return reply

    def _reply(self, text: str) -> dict[str, Any]:
        """The server's reply; under ``auto``, a response format the server refuses (HTTP 400) is dropped for good."""
        while True:
            response_format = self._formats[0]
            body = json.dumps(self._body(text, response_format), ensure_ascii=False).encode("utf-8")
            try:
                return call_with_retries(functools.partial(self._post, body), _retry, self.settings)
            except urllib.error.HTTPError as err:
                with self._formats_lock:
                    if err.code != 400:
                        raise
                    if self._formats[0] == response_format:  # else another request has moved on already
                        if len(self._formats) == 1:
                            raise
                        self._formats.pop(0)

    def _complete(self, text: str) -> list[Span]:
        reply = self._reply(text)
        usage = reply.get("usage") or {}
        self.meter.tokens(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), len(text))
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"reply has no choices[0].message.content: {str(reply)[:80]}") from None
        return grounded_spans(text, parse_reply(content or ""))

    def usage(self) -> Usage:
        return self.meter.usage()

    def fingerprint(self) -> str:
        prompt = hashlib.sha256(json.dumps(self.messages(""), sort_keys=True).encode("utf-8")).hexdigest()[:12]
        return f"llm:{self.base_url}:{self.model}:{self.temperature}:{self.format}:{self.few_shot}:{self.seed}:{prompt}"

    def describe(self) -> dict[str, str]:
        return {
            "model": self.model, "endpoint": self.base_url, "few_shot": str(self.few_shot),
            "response_format": self.format if self.format != "auto" else f"auto ({self._formats[0]})",
        }  # fmt: skip


def _answer(doc: Document) -> list[dict[str, Any]]:
    """A gold document as the reply the prompt asks for (occurrence counted as :func:`ground` counts)."""
    out = []
    for span in doc.spans:
        surface = doc.text[span.start : span.end]
        occurrence = 1
        while _nth(doc.text, surface, occurrence) not in (span.start, -1):
            occurrence += 1
        out.append({"text": surface, "label": span.label, "occurrence": occurrence})
    return out
