"""The rules adapter against the real spaCy EntityRuler, with pattern files written per test."""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.adapters.models.rules import RulesAdapter, resolve_overlaps
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.types import Span, TextInput

pytest.importorskip("spacy")

PATTERNS = [
    {"label": "ORG", "pattern": "Acme Corp", "id": "acme"},
    {"label": "LOC", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}]},
    {"label": "PER", "pattern": [{"LOWER": {"IN": ["dr.", "dr"]}}, {"IS_TITLE": True}]},
]


REGEX = [{"label": "X", "pattern": "x"}]


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def _rules(tmp_path: Path, patterns: list[Any] | None = None, **options: Any) -> RulesAdapter:
    if patterns is not None:
        options.setdefault("patterns", str(_write_jsonl(tmp_path / "patterns.jsonl", patterns)))
    adapter = RulesAdapter(ModelConfig(name="r", adapter="rules", options=options))
    adapter.load()
    return adapter


def _found(
    adapter: RulesAdapter, text: str, tokens: tuple[tuple[int, int], ...] | None = None
) -> list[tuple[str, str]]:
    (spans,) = adapter.predict([TextInput("d", text, tokens)])
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
    return [(text[s.start : s.end], s.label) for s in spans]


def test_phrase_token_and_regex_patterns_find_their_entities(tmp_path: Path) -> None:
    regex = [{"label": "EMAIL", "pattern": r"[\w.]+@[\w.]+\.\w+"}]
    adapter = _rules(tmp_path, PATTERNS, regex=regex)
    text = "Dr. Smith of Acme Corp moved to NEW York; mail dr.smith@acme.com today."
    assert _found(adapter, text) == [
        ("Dr. Smith", "PER"),
        ("Acme Corp", "ORG"),
        ("NEW York", "LOC"),
        ("dr.smith@acme.com", "EMAIL"),
    ]
    assert adapter.labels() == {"ORG", "LOC", "PER", "EMAIL"}


def test_phrase_matcher_attr_lower_matches_any_case(tmp_path: Path) -> None:
    exact = _rules(tmp_path, PATTERNS)
    lower = _rules(tmp_path, [{"label": "ORG", "pattern": "acme corp"}], phrase_matcher_attr="LOWER")
    assert _found(exact, "ACME CORP and Acme Corp") == [("Acme Corp", "ORG")]
    assert _found(lower, "ACME CORP and Acme Corp") == [("ACME CORP", "ORG"), ("Acme Corp", "ORG")]


def test_regex_flags_and_a_regex_file_in_yaml(tmp_path: Path) -> None:
    regex_file = tmp_path / "regex.yaml"
    regex_file.write_text("- label: PRODUCT\n  pattern: 'widget-\\d+'\n  flags: i\n", encoding="utf-8")
    adapter = _rules(tmp_path, regex=str(regex_file))
    assert _found(adapter, "Buy WIDGET-42 or widget-7.") == [("WIDGET-42", "PRODUCT"), ("widget-7", "PRODUCT")]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("longest", [("Acme Corp Holdings", "HOLDING"), ("Acme", "ORG")]),
        ("ruler", [("Acme Corp", "ORG"), ("Acme", "ORG")]),
        ("regex", [("Acme Corp Holdings", "HOLDING"), ("Acme", "TICKER")]),
    ],
)
def test_overlap_policy_decides_between_ruler_and_regex(
    tmp_path: Path, policy: str, expected: list[tuple[str, str]]
) -> None:
    regex = [
        {"label": "HOLDING", "pattern": r"Acme Corp Holdings"},
        {"label": "TICKER", "pattern": r"\bAcme\b(?! Corp)"},
    ]
    patterns = [{"label": "ORG", "pattern": "Acme Corp"}, {"label": "ORG", "pattern": "Acme"}]
    adapter = _rules(tmp_path, patterns, regex=regex, overlap=policy)
    assert _found(adapter, "Acme Corp Holdings bought Acme.") == expected


def test_longest_policy_gives_a_tie_to_the_ruler() -> None:
    text = "Acme Corp"
    candidates = [(0, 9, "FROM_REGEX", 1), (0, 9, "FROM_RULER", 0), (0, 4, "SHORT", 1)]
    assert resolve_overlaps(text, candidates, "longest") == [Span(0, 9, "FROM_RULER")]


def test_offsets_are_exact_after_non_ascii_and_emoji(tmp_path: Path) -> None:
    regex = [{"label": "MONEY", "pattern": r"€\s?\d+"}]
    adapter = _rules(tmp_path, PATTERNS, regex=regex)
    text = "Zoë 👩\u200d💻 and Ünïcödé 🎉🎉 met Acme Corp\t\tin new   york for € 30 𝔘"
    found = _found(adapter, text)
    assert ("Acme Corp", "ORG") in found
    assert ("€ 30", "MONEY") in found
    (spans,) = adapter.predict([TextInput("d", text)])
    assert spans[0].start == text.index("Acme Corp")


def test_gold_tokens_with_irregular_whitespace_map_back_exactly(tmp_path: Path) -> None:
    adapter = _rules(tmp_path, PATTERNS)
    text = "  Acme\t\tCorp \n\n opened in\u00a0New    York ."
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text))
    assert _found(adapter, text, tokens) == [("Acme\t\tCorp", "ORG"), ("New    York", "LOC")]


def test_gold_tokens_drive_token_patterns(tmp_path: Path) -> None:
    adapter = _rules(tmp_path, [{"label": "ADJ", "pattern": [{"TEXT": "York-based"}]}])
    text = "a York-based firm"
    assert _found(adapter, text, ((0, 1), (2, 12), (13, 17))) == [("York-based", "ADJ")]
    assert _found(adapter, text) == []  # spaCy's own tokenizer splits the hyphen


def test_bad_gold_tokens_are_an_input_error(tmp_path: Path) -> None:
    adapter = _rules(tmp_path, PATTERNS)
    with pytest.raises(InputError, match="gold token 1"):
        adapter.predict([TextInput("d", "Acme Corp", ((0, 4), (2, 9)))])


def test_a_missing_pattern_file_names_the_model_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    adapter = RulesAdapter(ModelConfig(name="myrules", adapter="rules", options={"patterns": str(missing)}))
    with pytest.raises(ConfigError, match=r"myrules.*nope\.jsonl"):
        adapter.load()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not a JSON object"),
        ('{"pattern": "x"}', "'label'"),
        ('{"label": "X", "pattern": 3}', "'pattern'"),
        ('{"label": "X", "pattern": [{"NOT_AN_ATTR": "x"}]}', "invalid token pattern"),
    ],
)
def test_a_malformed_pattern_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"label": "ORG", "pattern": "Acme"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=problem) as err:
        RulesAdapter(ModelConfig(name="r", adapter="rules", options={"patterns": str(path)})).load()
    assert err.value.path == str(path)
    assert err.value.line == 3


def test_an_invalid_regex_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid regular expression '\(unclosed'"):
        _rules(tmp_path, regex=[{"label": "X", "pattern": "(unclosed"}])
    with pytest.raises(ConfigError, match="flags"):
        _rules(tmp_path, regex=[{"label": "X", "pattern": "x", "flags": "q"}])


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'patterns', 'regex' or both"):
        RulesAdapter(ModelConfig(name="r", adapter="rules"))
    with pytest.raises(ConfigError, match="overlap"):
        RulesAdapter(ModelConfig(name="r", adapter="rules", options={"regex": REGEX, "overlap": "first"}))
    with pytest.raises(ConfigError, match=r"phrase_matcher_attr|NOPE"):
        _rules(tmp_path, PATTERNS, phrase_matcher_attr="NOPE")


def test_a_missing_spacy_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)
    with pytest.raises(MissingExtraError, match=r"nerbench\[rules\]"):
        _rules(tmp_path, PATTERNS)


def test_found_through_the_registry_with_usage_and_fingerprint(tmp_path: Path) -> None:
    patterns = _write_jsonl(tmp_path / "p.jsonl", PATTERNS)
    config = ModelConfig(name="r", adapter="rules", options={"patterns": [str(patterns)]})
    adapter = create_adapter(config)
    assert isinstance(adapter, RulesAdapter)
    assert (adapter.family, adapter.trains) == ("rules", False)
    before = adapter.fingerprint()
    adapter.load()
    texts = ["Acme Corp", "", "new york", "nothing here"]
    results = adapter.predict([TextInput(str(i), t) for i, t in enumerate(texts)])
    assert [[s.label for s in spans] for spans in results] == [["ORG"], [], ["LOC"], []]
    assert adapter.usage().requests == 1
    assert adapter.usage().characters == sum(map(len, texts))
    assert adapter.fingerprint() == before
    assert before.startswith("rules:")
    assert adapter.describe()["ruler_patterns"] == "3"
    _write_jsonl(patterns, [*PATTERNS, {"label": "X", "pattern": "x"}])
    assert adapter.fingerprint() != before


_WORDS = ["Acme", " Corp", "acme corp", "New", " york", "Dr.", " Smith", "€", "30"]
_ODD = ["é", "🙂", "👩\u200d💻", "\t", "  ", "\n", "\u00a0"]
_PIECES = st.sampled_from([*_WORDS, *_ODD])


@pytest.fixture(scope="module")
def by_policy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RulesAdapter]:
    regex = [{"label": "MONEY", "pattern": r"\s*€\s*\d*\s*"}]
    folder = tmp_path_factory.mktemp("patterns")
    return {policy: _rules(folder, PATTERNS, regex=regex, overlap=policy) for policy in ("longest", "ruler", "regex")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_PIECES, max_size=30).map("".join), st.booleans(), st.sampled_from(["longest", "ruler", "regex"]))
def test_spans_are_always_inside_the_text_and_trimmed(
    by_policy: dict[str, RulesAdapter], text: str, gold: bool, policy: str
) -> None:
    tokens = tuple((m.start(), m.end()) for m in re.finditer(r"\S+", text)) if gold else None
    (spans,) = by_policy[policy].predict([TextInput("h", text, tokens)])
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == text[s.start : s.end].strip()
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
