"""The CRF adapter against the real sklearn-crfsuite, trained on a generated corpus."""

from __future__ import annotations

import itertools
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.crf import CrfAdapter, training_sequences, word_shape
from nerbench.adapters.models.tokenize import sentences, split_at, word_spans
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.scoring import score
from nerbench.types import Document, Span, TextInput

pytest.importorskip("sklearn_crfsuite")

PEOPLE = ["Anna Schmidt", "José Álvarez", "Chloé Martin", "Dmitri Ivanov", "Elif Yılmaz", "Kenji Sato", "Mary Jones",
          "Ola Nordmann", "Priya Patel", "Tomás Novák", "Zoë Clarke", "Ahmed Hassan"]  # fmt: skip
PLACES = ["Paris", "Berlin", "São Paulo", "New York", "Kraków", "Zürich", "Tokyo", "Lagos", "Oslo", "Québec"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Inc", "Stark Industries", "Wayne Enterprises", "Nordisk AB"]
TEMPLATES = [
    "{PER} flew to {LOC} on Monday.",
    "{PER} joined {ORG} last year.",
    "{ORG} opened a new office in {LOC}.",
    "Yesterday {PER} met {PER} in {LOC}.",
    "The CEO of {ORG} , {PER} , lives in {LOC} .",
    "Shares of {ORG} fell after {PER} resigned.",
    "{LOC} welcomed {PER} with a parade.",
    "According to {PER}, {ORG} will hire 300 people in {LOC}.",
]
FILLERS = {"PER": PEOPLE, "LOC": PLACES, "ORG": COMPANIES}
UNSEEN = {
    "PER": ["Lena Fischer", "Omar Farouk", "Ivy Chen", "Rafael Souza"],
    "LOC": ["Lisbon", "Nairobi", "Córdoba"],
    "ORG": ["Hooli", "Vandelay Industries", "Soylent Corp"],
}


def make_document(rng: random.Random, doc_id: str, fillers: dict[str, list[str]]) -> Document:
    """One template sentence with random fillers, its spans recorded as it is built."""
    text, spans = "", []
    for part in re.split(r"(\{[A-Z]+\})", rng.choice(TEMPLATES)):
        if part.startswith("{"):
            label = part[1:-1]
            surface = rng.choice(fillers[label])
            spans.append(Span(len(text), len(text) + len(surface), label))
            text += surface
        else:
            text += part
    return Document(doc_id, text, tuple(spans))


def corpus(seed: int, n: int, fillers: dict[str, list[str]] = FILLERS) -> list[Document]:
    rng = random.Random(seed)
    return [make_document(rng, f"{seed}-{i}", fillers) for i in range(n)]


def crf(cache_dir: Path, **options: Any) -> CrfAdapter:
    adapter = CrfAdapter(ModelConfig(name="c", adapter="crf", options=options, cache_dir=cache_dir))
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> CrfAdapter:
    adapter = crf(tmp_path_factory.mktemp("cache"))
    adapter.fit(corpus(0, 200))
    return adapter


@pytest.mark.parametrize("fillers", [FILLERS, UNSEEN], ids=["seen-names", "unseen-names"])
def test_it_learns_the_corpus(trained: CrfAdapter, fillers: dict[str, list[str]]) -> None:
    held_out = corpus(1, 80, fillers)
    predictions = trained.predict([TextInput(d.id, d.text) for d in held_out])
    f1 = score(held_out, predictions).counts.f1
    assert f1 is not None and f1 > 0.7
    assert trained.labels() == {"PER", "LOC", "ORG"}
    assert trained.source == "trained"


def test_the_trained_model_is_cached_and_reused(tmp_path: Path) -> None:
    documents = corpus(0, 60)
    first = crf(tmp_path, max_iterations=30)
    first.fit(documents)
    assert first.model_file is not None and first.source == "trained"
    mtime = first.model_file.stat().st_mtime_ns
    second = crf(tmp_path, max_iterations=30)
    second.fit(documents)
    assert (second.model_file, second.source) == (first.model_file, "cache")
    assert second.model_file.stat().st_mtime_ns == mtime
    assert second.fingerprint() == first.fingerprint()
    third = crf(tmp_path, max_iterations=31)
    third.fit(documents)
    assert third.source == "trained" and third.model_file != first.model_file
    assert sorted(p.name.startswith("crf-") for p in tmp_path.iterdir()) == [True, True]  # no temporary left


def test_training_is_deterministic(tmp_path: Path) -> None:
    documents, texts = corpus(0, 60), [TextInput(d.id, d.text) for d in corpus(2, 20)]
    a, b = crf(tmp_path / "a", max_iterations=30), crf(tmp_path / "b", max_iterations=30)
    a.fit(documents)
    b.fit(documents)
    assert a.describe()["model_sha256"] == b.describe()["model_sha256"]
    assert a.predict(texts) == b.predict(texts) == a.predict(texts)


def test_a_given_model_file_is_used_without_training(trained: CrfAdapter, tmp_path: Path) -> None:
    assert trained.model_file is not None
    given_model = crf(tmp_path, model=str(trained.model_file))
    given_model.fit(corpus(5, 3))
    assert given_model.source == "file" and not any(tmp_path.iterdir())
    assert given_model.fingerprint() == f"crf:{trained.describe()['model_sha256']}"
    inputs = [TextInput(d.id, d.text) for d in corpus(3, 10)]
    assert given_model.predict(inputs) == trained.predict(inputs)
    with pytest.raises(ConfigError, match="no model file"):
        crf(tmp_path, model=str(tmp_path / "missing.crfsuite"))


def test_offsets_are_exact_around_non_ascii_emoji_and_tabs(trained: CrfAdapter) -> None:
    text = "👩\u200d💻 Ünïcödé —\tYesterday  Zoë Clarke met\t\tJosé Álvarez in São Paulo."
    (spans,) = trained.predict([TextInput("x", text)])
    found = {(text[s.start : s.end], s.label) for s in spans}
    assert {("Zoë Clarke", "PER"), ("José Álvarez", "PER"), ("São Paulo", "LOC")} <= found


def test_gold_tokens_are_used_and_map_back_exactly(trained: CrfAdapter) -> None:
    text = "Yesterday   Tomás Novák\tmet Mary   Jones in  New-York ."
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text))
    (spans,) = trained.predict([TextInput("x", text, tokens)])
    boundaries = {b for t in tokens for b in t}
    assert all(s.start in boundaries and s.end in boundaries for s in spans)
    found = {(text[s.start : s.end], s.label) for s in spans}
    assert {("Tomás Novák", "PER"), ("Mary   Jones", "PER")} <= found


def test_training_on_gold_tokens_splits_them_at_span_boundaries() -> None:
    text = "Visit Paris-Nord now"
    doc = Document("g", text, (Span(6, 11, "LOC"),), tokens=((0, 5), (6, 16), (17, 20)))
    ((features, tags),) = training_sequences(doc)
    assert [f["lower"] for f in features] == ["visit", "paris", "-nord", "now"]
    assert tags == ["O", "B-LOC", "O", "O"]


def test_training_sentences_never_cut_a_gold_span() -> None:
    text = "He met Dr. Ana Lima. Then Acme Widgets. Inc hired him.\nNext line"
    doc = Document("s", text, (Span(text.index("Acme"), text.index(" hired"), "ORG"),))
    assert [len(tags) for _, tags in training_sequences(doc)] == [7, 8, 2]
    assert [len(tags) for _, tags in training_sequences(doc, split=False)] == [17]
    no_span = Document("s", text)
    assert [len(tags) for _, tags in training_sequences(no_span)] == [7, 4, 4, 2]


def test_tokenizer_helpers() -> None:
    text = "U.S. stocks rose 3.5% in São Paulo! Then New-York."
    tokens = word_spans(text)
    assert [text[s:e] for s, e in tokens][:6] == ["U.S", ".", "stocks", "rose", "3.5", "%"]
    assert [(a, b) for a, b in sentences(text, tokens)] == [(0, 10), (10, 13)]
    assert split_at([(0, 10)], [3, 3, 10, 0]) == [(0, 3), (3, 10)]
    assert [word_shape(w) for w in ("McDonald", "1999", "Paris", "e-mail")] == ["XxXxxx", "ddd", "Xxxx", "x-xxx"]


def test_found_through_the_registry_with_usage(trained: CrfAdapter, tmp_path: Path) -> None:
    adapter = create_adapter(ModelConfig(name="c", adapter="crf", options={"model": str(trained.model_file)}))
    assert isinstance(adapter, CrfAdapter)
    assert (adapter.family, adapter.trains) == ("crf", True)
    adapter.load()
    adapter.predict([TextInput("a", "Anna Schmidt"), TextInput("b", "")])
    adapter.predict([TextInput("c", "Oslo")])
    assert (adapter.usage().requests, adapter.usage().characters) == (2, len("Anna Schmidt") + len("Oslo"))
    described = adapter.describe()
    assert described["labels"] == "3" and int(described["features"]) > 100
    assert {"sklearn-crfsuite", "python-crfsuite"} <= described.keys()


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="c1"):
        crf(tmp_path, c1=-1)
    with pytest.raises(ConfigError, match="max_iterations"):
        crf(tmp_path, max_iterations="many")
    with pytest.raises(ConfigError, match="no tokens"):
        crf(tmp_path).fit([Document("e", "   ")])
    with pytest.raises(InputError, match="training document 'b'"):
        crf(tmp_path).fit([Document("b", "ab cd", tokens=((0, 2), (1, 5)))])


def test_a_missing_library_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn_crfsuite", None)
    with pytest.raises(MissingExtraError, match=r"nerbench\[crf\]"):
        crf(tmp_path)


_ALPHABET = st.sampled_from(
    [*"abcXYZ019.,!?-'’", "é", "Ü", "ß", "İ", "\u0301", "🙂", "👩\u200d💻", "\t", " ", "  ", "\n", "\u00a0", "\u3000",
     "Paris", "Acme Corp", "José Álvarez", " in ", " met ", "Mr."]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ALPHABET, max_size=40).map("".join), st.booleans())
def test_spans_are_always_inside_the_text_and_trimmed(trained: CrfAdapter, text: str, gold: bool) -> None:
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text)) if gold else None
    (spans,) = trained.predict([TextInput("h", text, tokens)])
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        surface = text[s.start : s.end]
        assert surface == surface.strip()
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
