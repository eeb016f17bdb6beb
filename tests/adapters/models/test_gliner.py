"""The gliner adapter against the real gliner library, on a small GLiNER built locally (untrained)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.gliner_ner import GlinerAdapter, plan_windows, prompt_labels
from nerbench.errors import ConfigError
from nerbench.types import TextInput
from tests.adapters.models.local_models import messy_texts
from tests.harness.conftest import SuiteWriter, cell, nerbench, results

pytest.importorskip("gliner")

SCHEMA = {"PER": "person", "LOC": "place"}


def gliner(model_dir: Path, schema: dict[str, str] = SCHEMA, **options: Any) -> GlinerAdapter:
    options = {"model": str(model_dir), "local_files_only": True, **options}
    found = create_adapter(ModelConfig(name="g", adapter="gliner", options=options, schema=schema))
    assert isinstance(found, GlinerAdapter)
    return found


@pytest.fixture(scope="module")
def everything(gliner_dir: Path) -> GlinerAdapter:
    """Threshold 0: an untrained model then returns spans wherever its decoder allows one."""
    adapter = gliner(gliner_dir, threshold=0.0)
    adapter.load()
    return adapter


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messy_texts())
def test_every_span_is_inside_the_text_and_is_what_gliner_reported(everything: GlinerAdapter, text: str) -> None:
    spans = everything.predict([TextInput("d", text)])[0]
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(text[s.start : s.end] == s.surface for s in spans)
    assert {s.label for s in spans} <= set(SCHEMA)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))  # flat_ner: no overlaps


def test_no_span_is_lost_or_shifted_at_window_boundaries(gliner_dir: Path) -> None:
    """Each window's own GLiNER output, shifted back, is exactly what the adapter returns for the spans it owns."""
    adapter = gliner(gliner_dir, {"PER": "person"}, threshold=0.0, flat_ner=False, chunk_words=20)
    adapter.load()
    text = " ".join(f"Wörd{i} 🙂\t{'naïve' if i % 3 else 'Zoë'}" for i in range(40))  # 120 words, 13 windows
    words = adapter._words(text)
    windows = plan_windows(0, len(words), 20, 2 * adapter._model.config.max_width)
    expected = set()
    for w in windows:
        shift = words[w.first][0]
        chunk = text[shift : words[w.end - 1][1]]
        for ent in adapter._model.inference([chunk], ["person"], flat_ner=False, threshold=0.0)[0]:
            start, end = ent["start"] + shift, ent["end"] + shift
            assert text[start:end] == ent["text"]
            if words[w.core_first][0] <= start < (words[w.core_end][0] if w.core_end < len(words) else len(text)):
                expected.add((start, end))
    spans = adapter.predict([TextInput("long", text)])[0]
    assert sorted((s.start, s.end) for s in spans) == sorted(expected)
    assert all(text[s.start : s.end] == s.surface for s in spans)
    boundaries = [words[w.core_first][0] for w in windows[1:]]
    assert any(s.start < b < s.end for s in spans for b in boundaries)  # spans straddling a core boundary
    edges = [words[w.end - 1][1] for w in windows[:-1]]
    assert any(s.start < e < s.end for s in spans for e in edges)  # and spans running past a window's end


def test_chunked_long_documents_keep_offsets_of_the_whole_text(gliner_dir: Path) -> None:
    adapter = gliner(gliner_dir, threshold=0.0, chunk_words=24)
    adapter.load()
    text = "\n".join(f"Łódź {i}: Ada   Lovelace met 🙂 Grace\tHopper." for i in range(30))
    spans = adapter.predict([TextInput("long", text), TextInput("empty", "")])
    assert spans[1] == [] and spans[0]
    assert all(text[s.start : s.end] == s.surface for s in spans[0])
    assert max(s.end for s in spans[0]) > len(text) // 2


def test_prompts_come_from_the_schema_and_can_be_overridden() -> None:
    config = ModelConfig(name="g", adapter="gliner", schema={"PER": "a person", "ORG": ""}, options={})
    assert prompt_labels(config) == {"PER": "a person", "ORG": "org"}
    config = ModelConfig(name="g", adapter="gliner", schema={"PER": "a person"}, options={"labels": {"PER": "human"}})
    assert prompt_labels(config) == {"PER": "human"}
    with pytest.raises(ConfigError, match="share one GLiNER label"):
        prompt_labels(ModelConfig(name="g", adapter="gliner", schema={"PER": "x", "LOC": "x"}))
    with pytest.raises(ConfigError, match="not in the schema"):
        prompt_labels(ModelConfig(name="g", adapter="gliner", schema={"PER": "x"}, options={"labels": {"ORG": "y"}}))


def test_predictions_come_back_under_the_schema_label(gliner_dir: Path) -> None:
    adapter = gliner(gliner_dir, {"PER": "person"}, labels={"PER": "human being"}, threshold=0.0)
    adapter.load()
    spans = adapter.predict([TextInput("d", "Ada Lovelace met Grace Hopper.")])[0]
    assert spans and {s.label for s in spans} == {"PER"} and adapter.labels() == {"PER"}


def test_fingerprint_works_before_load_and_hashes_the_directory(gliner_dir: Path, tmp_path: Path) -> None:
    first = gliner(gliner_dir).fingerprint()
    assert first == gliner(gliner_dir).fingerprint() and "sha256=" in first
    assert first != gliner(gliner_dir, threshold=0.3).fingerprint()
    hub = gliner(Path("urchade/gliner_medium-v2.1")).fingerprint()
    assert "urchade/gliner_medium-v2.1@" in hub


def test_a_hub_name_with_local_files_only_fails_fast_with_one_line() -> None:
    adapter = gliner(Path("urchade/gliner_medium-v2.1"))
    with pytest.raises(ConfigError, match=r"cannot load 'urchade/gliner_medium-v2\.1'"):
        adapter.load()


def test_nerbench_run_uses_the_local_model(gliner_dir: Path, write_suite: SuiteWriter, tmp_path: Path) -> None:
    model = {"name": "tiny-gliner", "adapter": "gliner", "model": str(gliner_dir), "local_files_only": True,
             "threshold": 0.0}  # fmt: skip
    nerbench("run", write_suite([model]), "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    news = cell(results(tmp_path / "run"), "tiny-gliner", "news")
    assert news["failures"]["failed_docs"] == 0
    assert news["metrics"]["counts"]["gold"] == 48 and news["metrics"]["counts"]["invalid"] == 0
