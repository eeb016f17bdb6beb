"""The stanza adapter against the real stanza library, on a tiny ner_tagger trained locally (no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.stanza_ner import StanzaAdapter
from nerbench.types import TextInput
from tests.adapters.models.local_models import messy_texts
from tests.harness.conftest import SuiteWriter, cell, nerbench, results

pytest.importorskip("stanza")


def options(model: tuple[Path, Path], **extra: Any) -> dict[str, Any]:
    resources, ner = model
    return {"dir": str(resources), "ner_model_path": str(ner), "pipeline": {"tokenize_with_spacy": True}, **extra}


def stanza_adapter(model: tuple[Path, Path], **extra: Any) -> StanzaAdapter:
    found = create_adapter(ModelConfig(name="s", adapter="stanza", options=options(model, **extra)))
    assert isinstance(found, StanzaAdapter)
    return found


@pytest.fixture(scope="module")
def pipeline(stanza_model: tuple[Path, Path]) -> StanzaAdapter:
    adapter = stanza_adapter(stanza_model)
    adapter.load()
    return adapter


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messy_texts())
def test_every_span_is_the_entity_stanza_reported_without_edge_whitespace(pipeline: StanzaAdapter, text: str) -> None:
    import stanza

    spans = pipeline.predict([TextInput("d", text)])[0]
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(not text[s.start].isspace() and not text[s.end - 1].isspace() for s in spans)
    doc = pipeline._pipelines[False]([stanza.Document([], text=text)])[0] if text.strip() else None
    reported = [(e.text.strip(), e.type) for e in doc.ents if e.text.strip()] if doc else []
    assert [(text[s.start : s.end], s.label) for s in spans] == reported


def test_batches_keep_inputs_apart(pipeline: StanzaAdapter) -> None:
    texts = ["In Mnbvc , Poiuy said no .", "", "🙂 Yesterday Qwerty flew to Lkjhg ."]
    batch = pipeline.predict([TextInput(str(i), t) for i, t in enumerate(texts)])
    assert batch == [pipeline.predict([TextInput("x", t)])[0] for t in texts] and batch[1] == []
    assert pipeline.labels() == {"PER", "LOC"}


def test_gold_tokens_go_through_a_pretokenized_pipeline(pipeline: StanzaAdapter) -> None:
    text = "In Mnbvc,Poiuy said no.\nYesterday Qwerty flew to Lkjhg."
    tokens = ((0, 2), (3, 8), (8, 9), (9, 14), (15, 19), (20, 22), (22, 23), (24, 33), (34, 40), (41, 45), (46, 48),
              (49, 54), (54, 55))  # fmt: skip
    spans = pipeline.predict([TextInput("d", text, tokens)])[0]
    assert spans
    assert {s.start for s in spans} <= {a for a, _ in tokens} and {s.end for s in spans} <= {b for _, b in tokens}


def test_fingerprint_works_before_load(stanza_model: tuple[Path, Path]) -> None:
    first = stanza_adapter(stanza_model).fingerprint()
    assert first == stanza_adapter(stanza_model).fingerprint() and "sha256=" in first
    online = create_adapter(ModelConfig(name="s", adapter="stanza", options={"lang": "en"})).fingerprint()
    assert "en/default@1.15.0" in online


def test_nerbench_run_uses_the_local_model(
    stanza_model: tuple[Path, Path], write_suite: SuiteWriter, tmp_path: Path
) -> None:
    suite = write_suite([{"name": "tiny-stanza", "adapter": "stanza", **options(stanza_model)}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    news = cell(results(tmp_path / "run"), "tiny-stanza", "news")
    assert news["failures"]["failed_docs"] == 0 and news["metrics"]["counts"]["invalid"] == 0
