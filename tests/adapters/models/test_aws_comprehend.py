"""AWS Comprehend end to end: ``nerbench run`` drives boto3 against a local JSON 1.1 server."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from nerbench.adapters.models.aws_comprehend import ComprehendAdapter
from nerbench.adapters.models.remote import split_text
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.suite import load_suite
from nerbench.labels import BUILTIN_MAPS
from tests.harness.conftest import cell
from tests.servers.cloud_suite import PLANTED_SECRET, TEXTS, assert_no_secret, long_text, predictions, run, write_suite
from tests.servers.comprehend import ComprehendService

pytest.importorskip("boto3")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ComprehendService]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLANTED_SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    service = ComprehendService()
    service.start()
    yield service
    service.stop()


def _model(server: ComprehendService, **options: object) -> dict[str, object]:
    return {
        "name": "comprehend", "adapter": "aws-comprehend", "endpoint_url": server.url, "region": "us-east-1",
        "label_map": "comprehend-to-conll", "backoff_s": 0.01, "max_backoff_s": 0.05, **options,
    }  # fmt: skip


def _units(texts: list[str]) -> int:
    return sum(max(3, math.ceil(len(t) / 100)) for t in texts)


def test_spans_labels_and_billing_match_the_estimate(server: ComprehendService, tmp_path: Path) -> None:
    texts = [*TEXTS, long_text(9000)]  # over 5,000 UTF-8 bytes: split
    suite = write_suite(tmp_path, _model(server), texts=texts)
    doc = run(tmp_path, suite)
    result = cell(doc, "comprehend", "gold")
    assert result["status"] == "done"
    metrics = result["metrics"]
    assert metrics["micro"]["f1"] == 1.0 and metrics["counts"]["invalid"] == 0, metrics
    preds = predictions(tmp_path, "comprehend")
    first = preds["d0"]["spans"]
    assert [(s["start"], s["label"], s["native_label"]) for s in first] == [
        (len("🙂 "), "PER", "PERSON"), (len("🙂 Ada Lovelace met "), "PER", "PERSON"),
        (len("🙂 Ada Lovelace met Alan Turing in "), "LOC", "LOCATION"),
    ]  # fmt: skip
    assert preds["d1"]["ignored"][0]["native_label"] == "DATE"  # Monday: DATE is ignored by comprehend-to-conll
    assert all(len(t.encode()) <= 5000 for t in server.answered)
    assert len(server.answered) > len(texts)  # the long document went in several pieces
    units = _units(server.answered)
    assert result["cost"]["units"] == units
    assert result["cost"]["usd"] == pytest.approx(units * 0.0001)
    assert round(result["cost"]["usd"], 2) == round(units * 0.0001, 2)
    (row,) = estimate_suite(load_suite(suite))
    assert (row["units"], row["usd"]) == (result["cost"]["units"], pytest.approx(result["cost"]["usd"]))
    assert_no_secret(tmp_path, doc["_proc"])


def test_batches_send_at_most_25_documents_and_bill_each(server: ComprehendService, tmp_path: Path) -> None:
    texts = [f"Ada Lovelace wrote note {i} in Zürich." for i in range(30)]
    suite = write_suite(tmp_path, _model(server), texts=texts, settings={"batch_size": 30})
    result = cell(run(tmp_path, suite), "comprehend", "gold")
    targets = [r.headers["x-amz-target"].split(".")[1] for r in server.requests]
    assert targets == ["BatchDetectEntities", "BatchDetectEntities"]
    assert sorted(len(r.json()["TextList"]) for r in server.requests) == [5, 25]  # sent concurrently
    assert result["metrics"]["micro"]["f1"] == 1.0
    assert result["cost"]["units"] == 30 * 3  # every document of a batch pays the 3-unit minimum


def test_min_score_drops_entities_scored_below_it(server: ComprehendService, tmp_path: Path) -> None:
    texts = TEXTS[:1]  # Ada Lovelace (0.99), Alan Turing (0.55), Zürich (0.99)
    doc = run(tmp_path, write_suite(tmp_path, _model(server, min_score=0.6), texts=texts))
    assert [s["native_label"] for s in predictions(tmp_path, "comprehend")["d0"]["spans"]] == ["PERSON", "LOCATION"]
    counts = cell(doc, "comprehend", "gold")["metrics"]["counts"]
    assert (counts["correct"], counts["gold"], counts["invalid"]) == (2, 3, 0)
    assert server.answered == texts  # the server did return Alan Turing: the adapter dropped it
    kept = run(tmp_path, write_suite(tmp_path, _model(server, min_score=0.55), texts=texts))  # at the bar: kept
    assert cell(kept, "comprehend", "gold")["metrics"]["counts"]["correct"] == 3


def test_an_entity_whose_text_differs_from_its_offsets_is_invalid(server: ComprehendService, tmp_path: Path) -> None:
    texts = [*TEXTS[:3], "MISTEXT: Ada Lovelace met Alan Turing."]
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server), texts=texts)), "comprehend", "gold")
    counts = result["metrics"]["counts"]
    assert counts["invalid"] == 2 and counts["correct"] == counts["gold"] - 2, counts
    assert counts["predicted"] == 3 + 2 + 4 + 2  # invalid ones count as predictions (against precision)
    assert result["metrics"]["invalid_rate"] == pytest.approx(2 / counts["predicted"])
    invalid = predictions(tmp_path, "comprehend")["d3"]["invalid"]
    assert [s["text"] for s in invalid] == ["ADA LOVELACE", "ALAN TURING"], invalid


def test_concurrency_caps_the_requests_in_flight(server: ComprehendService, tmp_path: Path) -> None:
    server.slow_first, server.slow_s = 100, 0.25  # every request is slow, so parallel ones overlap
    suite = write_suite(tmp_path, _model(server, batch=False, concurrency=2), settings={"batch_size": len(TEXTS)})
    result = cell(run(tmp_path, suite), "comprehend", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert [r.headers["x-amz-target"] for r in server.requests] == ["Comprehend_20171127.DetectEntities"] * len(TEXTS)
    assert server.peak_in_flight == 2  # parallel, and never more than `concurrency`


def test_throttling_and_500s_are_retried_and_no_document_is_lost(server: ComprehendService, tmp_path: Path) -> None:
    server.throttle_first, server.fail_first = 2, 2
    suite = write_suite(tmp_path, _model(server, concurrency=2), settings={"batch_size": 2})
    result = cell(run(tmp_path, suite), "comprehend", "gold")
    assert result["failures"]["failed_docs"] == 0
    assert result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == 3 + 4  # three batches, four retried requests
    assert result["cost"]["units"] == _units(TEXTS)  # throttled and failed requests are not billed


def test_an_endpoint_that_keeps_failing_fails_documents_not_the_run(server: ComprehendService, tmp_path: Path) -> None:
    server.always_fail = True
    suite = write_suite(tmp_path, _model(server, max_retries=2), settings={"batch_size": 3})
    result = cell(run(tmp_path, suite, expect=1), "comprehend", "gold")
    assert result["status"] == "failed" and result["reason"].startswith("every document failed")
    assert result["failures"]["failed_docs"] == len(TEXTS)
    assert "InternalServerException" in result["failures"]["error"]
    assert len(server.requests) == 2 * 3  # two batches, three attempts each; nothing re-sent one by one


def test_a_malformed_reply_fails_one_document_with_its_reason(server: ComprehendService, tmp_path: Path) -> None:
    texts = [*TEXTS[:3], "GARBLE Ada Lovelace", *TEXTS[3:]]
    suite = write_suite(tmp_path, _model(server), texts=texts, settings={"batch_size": 7})
    doc = run(tmp_path, suite)
    result = cell(doc, "comprehend", "gold")
    assert result["failures"]["failed_docs"] == 1
    assert "malformed reply" in result["failures"]["error"]
    assert "malformed reply" in predictions(tmp_path, "comprehend")["d3"]["error"]
    assert len(server.requests) == 1  # the good documents were not sent again


def test_max_cost_refuses_an_over_budget_suite_before_sending(server: ComprehendService, tmp_path: Path) -> None:
    texts = [f"Ada Lovelace wrote note {i} in Zürich." for i in range(12)]  # 3 units each: $0.0036
    suite = write_suite(tmp_path, _model(server), texts=texts, settings={"batch_size": 4})
    over = run(tmp_path, suite, "--max-cost", "0.0035", check=False)
    assert over["_proc"].returncode == 2 and "estimated to cost $0.00" in over["_proc"].stderr
    assert server.requests == []
    doc = run(tmp_path, suite, "--max-cost", "0.0037")
    assert cell(doc, "comprehend", "gold")["status"] == "done"
    assert cell(doc, "comprehend", "gold")["cost"]["usd"] == pytest.approx(0.0036)


def test_split_pieces_stay_under_the_byte_limit_and_never_cut_a_character() -> None:
    text = long_text(6000) + " " + "🙂" * 3000
    pieces = split_text(text, 5000, unit="utf8")
    assert [e - s for s, e in pieces] == ComprehendAdapter.billing_requests(text)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))  # contiguous, nothing lost
    assert all(len(text[s:e].encode()) <= 5000 for s, e in pieces)
    assert text[pieces[0][1] - 2 : pieces[0][1]] == ". "  # the prose is cut after a sentence
    assert all(text[s:e].encode().decode() == text[s:e] for s, e in pieces)


def test_default_map_covers_every_comprehend_type() -> None:
    for name in ("comprehend-to-conll", "comprehend-to-general"):
        assert set(BUILTIN_MAPS[name].mapping) == ComprehendAdapter.native_labels
