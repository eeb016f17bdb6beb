"""The corenlp adapter against a CoreNLP stand-in server on 127.0.0.1 speaking CoreNLP's JSON."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.corenlp import CoreNlpAdapter
from nerbench.errors import ConfigError
from nerbench.types import Span, TextInput
from tests.adapters.models.local_models import messy_texts
from tests.harness.conftest import SuiteWriter, cell, nerbench, results
from tests.servers.corenlp_server import CoreNlpServer, annotate


@pytest.fixture(scope="module")
def server() -> Iterator[CoreNlpServer]:
    srv = CoreNlpServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def adapter(url: str, **options: Any) -> CoreNlpAdapter:
    found = create_adapter(ModelConfig(name="stanford", adapter="corenlp", options={"url": url, **options}))
    assert isinstance(found, CoreNlpAdapter)
    found.load()
    return found


def surfaces(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.label) for s in spans]


def test_utf16_offsets_after_emoji_become_code_points(server: CoreNlpServer) -> None:
    text = "🙂🙂 we met Ada Lovelace in Paris. 𝔊 then Łódź."
    spans = adapter(server.url).predict([TextInput("d", text)])[0]
    assert surfaces(text, spans) == [("Ada Lovelace", "PERSON"), ("Paris", "LOCATION"), ("Łódź", "LOCATION")]
    assert spans[0] == Span(len("🙂🙂 we met "), len("🙂🙂 we met Ada Lovelace"), "PERSON")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messy_texts())
def test_every_span_lands_on_the_mention_the_server_reported(server: CoreNlpServer, text: str) -> None:
    spans = adapter(server.url).predict([TextInput("d", text)])[0]
    reported = [(m["text"], m["ner"]) for s in annotate(text, {})["sentences"] for m in s["entitymentions"]]
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert surfaces(text, spans) == reported


def test_properties_travel_as_the_properties_query_parameter(server: CoreNlpServer) -> None:
    model = adapter(
        server.url, language="de", annotators="tokenize,ssplit,ner", properties={"ner.applyNumericClassifiers": False}
    )
    model.predict([TextInput("d", "Wir sahen Anna in Zürich.")])
    props, text = server.requests[-1]
    assert text == "Wir sahen Anna in Zürich."
    assert props["tokenize.language"] == "de" and props["annotators"] == "tokenize,ssplit,ner"
    assert props["outputFormat"] == "json" and props["ner.applyNumericClassifiers"] is False


def test_token_tags_are_grouped_when_the_server_builds_no_mentions(server: CoreNlpServer) -> None:
    text = "🙂 then Grace Hopper\tflew to Kyoto."
    model = adapter(server.url, properties={"ner.buildEntityMentions": "false"})
    spans = model.predict([TextInput("d", text)])[0]
    assert surfaces(text, spans) == [("Grace Hopper", "PERSON"), ("Kyoto", "LOCATION")]


def test_gold_tokens_are_sent_whitespace_joined_and_mapped_back(server: CoreNlpServer) -> None:
    text = "We met Ada-Lovelace in Paris,today."
    tokens = ((0, 2), (3, 6), (7, 19), (20, 22), (23, 28), (28, 29), (29, 34), (34, 35))
    spans = adapter(server.url).predict([TextInput("d", text, tokens)])[0]
    assert surfaces(text, spans) == [("Ada-Lovelace", "PERSON"), ("Paris", "LOCATION")]
    props, sent = server.requests[-1]
    assert sent == "We met Ada-Lovelace in Paris , today ." and props["tokenize.whitespace"] == "true"


def test_empty_texts_send_nothing(server: CoreNlpServer) -> None:
    model = adapter(server.url)
    before = len(server.requests)
    assert model.predict([TextInput("a", ""), TextInput("b", " \t\n")]) == [[], []]
    assert len(server.requests) == before and model.usage().requests == 0


def test_a_server_error_is_raised_with_the_status(server: CoreNlpServer) -> None:
    with pytest.raises(RuntimeError, match="HTTP 500"):
        adapter(server.url).predict([TextInput("d", "FAIL500 here")])


def test_no_server_is_a_one_line_config_error() -> None:
    srv = CoreNlpServer()
    url = srv.url
    srv.server_close()
    with pytest.raises(ConfigError, match="no CoreNLP server at"):
        adapter(url, request_timeout_s=2)


def test_fingerprint_works_before_load_and_follows_the_properties() -> None:
    def fingerprint(**options: Any) -> str:
        return create_adapter(ModelConfig(name="m", adapter="corenlp", options=options)).fingerprint()

    assert fingerprint(url="http://a:9000") == fingerprint(url="http://a:9000")
    assert fingerprint(url="http://a:9000") != fingerprint(url="http://a:9000", language="de")
    assert fingerprint(url="http://a:9000") != fingerprint(url="http://a:9000", server_version="4.5.10")


def test_annotators_without_ner_are_refused() -> None:
    with pytest.raises(ConfigError, match="must include ner"):
        create_adapter(ModelConfig(name="m", adapter="corenlp", options={"annotators": "tokenize,ssplit"}))


def test_nerbench_run_scores_the_server(server: CoreNlpServer, write_suite: SuiteWriter, tmp_path: Path) -> None:
    model = {
        "name": "stanford",
        "adapter": "corenlp",
        "url": server.url,
        "label_map": {"PERSON": "PER", "LOCATION": "LOC"},
    }
    suite = write_suite([model])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    news = cell(results(tmp_path / "run"), "stanford", "news")
    assert news["failures"]["failed_docs"] == 0
    assert news["metrics"]["micro"]["f1"] > 0.5
