"""The LLM adapter: grounding (property-tested) and ``nerbench run`` against a local chat-completions server."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerbench.adapters.models.llm import ground, grounded_spans, parse_reply
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.suite import load_suite
from tests.harness.conftest import cell
from tests.servers.cloud_suite import (
    PLANTED_SECRET,
    SCHEMA,
    TEXTS,
    assert_no_secret,
    predictions,
    run,
    write_suite,
)
from tests.servers.openai_chat import ChatService

PRICE = {"kind": "tokens", "unit": "token", "usd_per_1m_input_tokens": 2000.0, "usd_per_1m_output_tokens": 8000.0}


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip()).lower()


def _occurrences(text: str, surface: str) -> int:
    """Matches of ``surface`` in ``text``, overlapping ones counted (as ``occurrence`` counts them)."""
    return sum(1 for i in range(len(text)) if text.startswith(surface, i)) if surface else 0


# ---- grounding, property-tested
_text = st.text(alphabet=st.sampled_from(list("abAB Zü🙂\n\t.")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=_text, surface=st.text(alphabet=st.sampled_from(list("abAB Zü🙂\n\t.x")), max_size=8), n=st.integers(1, 3))
def test_every_entity_is_grounded_in_the_text_or_invalid(text: str, surface: str, n: int) -> None:
    (span,) = grounded_spans(text, [{"text": surface, "label": "PER", "occurrence": n}])
    if span.start == span.end == 0:  # invalid by construction: the scorer counts it against precision
        assert span.surface == surface
        assert _occurrences(text, surface) < n  # no n-th exact match...
        assert _occurrences(re.sub(r"\s+", " ", text).lower(), _norm(surface)) < n  # ...nor a normalised one
        return
    assert 0 <= span.start < span.end <= len(text)
    assert span.surface == text[span.start : span.end]
    assert span.surface == surface or _norm(span.surface) == _norm(surface)


@settings(max_examples=300, deadline=None)
@given(text=_text, data=st.data())
def test_an_exact_substring_is_found_at_its_occurrence(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, max(0, len(text) - 1)))
    end = data.draw(st.integers(start + 1, len(text) + 1)) if text else 1
    surface = text[start:end]
    if not surface:
        return
    occurrence = sum(1 for i in range(start + 1) if text.startswith(surface, i))
    assert ground(text, surface, occurrence) == (start, start + len(surface))


def test_normalised_matches_respect_the_occurrence() -> None:
    text = "Ada  Lovelace met ada\nlovelace."
    assert ground(text, "ada lovelace", 1) == (0, len("Ada  Lovelace"))
    assert ground(text, "ADA LOVELACE", 2) == (text.index("ada\n"), len(text) - 1)
    assert ground(text, "ada lovelace", 3) is None


def test_unparseable_replies_are_errors_and_fences_are_allowed() -> None:
    assert parse_reply('```json\n{"entities": []}\n```') == []
    for bad in ("Sure, here you go", '{"items": []}', "[1, 2]"):
        with pytest.raises(ValueError):
            parse_reply(bad)


# ---- end to end
@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatService]:
    monkeypatch.setenv("LOCAL_LLM_KEY", PLANTED_SECRET)
    service = ChatService(api_key=PLANTED_SECRET)
    service.start()
    yield service
    service.stop()


def _model(server: ChatService, **options: object) -> dict[str, object]:
    return {
        "name": "llm-test", "adapter": "llm", "base_url": f"{server.url}/v1", "model": "local-model",
        "api_key_env": "LOCAL_LLM_KEY", "backoff_s": 0.01, "max_backoff_s": 0.05, **options,
    }  # fmt: skip


def test_spans_tokens_and_cost(server: ChatService, tmp_path: Path) -> None:
    texts = [*TEXTS, "HALLUCINATE Ada Lovelace", "lowercase: Ada Lovelace in Zürich and Ada Lovelace."]
    suite = write_suite(tmp_path, _model(server), texts=texts, pricing={"llm-test": PRICE})
    doc = run(tmp_path, suite)
    result = cell(doc, "llm-test", "gold")
    counts = result["metrics"]["counts"]
    assert (counts["correct"], counts["gold"], counts["invalid"]) == (counts["gold"], counts["gold"], 1)
    assert result["metrics"]["invalid_rate"] == pytest.approx(1 / counts["predicted"])  # the hallucination rate
    assert predictions(tmp_path, "llm-test")[f"d{len(TEXTS)}"]["invalid"][0]["text"] == "Charles Babbage"
    assert result["usage"]["input_tokens"] == server.prompt_tokens
    assert result["usage"]["output_tokens"] == server.completion_tokens
    usd = server.prompt_tokens * 0.002 + server.completion_tokens * 0.008
    assert result["cost"]["usd"] == pytest.approx(usd) and result["cost"]["basis"] == "tokens"
    assert server.bodies[0]["response_format"]["type"] == "json_schema"  # type: ignore[index]
    (row,) = estimate_suite(load_suite(suite))
    assert row["usd"] is None and "tokens" in row["basis"]  # known only from the server's usage
    assert_no_secret(tmp_path, doc["_proc"])


def test_retries_failures_and_malformed_replies(server: ChatService, tmp_path: Path) -> None:
    server.throttle_first, server.fail_first = 2, 2
    texts = [*TEXTS[:3], "GARBLE Ada Lovelace", "BOOM Alan Turing"]
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server, max_retries=4), texts=texts)), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 2
    preds = predictions(tmp_path, "llm-test")
    assert "unparseable reply" in preds["d3"]["error"] and "500" in preds["d4"]["error"]
    assert all("error" not in preds[f"d{i}"] for i in range(3))
    assert result["metrics"]["counts"]["correct"] == sum(len(preds[f"d{i}"]["spans"]) for i in range(3))


def test_a_refused_response_format_falls_back_and_stays_down(server: ChatService, tmp_path: Path) -> None:
    server.refused_formats = {"json_schema"}  # e.g. an older llama.cpp or vLLM
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server, concurrency=1), texts=TEXTS)), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    kinds = [(b.get("response_format") or {}).get("type") for b in server.bodies]  # type: ignore[union-attr]
    assert kinds == ["json_schema", *["json_object"] * len(TEXTS)]  # refused once, then never asked again
    assert result["describe"]["response_format"] == "auto (json_object)"


def test_a_fixed_response_format_the_server_refuses_fails_with_its_reason(server: ChatService, tmp_path: Path) -> None:
    server.refused_formats = {"json_schema", "json_object"}
    model = _model(server, response_format="json_schema")
    result = cell(run(tmp_path, write_suite(tmp_path, model, texts=TEXTS[:2]), expect=1), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 2 and "400" in result["failures"]["error"]
    server.bodies.clear()
    result = cell(run(tmp_path, write_suite(tmp_path, _model(server), texts=TEXTS[:2])), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 0  # auto: down to no response format at all
    assert (server.bodies[-1].get("response_format")) is None


def test_slow_replies_time_out_and_are_retried(server: ChatService, tmp_path: Path) -> None:
    server.slow_first, server.slow_s = 1, 2.0
    model = _model(server, request_timeout_s=0.5, concurrency=1)
    result = cell(run(tmp_path, write_suite(tmp_path, model, texts=TEXTS[:2])), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == 3


def test_concurrency_caps_the_requests_in_flight(server: ChatService, tmp_path: Path) -> None:
    server.slow_first, server.slow_s = 100, 0.25  # every request is slow, so parallel ones overlap
    model = _model(server, concurrency=2)
    suite = write_suite(tmp_path, model, settings={"batch_size": len(TEXTS)})  # one batch could send all six
    result = cell(run(tmp_path, suite), "llm-test", "gold")
    assert result["failures"]["failed_docs"] == 0 and result["metrics"]["micro"]["f1"] == 1.0
    assert len(server.requests) == len(TEXTS)
    assert server.peak_in_flight == 2  # parallel, and never more than `concurrency`


def test_the_prompt_lists_every_schema_label_with_its_description(server: ChatService, tmp_path: Path) -> None:
    cell(run(tmp_path, write_suite(tmp_path, _model(server), texts=TEXTS[:2])), "llm-test", "gold")
    assert len(server.bodies) == 2
    for body in server.bodies:
        system = body["messages"][0]  # type: ignore[index]
        assert system["role"] == "system"
        lines = system["content"].splitlines()
        for label, description in SCHEMA.items():
            assert f"- {label}: {description}" in lines, (label, system["content"])
        assert body["messages"][-1]["content"] in TEXTS[:2]  # type: ignore[index]  # the document alone, last


def test_few_shot_examples_come_from_the_train_split(server: ChatService, tmp_path: Path) -> None:
    suite = write_suite(tmp_path, _model(server, few_shot=2), texts=TEXTS[:2], train_texts=TEXTS[2:])
    cell(run(tmp_path, suite), "llm-test", "gold")
    messages = server.bodies[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]  # type: ignore[index, union-attr]


def test_max_cost_stops_sending_once_billed_tokens_reach_it(server: ChatService, tmp_path: Path) -> None:
    texts = [f"Ada Lovelace wrote note {i} in Zürich." for i in range(12)]
    suite = write_suite(tmp_path, _model(server), texts=texts, pricing={"llm-test": PRICE})
    result = cell(run(tmp_path, suite, "--max-cost", "0.5", expect=1), "llm-test", "gold")
    assert result["status"] == "failed" and "billed cost reached --max-cost" in result["failures"]["error"]
    assert 0 < len(server.requests) < len(texts)


def test_a_failed_cell_is_sent_again_once_the_endpoint_answers_and_then_cached(tmp_path: Path) -> None:
    """Every document failed (nothing listened): the next run sends them again to the same endpoint, now up; a
    run after that is a cache hit. A few failed documents in a cell that ran are kept (never sent again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])  # closed again when the with block ends
    model = {"name": "llm-test", "adapter": "llm", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m",
             "max_retries": 0, "request_timeout_s": 5}  # fmt: skip
    texts = [*TEXTS, "BOOM Alan Turing"]  # the server fails this one every time
    suite = write_suite(tmp_path, model, texts=texts)
    first = cell(run(tmp_path, suite, expect=1), "llm-test", "gold")
    assert first["status"] == "failed" and "(connection)" in first["reason"]
    service = ChatService()
    service.start(port)
    try:
        second = cell(run(tmp_path, suite), "llm-test", "gold")
        assert second["status"] == "done" and not second["cached"]
        assert len(service.requests) == len(texts)  # every document sent again
        assert second["failures"]["failed_docs"] == 1 and second["metrics"]["micro"]["recall"] < 1.0
        assert second["latency"]["docs_per_s"] is not None
        third = cell(run(tmp_path, suite), "llm-test", "gold")
        assert third["cached"] and third["metrics"] == second["metrics"]
        assert len(service.requests) == len(texts)  # the one failed document of a cell that ran: not sent again
    finally:
        service.stop()
