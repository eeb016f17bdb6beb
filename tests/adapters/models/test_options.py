"""Declared adapter options: parsing, the messages of every kind of mistake, and every adapter's declaration."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nerbench.adapters.models import adapter_class, adapter_names
from nerbench.adapters.models.crf import CrfOptions
from nerbench.adapters.models.options import (
    AdapterOptions,
    OptionError,
    about,
    describe_options,
    option_names,
    parse_options,
    validate_options,
)
from nerbench.adapters.models.remote import RemoteOptions
from nerbench.adapters.models.rules import OVERLAP_POLICIES, RulesOptions
from nerbench.adapters.models.subwords import STRATEGIES
from nerbench.adapters.models.transformers_ner import TransformersOptions
from nerbench.labels import VOCABULARIES, VOCABULARY_NAMES


@dataclass(frozen=True, kw_only=True)
class Inner(AdapterOptions):
    elsewhere: ClassVar[dict[str, str]] = {"train": "give it to the model"}

    size: int = field(default=1, metadata=about("a size", ge=1))


@dataclass(frozen=True, kw_only=True)
class Sample(AdapterOptions):
    name: str = field(metadata=about("required"))
    rate: float = field(default=0.5, metadata=about("a probability", ge=0, le=1))
    count: int = field(default=3, metadata=about("a count", ge=0))
    flag: bool = field(default=False, metadata=about("a switch"))
    mode: Literal["fast", "slow"] = field(default="fast", metadata=about("how"))
    path: Path | None = field(default=None, metadata=about("a file"))
    tags: tuple[str, ...] = field(default=(), metadata=about("strings"))
    table: dict[str, int] = field(default_factory=dict, metadata=about("name -> number"))
    inner: Inner | None = field(default=None, metadata=about("nested"))
    timeout: float = field(default=1.0, metadata=about("seconds", gt=0))


def problem(raw: dict[str, Any], cls: type[AdapterOptions] = Sample) -> OptionError:
    with pytest.raises(OptionError) as caught:
        parse_options(cls, raw, where="model 'm' (adapter x)")
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_valid_mapping_becomes_the_typed_instance() -> None:
    parsed = parse_options(
        Sample,
        {"name": "n", "rate": 1, "count": 0, "flag": True, "mode": "slow", "path": "a/b.txt", "tags": ["x", "y"],
         "table": {"a": 1}, "inner": {"size": 4}, "timeout": 2},
    )  # fmt: skip
    assert parsed == Sample(name="n", rate=1.0, count=0, flag=True, mode="slow", path=Path("a/b.txt"),
                            tags=("x", "y"), table={"a": 1}, inner=Inner(size=4), timeout=2.0)  # fmt: skip
    assert isinstance(parsed.rate, float) and isinstance(parsed.timeout, float)
    assert parse_options(Sample, {"name": "n"}) == Sample(name="n")


def test_an_unknown_option_suggests_the_nearest_and_lists_them_all() -> None:
    err = problem({"name": "n", "rat": 0.1})
    assert err.key == ("rat",)
    assert str(err).startswith("model 'm' (adapter x): unknown option 'rat' (did you mean 'rate'?)")
    assert ", ".join(option_names(Sample)) in str(err)
    far = problem({"name": "n", "frobnicate": 3})
    assert "did you mean" not in str(far) and far.key == ("frobnicate",)


def test_nested_options_are_checked_with_their_path() -> None:
    err = problem({"name": "n", "inner": {"sise": 2}})
    assert err.key == ("inner", "sise") and "'inner.sise' (did you mean 'size'?)" in str(err)
    assert problem({"name": "n", "inner": {"size": 0}}).key == ("inner", "size")
    moved = problem({"name": "n", "inner": {"train": "x"}})
    assert "'inner.train' is not an option here: give it to the model" in str(moved)
    assert problem({"name": "n", "inner": 3}).key == ("inner",)


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"rate": "abc"}, ("rate",), "must be a number, got 'abc'"),
        ({"rate": True}, ("rate",), "must be a number, got True"),
        ({"count": 2.5}, ("count",), "must be an integer, got 2.5"),
        ({"count": True}, ("count",), "must be an integer, got True"),
        ({"flag": "no"}, ("flag",), "must be true or false (a YAML boolean), got 'no'"),
        ({"flag": 1}, ("flag",), "must be true or false"),
        ({"mode": "medium"}, ("mode",), "must be one of fast, slow, got 'medium'"),
        ({"mode": True}, ("mode",), "must be one of fast, slow"),
        ({"path": 3}, ("path",), "must be a path"),
        ({"tags": ["x", 3]}, ("tags", 1), "'tags[1]' must be a string, got 3"),
        ({"tags": "x"}, ("tags",), "must be a list of strings"),
        ({"table": {"a": "b"}}, ("table", "a"), "'table.a' must be an integer"),
        ({"rate": 1.5}, ("rate",), "must be at most 1, got 1.5"),
        ({"count": -1}, ("count",), "must be at least 0, got -1"),
        ({"timeout": 0}, ("timeout",), "must be greater than 0, got 0"),
        ({"rate": math.nan}, ("rate",), "must be a finite number"),
        ({"timeout": math.inf}, ("timeout",), "must be a finite number"),
    ],
)
def test_a_wrong_value_names_the_option_the_expected_type_and_the_value(
    raw: dict[str, Any], key: tuple[str | int, ...], words: str
) -> None:
    err = problem({"name": "n", **raw})
    assert err.key == key and words in str(err)


def test_a_missing_required_option_is_named() -> None:
    assert "option 'name' is required" in str(problem({}))


@given(st.integers(min_value=0, max_value=10**6))
def test_an_int_is_accepted_for_a_float_and_becomes_one(value: int) -> None:
    parsed = parse_options(CrfOptions, {"c1": value, "c2": value})
    assert parsed.c1 == float(value) and type(parsed.c1) is float


@given(st.booleans() | st.text(max_size=5) | st.floats(allow_nan=False).filter(lambda x: not x.is_integer()))
def test_anything_but_an_int_is_refused_for_an_int(value: Any) -> None:
    with pytest.raises(OptionError) as caught:
        parse_options(CrfOptions, {"max_iterations": value})
    assert caught.value.key == ("max_iterations",)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_a_key_that_is_no_option_is_refused_naming_it(key: str) -> None:
    assume(key not in option_names(CrfOptions))
    with pytest.raises(OptionError, match=f"unknown option {key!r}") as caught:
        parse_options(CrfOptions, {"c1": 0.5, key: 0.5})
    assert caught.value.key == (key,)


def test_checks_across_options_run_on_every_parse() -> None:
    assert "give option 'patterns', 'regex' or both" in str(problem({}, RulesOptions))
    assert "give either option 'model' or 'finetune'" in str(problem({}, TransformersOptions))
    assert "give either option 'model' or 'finetune'" in str(problem({"model": "x", "finetune": {"base": "y"}},
                                                                     TransformersOptions))  # fmt: skip


def test_check_finds_what_needs_the_file_system(tmp_path: Path) -> None:
    regex = tmp_path / "regex.yaml"
    regex.write_text("- {label: X, pattern: 'a+'}\n- {label: Y, pattern: '(b'}\n", encoding="utf-8")
    with pytest.raises(OptionError, match=r"regex\.yaml entry 1: invalid regular expression '\(b'") as caught:
        validate_options(adapter_class("rules"), {"regex": str(regex)})
    assert caught.value.key == ("regex",)
    with pytest.raises(OptionError, match="no file at") as caught:
        validate_options(adapter_class("rules"), {"patterns": [str(regex), str(tmp_path / "nope.jsonl")]})
    assert caught.value.key == ("patterns", 1)
    with pytest.raises(OptionError, match="no file at"):
        validate_options(adapter_class("crf"), {"model": str(tmp_path / "missing.crfsuite")})
    with pytest.raises(OptionError, match="http:// or https:// URL"):
        validate_options(adapter_class("llm"), {"base_url": "localhost:8000", "model": "m"})
    regex.write_text("- {label: X, pattern: 'a+'}\n", encoding="utf-8")
    assert validate_options(adapter_class("rules"), {"regex": str(regex)}) is not None


def test_an_adapter_without_declared_options_passes_them_through_unchecked() -> None:
    assert validate_options(adapter_class("tests.fakes:Capitalised"), {"anything": [1, 2]}) is None
    with pytest.raises(OptionError, match="did you mean 'load_delay'"):
        validate_options(adapter_class("tests.fakes:Declared"), {"load_dely": 1})


def test_every_remote_adapter_shares_the_remote_options() -> None:
    for name in ("aws-comprehend", "google-language", "ibm-nlu", "llm"):
        assert issubclass(adapter_class(name).Options, RemoteOptions), name  # type: ignore[attr-defined]
    shared = {"concurrency", "request_timeout_s", "max_retries", "backoff_s", "max_backoff_s"}
    assert set(option_names(RemoteOptions)) == shared


def test_every_registered_adapter_declares_options_with_help() -> None:
    for name in adapter_names():
        cls = adapter_class(name)
        options = getattr(cls, "Options", None)
        assert isinstance(options, type) and issubclass(options, AdapterOptions), name
        assert dataclasses.is_dataclass(options) and options.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
        for info in describe_options(options):
            assert info.help and "\n" not in info.help, (name, info.name)


def test_literal_choices_match_the_code_that_uses_them() -> None:
    assert get_args(typing.get_type_hints(TransformersOptions)["aggregation"]) == STRATEGIES
    assert get_args(typing.get_type_hints(RulesOptions)["overlap"]) == OVERLAP_POLICIES


EXPECTED_VOCABULARIES = {
    "rules": "open", "crf": "open", "spacy": "ontonotes", "transformers": "open", "gliner": "open", "flair": "conll",
    "stanza": "ontonotes", "corenlp": "corenlp", "aws-comprehend": "comprehend", "google-language": "google",
    "ibm-nlu": "watson", "llm": "open",
}  # fmt: skip


def test_every_adapter_declares_a_known_vocabulary_matching_its_fixed_labels() -> None:
    assert set(adapter_names()) == set(EXPECTED_VOCABULARIES)
    for name in adapter_names():
        cls = adapter_class(name)
        vocabulary = getattr(cls, "vocabulary", None)
        assert vocabulary in VOCABULARY_NAMES and vocabulary == EXPECTED_VOCABULARIES[name], name
        fixed = getattr(cls, "native_labels", None)
        if fixed is not None:
            assert fixed == VOCABULARIES[vocabulary], name
