"""AWS Comprehend ``DetectEntities`` / ``BatchDetectEntities`` through boto3.

Documents are sent 25 to a ``BatchDetectEntities`` call (one document alone goes
to ``DetectEntities``). A document over 5,000 UTF-8 bytes is split on sentence or
whitespace boundaries (:func:`~nerbench.adapters.models.remote.split_text`) and
its spans shifted back. Offsets are code points, end exclusive; each entity's
``Text`` is kept as the span's surface, so a mismatch is counted as invalid.
Comprehend bills every document of a batch as its own request (100-character
units, 3-unit minimum), which is what ``usage().request_characters`` reports.

Options: ``region`` (default ``AWS_REGION``/``AWS_DEFAULT_REGION`` or
``us-east-1``), ``endpoint_url``, ``language_code`` (default ``en``),
``min_score`` (drop entities below it), ``batch`` (default true), plus the
shared remote options (``concurrency``, ``request_timeout_s``, ``max_retries``,
``backoff_s``, ``max_backoff_s``). Credentials come only from boto3's own chain
(environment, shared profile, role); nerbench never reads, stores or logs them.
Default label maps: ``comprehend-to-conll`` and ``comprehend-to-general``.
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
    Meter,
    RemoteOptions,
    Retry,
    call_with_retries,
    connection_retry,
    error_reason,
    gather,
    http_retry,
    run_all,
    shifted,
    split_text,
)
from nerbench.errors import MissingExtraError
from nerbench.labels import COMPREHEND
from nerbench.types import Document, Span, TextInput

MAX_BYTES = 5000
MAX_BATCH = 25
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "ProvisionedThroughputExceededException"}

Chunk = tuple[int, int, int]  # (input index, start, end) in code points


def _retry(err: BaseException) -> Retry | None:
    """Throttling codes and 5xx are retried; connection errors and timeouts too."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        meta = response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        headers = meta.get("HTTPHeaders") or {}
        if code in _THROTTLING:
            return http_retry(429, headers)
        return http_retry(status, headers)
    return connection_retry(err, ("botocore",), frozenset({"ConnectionError", "HTTPClientError"}))


@dataclass(frozen=True, kw_only=True)
class ComprehendOptions(RemoteOptions):
    """The options of the ``aws-comprehend`` adapter, besides the shared remote ones."""

    region: str | None = field(
        default=None, metadata=about("the AWS region (default AWS_REGION, AWS_DEFAULT_REGION or us-east-1)")
    )
    endpoint_url: str | None = field(
        default=None, metadata=about("another endpoint (a VPC endpoint, a local stand-in)")
    )
    language_code: str = field(default="en", metadata=about("the documents' language"))
    min_score: float = field(default=0.0, metadata=about(ge=0, le=1, help="entities scored below it are dropped"))
    batch: bool = field(default=True, metadata=about("send 25 documents a BatchDetectEntities call"))

    def __post_init__(self) -> None:
        require_url(self.endpoint_url, "endpoint_url")


class ComprehendAdapter:
    """AWS Comprehend entity detection."""

    family: ClassVar[str] = "aws-comprehend"
    trains: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ("boto3",)
    extra: ClassVar[str] = "aws"
    native_labels: ClassVar[frozenset[str] | None] = COMPREHEND
    vocabulary: ClassVar[str] = "comprehend"
    Options: ClassVar[type[AdapterOptions]] = ComprehendOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.settings = options = parse_config(ComprehendOptions, config)
        self.region = (
            options.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
        self.endpoint_url = options.endpoint_url
        self.language = options.language_code
        self.min_score = options.min_score
        self.batch = options.batch
        self.meter = Meter("100-character unit")
        self._client: Any = None

    @classmethod
    def billing_requests(cls, text: str) -> list[int]:
        """Characters of each billed request for ``text`` (one per piece after splitting)."""
        return [end - start for start, end in split_text(text, MAX_BYTES, unit="utf8")]

    def load(self) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise MissingExtraError("boto3", "aws") from None
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # nerbench retries, once per policy
            connect_timeout=self.settings.request_timeout_s,
            read_timeout=self.settings.request_timeout_s,
            max_pool_connections=max(10, self.settings.concurrency),
        )
        self._client = boto3.session.Session().client(
            "comprehend", region_name=self.region, endpoint_url=self.endpoint_url, config=config
        )

    def fit(self, documents: Sequence[Document]) -> None:
        """Comprehend's built-in entity model does not train."""

    def labels(self) -> frozenset[str]:
        return COMPREHEND

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._client is None:
            raise RuntimeError("predict() before load()")
        chunks = [(i, s, e) for i, inp in enumerate(inputs) for s, e in split_text(inp.text, MAX_BYTES, unit="utf8")]
        size = MAX_BATCH if self.batch else 1
        groups = [chunks[k : k + size] for k in range(0, len(chunks), size)]
        texts = [inp.text for inp in inputs]
        outcomes = run_all(groups, lambda group: self._send(group, texts), self.settings.concurrency)
        spans: dict[int, list[Span]] = {}
        errors: dict[int, str] = {}
        for group, outcome in zip(groups, outcomes, strict=True):
            for (index, start, _), result in zip(group, _per_chunk(outcome, len(group)), strict=True):
                if isinstance(result, str):
                    errors.setdefault(index, result)
                else:
                    spans.setdefault(index, []).extend(shifted(result, start))
        for index in errors:
            spans.pop(index, None)
        return gather(len(inputs), {i: sorted(s, key=lambda x: (x.start, x.end)) for i, s in spans.items()}, errors)

    def _send(self, group: list[Chunk], texts: list[str]) -> list[list[Span] | str]:
        """One request for a group of chunks: a span list or an error reason per chunk."""
        pieces = [texts[i][s:e] for i, s, e in group]
        if len(pieces) == 1:
            reply = call_with_retries(
                lambda: self._client.detect_entities(Text=pieces[0], LanguageCode=self.language),
                _retry, self.settings,
            )  # fmt: skip
            self.meter.billed(len(pieces[0]))
            return [self._parsed(reply, pieces[0])]
        reply = call_with_retries(
            lambda: self._client.batch_detect_entities(TextList=pieces, LanguageCode=self.language),
            _retry, self.settings,
        )  # fmt: skip
        out: list[list[Span] | str] = ["no result in the batch reply"] * len(pieces)
        for item in reply.get("ErrorList", []):
            out[item["Index"]] = f"{item.get('ErrorCode')}: {item.get('ErrorMessage', '')}"[:300]
        billed = []
        for item in reply.get("ResultList", []):
            index = item.get("Index")
            if isinstance(index, int) and 0 <= index < len(pieces):
                out[index] = self._parsed(item, pieces[index])
                billed.append(len(pieces[index]))
        self.meter.billed(*billed)  # one request; each document in it is billed on its own
        return out

    def _parsed(self, reply: dict[str, Any], text: str) -> list[Span] | str:
        try:
            return [
                Span(int(e["BeginOffset"]), int(e["EndOffset"]), str(e["Type"]), e.get("Text"))
                for e in reply["Entities"]
                if float(e.get("Score", 1.0)) >= self.min_score
            ]
        except (KeyError, TypeError, ValueError) as err:
            return f"malformed reply: {error_reason(err)}"

    def usage(self) -> Usage:
        return self.meter.usage()

    def fingerprint(self) -> str:
        return f"aws-comprehend:{self.language}:{self.min_score}:{self.region}:{self.endpoint_url or 'aws'}"

    def describe(self) -> dict[str, str]:
        return {"boto3": _version("boto3"), "region": self.region, "language_code": self.language}


def _per_chunk(outcome: list[list[Span] | str] | Exception, count: int) -> list[list[Span] | str]:
    if isinstance(outcome, Exception):
        return [error_reason(outcome)] * count
    return outcome


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
