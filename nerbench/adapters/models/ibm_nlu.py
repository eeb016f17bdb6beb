"""IBM Watson Natural Language Understanding ``analyze`` (entities with mentions) through ibm-watson.

DEPRECATED BY IBM: the service reaches end of support on 2027-07-31; runs record
it in ``describe()`` so the report says so.

Each mention's ``location: [start, end]`` (code points, end exclusive) becomes a
span with the mention text as its surface. Texts over 50,000 characters are split
on sentence or whitespace boundaries and the spans shifted back. IBM bills one
item per 10,000 characters per feature per request (entities only: one feature).

Options: ``url`` (the service instance URL), ``apikey_env`` (the name of the
environment variable holding the API key, default ``IBM_NLU_APIKEY``),
``iam_url`` (the IAM token service, default IBM's), ``version`` (API version
date, default ``2022-04-07``), ``model`` (a custom entity model id),
``language``, plus the shared remote options (``concurrency``,
``request_timeout_s``, ``max_retries``, ``backoff_s``, ``max_backoff_s``). The
key is read from the environment at load and handed to the SDK's authenticator;
nerbench never stores or logs it. Default label maps: ``watson-to-conll`` and
``watson-to-general``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, about, parse_config, require_url
from nerbench.adapters.models.remote import (
    REQUESTS_ERRORS,
    Meter,
    RemoteOptions,
    Retry,
    call_with_retries,
    connection_retry,
    http_retry,
    predict_each,
    shifted,
    split_text,
)
from nerbench.errors import ConfigError, MissingExtraError
from nerbench.labels import WATSON
from nerbench.types import Document, Span, TextInput

MAX_CHARS = 50_000
END_OF_SUPPORT = "2027-07-31"


def _retry(err: BaseException) -> Retry | None:
    """429 and 5xx (``ApiException.code``) are retried; dropped connections and timeouts too."""
    code = getattr(err, "code", None)
    if isinstance(code, int) and type(err).__name__ == "ApiException":
        response = getattr(err, "http_response", None)
        return http_retry(code, getattr(response, "headers", None))
    return connection_retry(err, *REQUESTS_ERRORS)


@dataclass(frozen=True, kw_only=True)
class WatsonNluOptions(RemoteOptions):
    """The options of the ``ibm-nlu`` adapter, besides the shared remote ones."""

    url: str | None = field(default=None, metadata=about("the service instance URL"))
    apikey_env: str = field(default="IBM_NLU_APIKEY", metadata=about("the environment variable holding the API key"))
    iam_url: str | None = field(default=None, metadata=about("the IAM token service (default IBM's)"))
    version: str = field(default="2022-04-07", metadata=about("the API version date"))
    model: str | None = field(default=None, metadata=about("a custom entity model id"))
    language: str | None = field(default=None, metadata=about("the documents' language (default: detected)"))

    def __post_init__(self) -> None:
        require_url(self.url, "url")
        require_url(self.iam_url, "iam_url")


def _forget_failed_token_requests(manager: Any) -> None:
    """ibm-cloud-sdk-core keeps a token request that raised marked as in flight for 60 s, so every later
    document waits a minute before asking again (an unreachable ``iam_url`` stalled a run for half an hour):
    a failed request is forgotten at once, and each document fails promptly with the connection error."""
    fetch = manager.request_token

    def request_token() -> Any:
        try:
            return fetch()
        except BaseException:
            manager.request_time = 0
            raise

    manager.request_token = request_token


class WatsonNluAdapter:
    """IBM Watson NLU entity extraction (deprecated by IBM; end of support 2027-07-31)."""

    family: ClassVar[str] = "ibm-nlu"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("ibm_watson",)
    extra: ClassVar[str] = "ibm"
    native_labels: ClassVar[frozenset[str] | None] = WATSON
    notice: ClassVar[str] = f"deprecated by IBM: Watson NLU reaches end of support on {END_OF_SUPPORT}"
    vocabulary: ClassVar[str] = "watson"
    Options: ClassVar[type[AdapterOptions]] = WatsonNluOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.settings = options = parse_config(WatsonNluOptions, config)
        self.url = options.url
        self.apikey_env = options.apikey_env
        self.iam_url = options.iam_url
        self.version = options.version
        self.model = options.model
        self.language = options.language
        self.meter = Meter("NLU item")
        self._service: Any = None
        self._features: Any = None

    @classmethod
    def billing_requests(cls, text: str) -> list[int]:
        """Characters of each billed request (one per piece of at most 50,000 characters)."""
        return [end - start for start, end in split_text(text, MAX_CHARS)]

    def load(self) -> None:
        try:
            from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
            from ibm_watson import NaturalLanguageUnderstandingV1
            from ibm_watson.natural_language_understanding_v1 import EntitiesOptions, Features
        except ImportError:
            raise MissingExtraError("ibm-watson", "ibm") from None
        apikey = os.environ.get(self.apikey_env)
        if not apikey:
            raise ConfigError(
                f"model {self.config.name!r} (ibm-nlu): environment variable {self.apikey_env} is not set: "
                "export your NLU API key there (or name another variable with apikey_env)"
            )
        authenticator = IAMAuthenticator(apikey, url=self.iam_url)
        _forget_failed_token_requests(authenticator.token_manager)
        service = NaturalLanguageUnderstandingV1(version=self.version, authenticator=authenticator)
        if self.url:
            service.set_service_url(self.url)
        service.set_http_config({"timeout": self.settings.request_timeout_s})
        self._features = Features(entities=EntitiesOptions(mentions=True, limit=250, model=self.model))
        self._service = service

    def fit(self, documents: Sequence[Document]) -> None:
        """The service's built-in model does not train."""

    def labels(self) -> frozenset[str]:
        return WATSON

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._service is None:
            raise RuntimeError("predict() before load()")
        return predict_each([i.text for i in inputs], self._document, self.settings)

    def _document(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for start, end in split_text(text, MAX_CHARS):
            spans.extend(shifted(self._analyze(text[start:end]), start))
        return spans

    def _analyze(self, text: str) -> list[Span]:
        reply = call_with_retries(
            lambda: self._service.analyze(
                self._features, text=text, clean=False, language=self.language, return_analyzed_text=False
            ).get_result(),
            _retry, self.settings,
        )  # fmt: skip
        self.meter.billed(len(text))
        spans = [
            Span(int(m["location"][0]), int(m["location"][1]), str(e["type"]), m.get("text"))
            for e in reply["entities"]
            for m in e["mentions"]
        ]
        return sorted(spans, key=lambda s: (s.start, s.end))

    def usage(self) -> Usage:
        return self.meter.usage()

    def fingerprint(self) -> str:
        return f"ibm-nlu:{self.version}:{self.model or 'default'}:{self.language or 'auto'}:{self.url or 'ibm'}"

    def describe(self) -> dict[str, str]:
        try:
            library = version("ibm-watson")
        except PackageNotFoundError:
            library = "not installed"
        return {
            "ibm-watson": library,
            "version": self.version,
            "deprecated": f"IBM ends support for Watson NLU on {END_OF_SUPPORT}",
        }
