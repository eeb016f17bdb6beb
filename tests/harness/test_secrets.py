"""Expanded ``${VAR}`` values never leave the process: not in the store, the run directory, the report, the output.

One suite drives every remote adapter against its local wire-format server, with a distinct
planted value in every ``${}`` position of their endpoints and options: models that answer
(their fingerprints and ``describe()`` hold the endpoint), endpoints that fail (their error
texts hold the URL), and a worker that dies printing a value to its stderr. Every file the
run writes, the SQLite store's bytes and the CLI's output are searched for every value, with
and without ``--debug``; the values are written as ``${NAME}`` instead.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.conftest import cell, nerbench, results
from tests.servers.base import Reply, Request, Service
from tests.servers.cloud_suite import SCHEMA, TEXTS, gold_document
from tests.servers.comprehend import ComprehendService
from tests.servers.corenlp_server import CoreNlpServer
from tests.servers.google import GoogleLanguageService, write_service_account
from tests.servers.ibm import WatsonNluService
from tests.servers.openai_chat import ChatService

pytest.importorskip("boto3")
pytest.importorskip("ibm_watson")
pytest.importorskip("google.cloud.language_v2")

DOWN = "http://127.0.0.1:9"  # nothing listens there: connections are refused
FAST = {"max_retries": 0, "backoff_s": 0.01, "max_backoff_s": 0.02, "request_timeout_s": 5}


def _planted(name: str) -> str:
    return f"planted-{name.lower().replace('_', '-')}-{secrets.token_hex(6)}"


def _behind(service: Service, prefix: str) -> None:
    """The service answers under ``prefix`` too (an instance path, a proxy prefix), as if it were not there."""
    dispatch = service.dispatch

    def strip(request: Request) -> Reply:
        if request.path.startswith(prefix):
            request = dataclasses.replace(request, path=request.path[len(prefix) :] or "/")
        return dispatch(request)

    service.dispatch = strip  # type: ignore[method-assign]


@dataclasses.dataclass
class Servers:
    chat: ChatService
    aws: ComprehendService
    ibm: WatsonNluService
    google: GoogleLanguageService
    corenlp: CoreNlpServer


@pytest.fixture
def servers() -> Iterator[Servers]:
    import threading

    chat, aws, ibm, google = ChatService(), ComprehendService(), WatsonNluService(), GoogleLanguageService()
    for service in (chat, aws, ibm, google):
        service.start()
    corenlp = CoreNlpServer()
    threading.Thread(target=corenlp.serve_forever, daemon=True).start()
    yield Servers(chat, aws, ibm, google, corenlp)
    for service in (chat, aws, ibm, google):
        service.stop()
    corenlp.shutdown()
    corenlp.server_close()


def _environment(tmp_path: Path, servers: Servers) -> dict[str, str]:
    """A distinct planted value for every ``${}`` of the suite (some of them whole endpoints or file paths)."""
    names = ["LLM_PREFIX", "LLM_MODEL", "LLM_DOWN", "AWS_PREFIX", "AWS_REGION_NAME", "AWS_DOWN", "IBM_INSTANCE",
             "IBM_DOWN", "CORENLP_PREFIX", "CORENLP_DOWN", "WORKER_SAYS", "KEY_DIR"]  # fmt: skip
    env = {name: _planted(name) for name in names}
    # A whole endpoint; "localhost", so it is no prefix of the other servers' URLs (127.0.0.1:PORT).
    env["GOOGLE_ENDPOINT"] = servers.google.url.replace("127.0.0.1", "localhost")
    creds = tmp_path / env["KEY_DIR"] / "service-account.json"
    creds.parent.mkdir()
    write_service_account(creds, f"{servers.google.url}/token", secrets.token_hex(8))
    env["GOOGLE_CREDENTIALS"] = str(creds)
    _behind(servers.chat, f"/{env['LLM_PREFIX']}")
    _behind(servers.aws, f"/{env['AWS_PREFIX']}")
    _behind(servers.ibm, f"/instances/{env['IBM_INSTANCE']}")
    return env


def _models(servers: Servers) -> list[dict[str, Any]]:
    return [
        {"name": "llm", "adapter": "llm", "base_url": f"{servers.chat.url}/${{LLM_PREFIX}}/v1",
         "model": "${LLM_MODEL}", "api_key_env": "LOCAL_LLM_KEY", **FAST},
        {"name": "llm-down", "adapter": "llm", "base_url": f"{DOWN}/v1/${{LLM_DOWN}}", "model": "m", **FAST},
        {"name": "comprehend", "adapter": "aws-comprehend", "endpoint_url": f"{servers.aws.url}/${{AWS_PREFIX}}",
         "region": "${AWS_REGION_NAME}", "label_map": "comprehend-to-conll", **FAST},
        {"name": "comprehend-down", "adapter": "aws-comprehend", "endpoint_url": f"{DOWN}/${{AWS_DOWN}}",
         "region": "${AWS_REGION_NAME}", "label_map": "comprehend-to-conll", **FAST},
        {"name": "watson", "adapter": "ibm-nlu", "url": f"{servers.ibm.url}/instances/${{IBM_INSTANCE}}",
         "iam_url": servers.ibm.url, "apikey_env": "MY_NLU_KEY", "label_map": "watson-to-conll", **FAST},
        {"name": "watson-down", "adapter": "ibm-nlu", "url": f"{DOWN}/instances/${{IBM_DOWN}}",
         "iam_url": servers.ibm.url, "apikey_env": "MY_NLU_KEY", "label_map": "watson-to-conll", **FAST},
        {"name": "google", "adapter": "google-language", "api_endpoint": "${GOOGLE_ENDPOINT}", "transport": "rest",
         "credentials_file": "${GOOGLE_CREDENTIALS}", "label_map": "google-to-conll", **FAST},
        {"name": "corenlp", "adapter": "corenlp", "url": f"{servers.corenlp.url}/${{CORENLP_PREFIX}}",
         "label_map": "corenlp-to-conll"},
        {"name": "corenlp-down", "adapter": "corenlp", "url": f"{DOWN}/${{CORENLP_DOWN}}",
         "label_map": "corenlp-to-conll"},
        {"name": "dies", "adapter": "tests.fakes:DiesSaying", "marker": "Zürich", "say": "lost ${WORKER_SAYS}"},
    ]  # fmt: skip


def _write_suite(tmp_path: Path, servers: Servers) -> Path:
    gold = tmp_path / "gold.jsonl"
    rows = [gold_document(f"d{i}", text) for i, text in enumerate(TEXTS[:3])]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    suite = {
        "name": "secrets", "schema": SCHEMA, "datasets": [{"name": "gold", "path": str(gold)}],
        "models": _models(servers),
        "settings": {"batch_size": 4, "latency_samples": 1, "warmup": 0, "bootstrap": 0},
    }  # fmt: skip
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _assert_nowhere(values: dict[str, str], texts: list[str], files: list[Path]) -> None:
    for name, value in values.items():
        for text in texts:
            assert value not in text, f"{name} in the output"
        for path in files:
            assert value.encode() not in path.read_bytes(), f"{name} in {path}"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_expanded_values_reach_no_file_no_store_and_no_output(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    values = _environment(tmp_path, servers)
    for name, value in {
        **values, "LOCAL_LLM_KEY": "sk-local", "MY_NLU_KEY": "nlu-local", "AWS_ACCESS_KEY_ID": "AKIATESTKEY",
        "AWS_SECRET_ACCESS_KEY": "aws-local", "AWS_EC2_METADATA_DISABLED": "true", "GCE_METADATA_HOST": "127.0.0.1:9",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    flag = ["--debug"] if debug else []
    suite = _write_suite(tmp_path, servers)
    proc = nerbench(*flag, "run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path,
                    check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # the endpoints that are down fail

    doc = results(tmp_path / "run")
    for working in ("llm", "comprehend", "watson", "google", "corenlp"):
        assert cell(doc, working, "gold")["status"] == "done", cell(doc, working, "gold")["reason"]
    for down in ("llm-down", "comprehend-down", "watson-down", "corenlp-down", "dies"):
        assert cell(doc, down, "gold")["status"] == "failed"
    # What would have shown a value says which variable instead.
    assert cell(doc, "llm", "gold")["describe"]["endpoint"] == f"{servers.chat.url}/${{LLM_PREFIX}}/v1"
    assert "${LLM_MODEL}" in cell(doc, "llm", "gold")["fingerprint"]
    assert "${AWS_DOWN}" in cell(doc, "comprehend-down", "gold")["reason"]  # botocore names the endpoint URL
    assert "${IBM_DOWN}" in cell(doc, "watson-down", "gold")["reason"]  # requests names the URL
    assert "${CORENLP_DOWN}" in cell(doc, "corenlp-down", "gold")["reason"]
    assert "${WORKER_SAYS}" in cell(doc, "dies", "gold")["reason"]  # the dead worker's stderr, passed on
    assert "${AWS_REGION_NAME}" in cell(doc, "comprehend", "gold")["fingerprint"]
    assert "${CORENLP_DOWN}" in proc.stdout  # the console names the failure, not the value

    # A suite error (a value in a path that does not exist) is redacted too, traceback included.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "datasets:\n  - {name: g, path: gold.jsonl, train: '${KEY_DIR}/missing.jsonl'}\n"
        "models:\n  - {name: r, adapter: rules, regex: [{label: PER, pattern: Ada}]}\n",
        encoding="utf-8",
    )
    error = nerbench(*flag, "run", bad, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert error.returncode == 2 and "'${KEY_DIR}/missing.jsonl' does not exist" in error.stderr
    assert ("Traceback" in error.stderr) == debug

    files = [p for p in [*tmp_path.glob("r.db*"), *(tmp_path / "run").rglob("*"), *(tmp_path / ".nerbench").rglob("*")]
             if p.is_file()]  # fmt: skip
    assert {"results.json", "results.csv", "report.html", "report.md"} <= {p.name for p in files}
    assert any(p.parent.name == "predictions" for p in files) and any(p.name == "r.db" for p in files)
    _assert_nowhere(values, [proc.stdout, proc.stderr, error.stdout, error.stderr], files)


def test_a_cache_key_still_tells_two_environments_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two values of one variable give two prediction sets: the stored fingerprints read alike, the keys differ."""
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(gold_document("d0", TEXTS[0]), ensure_ascii=False) + "\n", encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"datasets:\n  - {{name: gold, path: {gold}}}\nmodels:\n"
        "  - {name: caps, adapter: 'tests.fakes:Capitalised', marker: '${WHICH}'}\n"
        "settings: {latency_samples: 0, bootstrap: 0}\n",
        encoding="utf-8",
    )
    for n, which in enumerate(("first-environment", "second-environment")):
        monkeypatch.setenv("WHICH", which)
        nerbench("run", suite, "--out", tmp_path / f"run{n}", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert not results(tmp_path / "run1")["cells"][0]["cached"]  # not the first environment's predictions
    store = (tmp_path / "r.db").read_bytes()
    assert b"first-environment" not in store and b"second-environment" not in store
    nerbench("run", suite, "--out", tmp_path / "again", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert results(tmp_path / "again")["cells"][0]["cached"]  # the same environment again: cached


def test_a_gate_verdicts_reason_is_stored_redacted(tmp_path: Path) -> None:
    """The reason a gate stopped on an error is kept in the store's run row: a value it quotes is written as ``${}``."""
    from nerbench import redact
    from nerbench.harness.run_store import RunStore
    from nerbench.harness.store import Store

    value = _planted("REASON")
    redact.remember("REASON", value)
    try:
        db = RunStore(tmp_path / "r.db")
        db.create_run("r1", suite="s", suite_path="s.yaml", digest="d", out_dir="o", info={})
        db.record_verdict("r1", "error", f"the endpoint http://127.0.0.1:9/{value} refused the check")
        db.close()
    finally:
        redact.forget()
    run = Store(tmp_path / "r.db", read_only=True).run("r1")
    assert run is not None
    assert run["info"]["gate"]["reason"] == "the endpoint http://127.0.0.1:9/${REASON} refused the check"
    assert value.encode() not in (tmp_path / "r.db").read_bytes()
