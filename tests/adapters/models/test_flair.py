"""The flair adapter against the real flair library, on a small tagger trained locally for seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.flair_ner import FlairAdapter
from nerbench.adapters.models.tokenize import word_spans
from nerbench.types import TextInput
from tests.adapters.models.local_models import messy_texts
from tests.harness.conftest import SuiteWriter, cell, nerbench, results

pytest.importorskip("flair")


def flair(model: Path | str, **options: Any) -> FlairAdapter:
    found = create_adapter(ModelConfig(name="f", adapter="flair", options={"model": str(model), **options}))
    assert isinstance(found, FlairAdapter)
    return found


@pytest.fixture(scope="module")
def tagger(flair_model: Path) -> FlairAdapter:
    adapter = flair(flair_model, mini_batch_size=4)
    adapter.load()
    return adapter


def test_it_tags_unknown_words_where_names_stood(tagger: FlairAdapter) -> None:
    text = "Yesterday Qwerty Zxcvb flew to Lkjhg 🙂 ."
    spans = tagger.predict([TextInput("d", text)])[0]
    assert (text[spans[0].start : spans[0].end], spans[0].label) == ("Qwerty Zxcvb", "PER")
    assert tagger.labels() == {"PER", "LOC"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messy_texts())
def test_every_span_covers_exactly_the_tokens_flair_tagged(tagger: FlairAdapter, text: str) -> None:
    from flair.data import Sentence

    spans = tagger.predict([TextInput("d", text)])[0]
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    tokens = word_spans(text)
    starts, ends = {s for s, _ in tokens}, {e for _, e in tokens}
    assert all(s.start in starts and s.end in ends for s in spans)
    # the same tokens tagged by flair directly, one sentence for the whole text
    whole = flair(tagger.model_name, split_sentences=False)
    whole._tagger, whole._sentence = tagger._tagger, Sentence
    direct = Sentence([text[s:e] for s, e in tokens])
    if tokens:
        tagger._tagger.predict(direct)
    reported = [(" ".join(t.text for t in sp.tokens), sp.tag) for sp in direct.get_spans("ner")]
    mine = whole.predict([TextInput("d", text)])[0]
    assert [(" ".join(text[a:b] for a, b in tokens if s.start <= a and b <= s.end), s.label) for s in mine] == reported


def test_gold_tokens_are_used_as_given(tagger: FlairAdapter) -> None:
    text = "Yesterday Qwerty-Zxcvb flew to Lkjhg."
    tokens = ((0, 9), (10, 22), (23, 27), (28, 30), (31, 36), (36, 37))
    spans = tagger.predict([TextInput("d", text, tokens)])[0]
    assert all((s.start, s.end) != (10, 16) for s in spans)  # never a piece of a gold token
    assert {s.start for s in spans} <= {t[0] for t in tokens} and {s.end for s in spans} <= {t[1] for t in tokens}


def test_empty_inputs_give_empty_lists(tagger: FlairAdapter) -> None:
    assert tagger.predict([TextInput("a", ""), TextInput("b", " \t\n ")]) == [[], []]


def test_fingerprint_works_before_load(flair_model: Path) -> None:
    assert flair(flair_model).fingerprint() == flair(flair_model).fingerprint()
    assert "sha256=" in flair(flair_model).fingerprint()
    assert "flair/ner-english@0.15.1" in flair("flair/ner-english").fingerprint()


def test_nerbench_run_uses_the_local_model(flair_model: Path, write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "tiny-flair", "adapter": "flair", "model": str(flair_model)}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    news = cell(results(tmp_path / "run"), "tiny-flair", "news")
    assert news["failures"]["failed_docs"] == 0 and news["metrics"]["counts"]["invalid"] == 0
