"""Google Cloud Natural Language over gRPC end to end: ``nerbench run`` drives the SDK's default transport.

The SDK talks protobuf over HTTP/2 with TLS to a local gRPC server (a self-signed
certificate for ``localhost`` that the worker trusts through
``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``), which answers from the same gazetteer and
faults as the REST fake. Credentials go through google-auth's own chain from a
service-account file (a fresh RSA key; its key id is the planted secret).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import google.auth.jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.adapters.models.test_google_language import assert_spans_units_and_estimate
from tests.harness.conftest import cell
from tests.servers.cloud_suite import PLANTED_SECRET, TEXTS, assert_no_secret, predictions, run, write_suite
from tests.servers.google import write_service_account
from tests.servers.google_grpc import GoogleGrpcService, self_signed_certificate


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleGrpcService]:
    service = GoogleGrpcService()
    service.start()  # HTTP: the token endpoint
    cert, key = self_signed_certificate(tmp_path)
    service.start_grpc(cert, key)
    path = tmp_path / "adc.json"
    service_key = write_service_account(path, f"{service.url}/token", PLANTED_SECRET)
    service.public_key = service_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # never the metadata server
    monkeypatch.setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", str(cert))  # the worker trusts only this certificate
    monkeypatch.setenv("no_grpc_proxy", "localhost,127.0.0.1")
    yield service
    service.stop()


def _model(server: GoogleGrpcService, **options: object) -> dict[str, object]:
    return {
        "name": "google", "adapter": "google-language", "api_endpoint": server.target,
        "label_map": "google-to-conll", "backoff_s": 0.01, "max_backoff_s": 0.05, **options,
    }  # fmt: skip


def _signed_by_service_account(server: GoogleGrpcService) -> bool:
    """Every call carried a bearer JWT that verifies against the service account's public key."""
    for request in server.requests:
        scheme, _, token = request.headers["authorization"].partition(" ")
        claims = google.auth.jwt.decode(token, certs=server.public_key)
        if scheme != "Bearer" or claims["iss"] != "bench@local.iam.gserviceaccount.com":
            return False
    return bool(server.requests)


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_spans_labels_and_billing_match_the_estimate(
    server: GoogleGrpcService, tmp_path: Path, api_version: str
) -> None:
    texts = [*TEXTS, "x" * 2500 + " Ada Lovelace"]  # 3 units
    suite = write_suite(tmp_path, _model(server, api_version=api_version), texts=texts)  # transport: grpc by default
    doc = run(tmp_path, suite)
    result = cell(doc, "google", "gold")
    metrics = result["metrics"]
    assert metrics["micro"]["f1"] == 1.0 and metrics["counts"]["invalid"] == 0, metrics
    method = f"/google.cloud.language.{api_version}.LanguageService/AnalyzeEntities"
    assert server.grpc_calls == [method] * len(texts) and len(server.requests) == len(texts)
    assert all("grpc/" in r.headers["x-goog-api-client"] for r in server.requests)
    assert_spans_units_and_estimate(tmp_path, suite, result, texts)
    assert _signed_by_service_account(server)
    assert_no_secret(tmp_path, doc["_proc"])


def test_resource_exhausted_and_unavailable_are_retried(server: GoogleGrpcService, tmp_path: Path) -> None:
    server.throttle_first, server.fail_first = 2, 2  # RESOURCE_EXHAUSTED twice, then UNAVAILABLE twice
    doc = run(tmp_path, write_suite(tmp_path, _model(server, concurrency=3)))
    result = cell(doc, "google", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.grpc_calls) == len(TEXTS) + 4 and sorted(server.answered) == sorted(TEXTS)
    assert result["cost"]["units"] == len(TEXTS)
    assert_no_secret(tmp_path, doc["_proc"])


def test_the_retry_delay_google_asks_for_is_honoured(server: GoogleGrpcService, tmp_path: Path) -> None:
    server.throttle_first, server.retry_after = 1, "0.6"  # RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
    model = _model(server, concurrency=1, backoff_s=0.001, max_backoff_s=5)  # our own backoff: a millisecond
    result = cell(run(tmp_path, write_suite(tmp_path, model, texts=TEXTS[:1])), "google", "gold")
    assert result["failures"]["failed_docs"] == 0 and len(server.call_times) == 2
    assert server.call_times[1] - server.call_times[0] >= 0.6


def test_failing_and_malformed_replies_fail_only_their_documents(server: GoogleGrpcService, tmp_path: Path) -> None:
    texts = [*TEXTS[:2], "GARBLE Ada Lovelace", "BOOM Alan Turing"]
    doc = run(tmp_path, write_suite(tmp_path, _model(server, max_retries=1, api_version="v1"), texts=texts))
    result = cell(doc, "google", "gold")
    assert result["failures"]["failed_docs"] == 2 and result["cost"]["units"] == 2
    preds = predictions(tmp_path, "google")
    assert [preds[f"d{i}"].get("error") for i in range(2)] == [None, None]
    assert preds["d3"]["error"].startswith("InternalServerError: 500") and "BOOM" not in preds["d3"]["error"]
    assert "deserializ" in preds["d2"]["error"].lower()
    assert len(server.grpc_calls) == 2 + 2 + 2  # good once; the malformed and the failing one retried once
    assert_no_secret(tmp_path, doc["_proc"])


def test_an_untrusted_certificate_fails_the_documents(
    server: GoogleGrpcService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "other").mkdir()
    other, _ = self_signed_certificate(tmp_path / "other")  # a certificate the server does not present
    monkeypatch.setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", str(other))
    doc = run(tmp_path, write_suite(tmp_path, _model(server, max_retries=0), texts=TEXTS[:1]), expect=1)
    assert cell(doc, "google", "gold")["failures"]["failed_docs"] == 1
    error = predictions(tmp_path, "google")["d0"]["error"]
    assert error.startswith("ServiceUnavailable: 503") and "CERTIFICATE_VERIFY_FAILED" in error
    assert server.grpc_calls == []  # TLS is really checked: no call got through
