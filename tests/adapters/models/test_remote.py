"""The shared behaviour of remote adapters: backoff honouring Retry-After, per-document failures, splitting."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerbench.adapters.models.base import DocumentErrors, ModelConfig, Usage
from nerbench.adapters.models.remote import (
    REQUESTS_ERRORS,
    RemoteOptions,
    Retry,
    backoff_delay,
    call_with_retries,
    connection_retry,
    http_retry,
    predict_each,
    retry_after_seconds,
    split_text,
)
from nerbench.harness.worker import Worker
from nerbench.types import Document, Span, TextInput


def test_backoff_is_jittered_exponential_and_never_shorter_than_retry_after() -> None:
    cfg, rng = RemoteOptions(backoff_s=1.0, max_backoff_s=8.0), random.Random(0)
    for attempt in range(6):
        delays = [backoff_delay(attempt, cfg, Retry(), rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= min(8.0, 2**attempt)
    assert all(backoff_delay(0, cfg, Retry(after_s=5.0), rng) >= 5.0 for _ in range(50))
    assert backoff_delay(0, cfg, Retry(after_s=600.0), rng) == 8.0  # capped


def test_retry_after_and_status_classification() -> None:
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
    assert http_retry(429, {"Retry-After": "2"}) == Retry(2.0)
    assert http_retry(503, {}) == Retry(None)
    assert http_retry(400, {}) is None and http_retry(None, None) is None


def test_dropped_connections_of_the_real_client_libraries_are_retried() -> None:
    import botocore.exceptions
    import requests

    assert connection_retry(requests.exceptions.ConnectTimeout("t"), *REQUESTS_ERRORS) == Retry()
    assert connection_retry(requests.exceptions.ConnectionError("reset"), *REQUESTS_ERRORS) == Retry()
    assert connection_retry(requests.exceptions.InvalidURL("x"), *REQUESTS_ERRORS) is None
    assert connection_retry(ConnectionError("builtin"), *REQUESTS_ERRORS) is None  # not the library's
    dropped = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    assert connection_retry(dropped, ("botocore",), frozenset({"ConnectionError", "HTTPClientError"})) == Retry()


def test_call_with_retries_sleeps_then_gives_up_after_the_last_retry() -> None:
    calls, sleeps = [], []

    def flaky() -> str:
        calls.append(1)
        raise OSError("down")

    with pytest.raises(OSError):
        call_with_retries(flaky, lambda e: Retry(after_s=1.5), RemoteOptions(max_retries=3), sleep=sleeps.append)
    assert len(calls) == 4 and len(sleeps) == 3 and all(s >= 1.5 for s in sleeps)
    with pytest.raises(ValueError):  # not retryable: one call
        call_with_retries(lambda: int("x"), lambda e: None, RemoteOptions(), sleep=sleeps.append)
    assert len(sleeps) == 3


def test_predict_each_returns_the_good_documents_and_names_the_bad_ones() -> None:
    def request(text: str) -> list[Span]:
        if "bad" in text:
            raise RuntimeError("server said no")
        return [Span(0, len(text), "X")]

    with pytest.raises(DocumentErrors) as caught:
        predict_each(["ok", "bad one", "fine"], request, RemoteOptions(concurrency=2))
    assert caught.value.errors == {1: "RuntimeError: server said no"}
    assert caught.value.results == [[Span(0, 2, "X")], [], [Span(0, 4, "X")]]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .\n🙂üZ")), max_size=300),
    limit=st.integers(4, 40),
    unit=st.sampled_from(["chars", "utf8"]),
)
def test_split_text_covers_the_text_in_pieces_under_the_limit(text: str, limit: int, unit: str) -> None:
    pieces = split_text(text, limit, unit=unit)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(pieces))
    size = (lambda s: len(s.encode())) if unit == "utf8" else len
    assert all(size(text[s:e]) <= limit for s, e in pieces)


class PartlyFailing:
    """Fails every input whose text contains "bad", through DocumentErrors; counts the texts it was sent."""

    family = "fake"
    trains = False
    sent: ClassVar[list[str]] = []

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def load(self) -> None: ...

    def fit(self, documents: Sequence[Document]) -> None: ...

    def labels(self) -> frozenset[str]:
        return frozenset({"X"})

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        PartlyFailing.sent += [i.text for i in inputs]
        errors = {n: "malformed reply" for n, i in enumerate(inputs) if "bad" in i.text}
        results = [[] if n in errors else [Span(0, 1, "X")] for n in range(len(inputs))]
        if errors:
            raise DocumentErrors(results, errors)
        return results

    def usage(self) -> Usage:
        return Usage()

    def fingerprint(self) -> str:
        return "partly"

    def describe(self) -> dict[str, str]:
        return {}


def test_the_worker_records_document_errors_without_sending_anything_again() -> None:
    worker = Worker()
    worker.handle({"op": "init", "config": {"name": "p", "adapter": f"{__name__}:PartlyFailing"}})
    inputs = [{"id": str(n), "text": text} for n, text in enumerate(["a", "bad", "c"])]
    reply = worker.handle({"op": "predict", "inputs": inputs})
    assert reply["ok"]
    assert reply["results"] == [
        {"spans": [[0, 1, "X", None]], "id": "0"},
        {"error": "malformed reply", "id": "1"},
        {"spans": [[0, 1, "X", None]], "id": "2"},
    ]
    assert PartlyFailing.sent == ["a", "bad", "c"]  # one call: no document re-sent one by one
    single = worker.handle({"op": "predict", "inputs": inputs[1:2]})
    assert single["results"] == [{"error": "malformed reply", "id": "1"}]


def test_cloud_suite_loads_and_the_readme_prices_per_1k_documents_are_nerbench_arithmetic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pathlib import Path

    from nerbench.harness.cost import load_pricing, request_units, tiered_usd
    from nerbench.harness.suite import load_suite

    repo = Path(__file__).resolve().parents[3]
    monkeypatch.setenv("IBM_NLU_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:1/v1")
    suite = load_suite(repo / "suites" / "cloud.yaml")
    assert [m.adapter for m in suite.models] == ["aws-comprehend", "google-language", "ibm-nlu", "llm"]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    pricing = load_pricing()
    for adapter in ("aws-comprehend", "google-language", "ibm-nlu"):
        usd = tiered_usd(1000 * request_units(1000, pricing[adapter]), pricing[adapter])
        assert f"| `{adapter}` |" in readme and f"| ${usd:.2f} |" in readme.split(f"| `{adapter}` |")[-1].split("\n")[0]
