"""IBM Watson NLU end to end: ``nerbench run`` drives ibm-watson against a local NLU and IAM server.

The API key comes from the environment variable the suite names; the SDK trades it
for a token at the local IAM endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from nerbench.adapters.models.ibm_nlu import END_OF_SUPPORT, WatsonNluAdapter
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.suite import load_suite
from nerbench.labels import BUILTIN_MAPS
from tests.harness.conftest import cell, nerbench
from tests.servers.cloud_suite import PLANTED_SECRET, TEXTS, assert_no_secret, long_text, predictions, run, write_suite
from tests.servers.ibm import WatsonNluService

pytest.importorskip("ibm_watson")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[WatsonNluService]:
    monkeypatch.setenv("MY_NLU_KEY", PLANTED_SECRET)
    service = WatsonNluService()
    service.start()
    yield service
    service.stop()


def _model(server: WatsonNluService, **options: object) -> dict[str, object]:
    return {
        "name": "watson", "adapter": "ibm-nlu", "url": server.url, "iam_url": server.url, "apikey_env": "MY_NLU_KEY",
        "label_map": "watson-to-conll", "backoff_s": 0.01, "max_backoff_s": 0.05, **options,
    }  # fmt: skip


def test_spans_labels_and_billing_match_the_estimate(server: WatsonNluService, tmp_path: Path) -> None:
    texts = [*TEXTS, long_text(120_000)]  # split into three requests of at most 50,000 characters
    suite = write_suite(tmp_path, _model(server), texts=texts)
    doc = run(tmp_path, suite)
    result = cell(doc, "watson", "gold")
    metrics = result["metrics"]
    assert metrics["micro"]["f1"] == 1.0 and metrics["counts"]["invalid"] == 0, metrics
    first = predictions(tmp_path, "watson")["d0"]["spans"]
    assert [(s["start"], s["label"], s["native_label"]) for s in first] == [
        (len("🙂 "), "PER", "Person"), (len("🙂 Ada Lovelace met "), "PER", "Person"),
        (len("🙂 Ada Lovelace met Alan Turing in "), "LOC", "Location"),
    ]  # fmt: skip
    assert server.apikeys == [PLANTED_SECRET]  # the SDK's IAM authenticator got the key from the environment
    long_requests = [t for t in server.answered if len(t) > 1000]
    assert len(long_requests) == 3 and all(len(t) <= 50_000 for t in long_requests)
    units = sum(max(1, math.ceil(len(t) / 10_000)) for t in server.answered)
    assert units == len(TEXTS) + sum(math.ceil(len(t) / 10_000) for t in long_requests)
    assert result["cost"]["units"] == units
    assert result["cost"]["usd"] == pytest.approx(units * 0.003) and round(result["cost"]["usd"], 2) == 0.06  # 19 items
    (row,) = estimate_suite(load_suite(suite))
    assert (row["units"], row["usd"]) == (units, pytest.approx(result["cost"]["usd"]))
    assert "2027-07-31" in result["describe"]["deprecated"]
    assert result["notice"] == "deprecated by IBM: Watson NLU reaches end of support on 2027-07-31"
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert '<p class="notice">ibm-nlu: deprecated by IBM: Watson NLU reaches end of support on 2027-07-31</p>' in page
    assert_no_secret(tmp_path, doc["_proc"])


def test_throttling_and_500s_are_retried_and_no_document_is_lost(server: WatsonNluService, tmp_path: Path) -> None:
    server.throttle_first, server.fail_first = 3, 2
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server, concurrency=2))), "watson", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == len(TEXTS) + 5


def test_failing_endpoint_and_malformed_reply_fail_documents(server: WatsonNluService, tmp_path: Path) -> None:
    texts = [*TEXTS[:2], "GARBLE Ada Lovelace", "BOOM Alan Turing"]
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server, max_retries=2), texts=texts)), "watson", "gold")
    assert result["failures"]["failed_docs"] == 2
    preds = predictions(tmp_path, "watson")
    assert "KeyError" in preds["d2"]["error"] and "500" in preds["d3"]["error"]
    assert len(server.requests) == 2 + 1 + 3


def test_a_missing_key_variable_is_one_clear_line(server: WatsonNluService, tmp_path: Path) -> None:
    suite = write_suite(tmp_path, _model(server, apikey_env="NO_SUCH_NLU_KEY"))
    result = cell(run(tmp_path, suite, expect=1), "watson", "gold")
    assert result["status"] == "failed" and "(credentials)" in result["reason"]
    assert result["status"] == "failed" and "NO_SUCH_NLU_KEY is not set" in result["failures"]["error"]
    assert server.requests == []


def test_default_map_covers_every_watson_type() -> None:
    for name in ("watson-to-conll", "watson-to-general"):
        assert set(BUILTIN_MAPS[name].mapping) == WatsonNluAdapter.native_labels


def test_nerbench_models_shows_the_end_of_support_notice(tmp_path: Path) -> None:
    assert END_OF_SUPPORT == "2027-07-31"
    listing = nerbench("models", cwd=tmp_path).stdout
    notes = [line for line in listing.splitlines() if line.startswith("note: ")]
    assert f"note: ibm-nlu: {WatsonNluAdapter.notice}" in notes, listing[-2000:]
    assert not any(line.startswith(("note: rules", "note: crf", "note: llm")) for line in notes)  # none set: none shown
    assert "deprecated" in notes[0] and "end of support on 2027-07-31" in notes[0]


def test_request_timeout_s_bounds_each_request(server: WatsonNluService, tmp_path: Path) -> None:
    """The SDK's HTTP client gets ``request_timeout_s``: a server slower than it fails the document, promptly."""
    server.slow_first, server.slow_s = 1, 5.0
    model = _model(server, request_timeout_s=0.5, max_retries=0, concurrency=1)
    doc = run(tmp_path, write_suite(tmp_path, model, texts=TEXTS[:2]))
    result = cell(doc, "watson", "gold")
    preds = predictions(tmp_path, "watson")
    assert "timed out" in preds["d0"]["error"].lower() and "error" not in preds["d1"]
    assert result["failures"]["failed_docs"] == 1
    assert result["latency"]["predict_s"] < 4.0  # the SDK's own default (60 s) would have waited the 5 s out


def test_an_unreachable_token_service_fails_each_document_promptly(server: WatsonNluService, tmp_path: Path) -> None:
    """ibm-cloud-sdk-core paces token requests, holding a failed one as in flight for 60 s: nerbench forgets it,
    so every document fails with the connection error in moments and the cell is failed, not a stalled run."""
    model = _model(server, iam_url="http://127.0.0.1:9/iam", max_retries=0, request_timeout_s=2, concurrency=2)
    doc = run(tmp_path, write_suite(tmp_path, model), expect=1)
    result = cell(doc, "watson", "gold")
    assert result["status"] == "failed" and "(connection)" in result["reason"], result["reason"]
    assert result["failures"]["failed_docs"] == len(TEXTS) > 2
    assert result["latency"]["predict_s"] < 10.0  # without the fix: a minute for each document after the first
    assert server.requests == []
