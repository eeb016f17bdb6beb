"""Google Cloud Natural Language end to end: ``nerbench run`` drives google-cloud-language (REST) on a local server.

Credentials go through google-auth's own chain: Application Default Credentials
read a service-account file (a fresh RSA key; its key id is the planted secret)
whose token endpoint is the local server.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from nerbench.adapters.models.google_language import GoogleLanguageAdapter
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.suite import load_suite
from nerbench.labels import BUILTIN_MAPS
from tests.harness.conftest import cell
from tests.servers.cloud_suite import PLANTED_SECRET, TEXTS, assert_no_secret, predictions, run, write_suite
from tests.servers.google import GoogleLanguageService, write_service_account

pytest.importorskip("google.cloud.language_v2")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleLanguageService]:
    service = GoogleLanguageService()
    service.start()
    path = tmp_path / "adc.json"
    write_service_account(path, f"{service.url}/token", PLANTED_SECRET)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # never the metadata server
    yield service
    service.stop()


def _model(server: GoogleLanguageService, **options: object) -> dict[str, object]:
    return {
        "name": "google", "adapter": "google-language", "api_endpoint": server.url, "transport": "rest",
        "label_map": "google-to-conll", "backoff_s": 0.01, "max_backoff_s": 0.05, **options,
    }  # fmt: skip


def assert_spans_units_and_estimate(tmp_path: Path, suite: Path, result: dict[str, Any], texts: list[str]) -> None:
    """The first document's code-point spans after an emoji, units and dollars to the cent, equal to the estimate."""
    first = predictions(tmp_path, "google")["d0"]["spans"]
    assert [(s["start"], s["label"], s["native_label"]) for s in first] == [
        (len("🙂 "), "PER", "PERSON"), (len("🙂 Ada Lovelace met "), "PER", "PERSON"),
        (len("🙂 Ada Lovelace met Alan Turing in "), "LOC", "LOCATION"),
    ]  # fmt: skip
    units = sum(max(1, math.ceil(len(t) / 1000)) for t in texts)
    assert units == len(TEXTS) + 3
    assert result["cost"]["units"] == units
    assert round(result["cost"]["usd"], 2) == round(units * 0.001, 2) and result["cost"]["usd"] == pytest.approx(0.009)
    (row,) = estimate_suite(load_suite(suite))
    assert (row["units"], row["usd"]) == (units, pytest.approx(result["cost"]["usd"]))
    assert row["basis"].endswith("first 5,000 units a month free (not subtracted)")


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_spans_labels_and_billing_match_the_estimate(
    server: GoogleLanguageService, tmp_path: Path, api_version: str
) -> None:
    texts = [*TEXTS, "x" * 2500 + " Ada Lovelace"]  # 3 units
    suite = write_suite(tmp_path, _model(server, api_version=api_version), texts=texts)
    doc = run(tmp_path, suite)
    result = cell(doc, "google", "gold")
    metrics = result["metrics"]
    assert metrics["micro"]["f1"] == 1.0 and metrics["counts"]["invalid"] == 0, metrics
    assert all(r.path.startswith(f"/{api_version}/documents:analyzeEntities") for r in server.requests)
    assert_spans_units_and_estimate(tmp_path, suite, result, texts)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in server.requests)  # google-auth signed them
    assert_no_secret(tmp_path, doc["_proc"])


def test_credentials_file_option_signs_requests_without_leaking_the_key(
    server: GoogleLanguageService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")  # no Application Default Credentials: only the option
    key_file = tmp_path / "keys" / "bench-sa.json"
    key_file.parent.mkdir()
    key = write_service_account(key_file, f"{server.url}/token", PLANTED_SECRET)
    pem_line = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode().splitlines()[1]
    suite = write_suite(tmp_path, _model(server, credentials_file=str(key_file)), texts=TEXTS[:3])
    doc = run(tmp_path, suite)
    result = cell(doc, "google", "gold")
    assert result["status"] == "done" and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == 3 and all(r.headers["authorization"].startswith("Bearer ") for r in server.requests)
    assert_no_secret(tmp_path, doc["_proc"])  # the key id
    assert_no_secret(tmp_path, doc["_proc"], pem_line)  # the private key itself
    sent = len(server.requests)
    missing = write_suite(tmp_path, _model(server, credentials_file=str(tmp_path / "nope.json")), texts=TEXTS[:1])
    refused = run(tmp_path, missing, check=False)["_proc"]  # checked before anything runs: exit 2, nothing sent
    assert refused.returncode == 2 and "credentials_file" in refused.stderr and "nope.json" in refused.stderr
    assert len(server.requests) == sent


def test_common_mentions_are_kept_only_when_asked(server: GoogleLanguageService, tmp_path: Path) -> None:
    texts = ["Acme Corp said the company grew."]
    run(tmp_path, write_suite(tmp_path, _model(server), texts=texts))
    assert [s["native_label"] for s in predictions(tmp_path, "google")["d0"]["spans"]] == ["ORGANIZATION"]
    model = _model(server, mentions=["PROPER", "COMMON"], api_version="v1", name="google")
    run(tmp_path, write_suite(tmp_path, model, texts=texts))
    spans = predictions(tmp_path, "google")["d0"]["spans"]
    assert [texts[0][s["start"] : s["end"]] for s in spans] == ["Acme Corp", "company"]


def test_throttling_and_500s_are_retried_honouring_retry_after(server: GoogleLanguageService, tmp_path: Path) -> None:
    server.throttle_first, server.fail_first, server.retry_after = 2, 1, "1"
    suite = write_suite(tmp_path, _model(server, concurrency=3))
    result = cell(run(tmp_path, suite), "google", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == len(TEXTS) + 3
    assert result["cost"]["units"] == len(TEXTS)


def test_failing_endpoint_and_malformed_reply_fail_documents(server: GoogleLanguageService, tmp_path: Path) -> None:
    texts = [*TEXTS[:2], "GARBLE Ada Lovelace", "BOOM Alan Turing"]
    suite = write_suite(tmp_path, _model(server, max_retries=1), texts=texts)
    result = cell(run(tmp_path, suite), "google", "gold")
    assert result["failures"]["failed_docs"] == 2
    preds = predictions(tmp_path, "google")
    assert "InternalServerError" in preds["d3"]["error"]
    assert preds["d2"]["error"] and "InternalServerError" not in preds["d2"]["error"]
    assert len(server.requests) == 2 + 1 + 2  # good once, malformed once (not retried), failing twice
    assert result["cost"]["units"] == 2


def test_default_map_covers_every_google_type() -> None:
    for name in ("google-to-conll", "google-to-general"):
        assert set(BUILTIN_MAPS[name].mapping) == GoogleLanguageAdapter.native_labels
