"""Google Cloud Natural Language ``analyzeEntities`` (v1 or v2) through google-cloud-language.

Every request asks for ``encoding_type=UTF32``, so offsets are code points; each
entity's mentions become spans (end = begin + length of the mention text, the
mention text kept as the surface). PROPER mentions are kept by default
(``mentions: [PROPER, COMMON]`` keeps common nouns too). Google bills each
request by its characters in 1,000-character units.

Options: ``api_version`` (``v2`` default, or ``v1``), ``api_endpoint``,
``transport`` (``grpc`` default, or ``rest``), ``credentials_file`` (a service
account or authorized-user JSON file; default: Application Default Credentials,
e.g. ``GOOGLE_APPLICATION_CREDENTIALS``), ``language_code``, ``mentions``, plus
the shared remote options (``concurrency``, ``request_timeout_s``,
``max_retries``, ``backoff_s``, ``max_backoff_s``). Credentials are read by
google-auth only; nerbench never stores or logs them. Default label maps:
``google-to-conll`` and ``google-to-general``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar, Literal, get_args

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, OptionError, about, parse_config, require_file
from nerbench.adapters.models.remote import (
    REQUESTS_ERRORS,
    Meter,
    RemoteOptions,
    Retry,
    call_with_retries,
    connection_retry,
    http_retry,
    predict_each,
)
from nerbench.errors import MissingExtraError
from nerbench.labels import GOOGLE
from nerbench.types import Document, Span, TextInput

MentionType = Literal["PROPER", "COMMON"]
MENTION_TYPES: tuple[str, ...] = get_args(MentionType)
SCOPES = ["https://www.googleapis.com/auth/cloud-language", "https://www.googleapis.com/auth/cloud-platform"]


def _retry_info_s(err: BaseException) -> float | None:
    """The delay of a google.rpc.RetryInfo in the error's details: gRPC's counterpart of Retry-After."""
    for detail in getattr(err, "details", None) or []:
        delay = getattr(detail, "retry_delay", None)
        if delay is not None and hasattr(delay, "ToTimedelta"):
            return max(0.0, delay.ToTimedelta().total_seconds())
    return None


def _retry(err: BaseException) -> Retry | None:
    """429, 5xx (HTTP or their gRPC equivalents), dropped connections and timeouts are retried.

    google-api-core maps gRPC errors to the same exceptions as HTTP ones (``code``
    is the HTTP status: RESOURCE_EXHAUSTED is 429, UNAVAILABLE 503, INTERNAL 500);
    over gRPC the server's wait comes as a RetryInfo detail, not a header.
    """
    code = getattr(err, "code", None)
    if isinstance(code, int):
        response = getattr(err, "response", None)
        retry = http_retry(code, getattr(response, "headers", None))
        if retry is not None and retry.after_s is None:
            after = _retry_info_s(err)
            return Retry(after) if after is not None else retry
        return retry
    return connection_retry(err, *REQUESTS_ERRORS)


@dataclass(frozen=True, kw_only=True)
class GoogleLanguageOptions(RemoteOptions):
    """The options of the ``google-language`` adapter, besides the shared remote ones."""

    api_version: Literal["v2", "v1"] = field(default="v2", metadata=about("the Natural Language API version"))
    transport: Literal["grpc", "rest"] = field(default="grpc", metadata=about("how requests travel"))
    api_endpoint: str | None = field(default=None, metadata=about("another endpoint (host[:port])"))
    credentials_file: str | None = field(
        default=None, metadata=about("a service-account or authorized-user JSON file (default: ADC)")
    )
    language_code: str | None = field(default=None, metadata=about("the documents' language (default: detected)"))
    mentions: tuple[MentionType, ...] = field(
        default=("PROPER",), metadata=about("which mentions become spans: PROPER, COMMON")
    )

    def __post_init__(self) -> None:
        if not self.mentions:
            raise OptionError("option 'mentions' must list PROPER, COMMON or both", key=("mentions",))

    def check(self) -> None:
        require_file(self.credentials_file, "credentials_file")


class GoogleLanguageAdapter:
    """Google Cloud Natural Language entity analysis."""

    family: ClassVar[str] = "google-language"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("google.cloud.language_v2",)
    extra: ClassVar[str] = "google"
    native_labels: ClassVar[frozenset[str] | None] = GOOGLE
    vocabulary: ClassVar[str] = "google"
    Options: ClassVar[type[AdapterOptions]] = GoogleLanguageOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.settings = options = parse_config(GoogleLanguageOptions, config)
        self.api_version: str = options.api_version
        self.transport: str = options.transport
        self.endpoint = options.api_endpoint
        self.credentials_file = options.credentials_file
        self.language = options.language_code
        self.mentions = frozenset(options.mentions)
        self.meter = Meter("1,000-character unit")
        self._client: Any = None
        self._module: Any = None

    @classmethod
    def billing_requests(cls, text: str) -> list[int]:
        """One request per document, billed by its characters."""
        return [len(text)]

    def load(self) -> None:
        try:
            import google.auth
            from google.api_core.client_options import ClientOptions
            from google.cloud import language_v1, language_v2
        except ImportError:
            raise MissingExtraError("google-cloud-language", "google") from None
        if self.credentials_file:
            credentials, _ = google.auth.load_credentials_from_file(self.credentials_file, scopes=SCOPES)
        else:
            credentials, _ = google.auth.default(scopes=SCOPES)
        self._module = language_v1 if self.api_version == "v1" else language_v2
        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        self._client = self._module.LanguageServiceClient(
            credentials=credentials, transport=self.transport, client_options=options
        )

    def fit(self, documents: Sequence[Document]) -> None:
        """The API does not train."""

    def labels(self) -> frozenset[str]:
        return GOOGLE

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._client is None:
            raise RuntimeError("predict() before load()")
        return predict_each([i.text for i in inputs], self._analyze, self.settings)

    def _request(self, text: str) -> dict[str, Any]:
        module = self._module
        document: dict[str, Any] = {"content": text, "type_": module.Document.Type.PLAIN_TEXT}
        if self.language:
            document["language" if self.api_version == "v1" else "language_code"] = self.language
        return {"document": document, "encoding_type": module.EncodingType.UTF32}

    def _analyze(self, text: str) -> list[Span]:
        request = self._request(text)
        reply = call_with_retries(
            lambda: self._client.analyze_entities(request=request, retry=None, timeout=self.settings.request_timeout_s),
            _retry, self.settings,
        )  # fmt: skip
        self.meter.billed(len(text))
        spans = []
        for entity in reply.entities:
            for mention in entity.mentions:
                if mention.type_.name not in self.mentions:
                    continue
                content = mention.text.content
                start = mention.text.begin_offset
                spans.append(Span(start, start + len(content), entity.type_.name, content))
        return sorted(spans, key=lambda s: (s.start, s.end))

    def usage(self) -> Usage:
        return self.meter.usage()

    def fingerprint(self) -> str:
        mentions = "+".join(sorted(self.mentions))
        return f"google-language:{self.api_version}:{self.language or 'auto'}:{mentions}:{self.endpoint or 'google'}"

    def describe(self) -> dict[str, str]:
        try:
            library = version("google-cloud-language")
        except PackageNotFoundError:
            library = "not installed"
        return {"google-cloud-language": library, "api_version": self.api_version, "transport": self.transport}
