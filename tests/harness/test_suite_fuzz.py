"""The suite loader fuzzed: whatever a suite file holds, it loads cleanly or raises a NerbenchError, promptly.

Random bytes, truncations of a valid suite, a wrong YAML value (odd Unicode, huge or non-finite numbers,
nested collections) in every position of a valid suite, deep nesting and aliases (a "billion laughs"
included): never another exception, never a hang.
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nerbench.redact as redact
from nerbench.errors import NerbenchError
from nerbench.harness.suite import Suite, load_suite

WORK = Path(tempfile.mkdtemp(prefix="nerbench-fuzz-"))
(WORK / "news.jsonl").write_text('{"id": "d0", "text": "Ada flew.", "spans": []}\n', encoding="utf-8")
VALID: dict[str, Any] = {
    "name": "fuzz",
    "schema": {"PER": "a person", "LOC": "a place"},
    "datasets": [{"name": "news", "path": "news.jsonl", "scheme": "IOB2", "train": {"path": "news.jsonl"}}],
    "models": [
        {"name": "rules", "adapter": "rules", "regex": [{"label": "PER", "pattern": "Ada"}],
         "label_map": {"PERSON": "PER"}, "timeout_s": 30},
        {"name": "declared", "adapter": "tests.fakes:Declared", "load_delay": 0, "datasets": ["news"]},
    ],
    "settings": {"batch_size": 4, "bootstrap": 10, "seed": 1, "instance_usd_per_hour": 0.1},
    "pricing": {},
    "gate": {"min_f1": 0.5},
}  # fmt: skip
VALID_TEXT = yaml.safe_dump(VALID, allow_unicode=True, sort_keys=False) + "# Zürich 🙂\n"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.fixture(autouse=True)
def _forget_expanded_values() -> Iterator[None]:
    yield
    redact.forget()


@contextmanager
def _within(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the body takes longer than ``seconds``."""

    def hung(signum: int, frame: object) -> None:
        raise AssertionError(f"the suite loader took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(content: bytes) -> Suite | None:
    """Load ``content`` as a suite file: the suite, or None after a NerbenchError."""
    path = WORK / "suite.yaml"
    path.write_bytes(content)
    with _within(10):
        try:
            return load_suite(path)
        except NerbenchError as err:
            assert str(err)
            return None


def test_the_valid_suite_loads() -> None:
    suite = _load(VALID_TEXT.encode())
    assert suite is not None and [m.name for m in suite.models] == ["rules", "declared"]


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(content: bytes) -> None:
    _load(content)


@FUZZ
@given(st.integers(0, len(VALID_TEXT.encode())))
def test_truncations_of_a_valid_suite(cut: int) -> None:
    _load(VALID_TEXT.encode()[:cut])  # also cuts inside the multi-byte characters of the last line


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in the valid suite: each key's value and each list item, nested ones too."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(copy[path[0]], path[1:], new)  # type: ignore[index]
    return copy


ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda s: ":" not in s)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**15), st.integers(max_value=-(10**15)),
    st.floats(allow_nan=True, allow_infinity=True), ODD_TEXT, st.sampled_from(["${NERBENCH_FUZZ_UNSET}", "", " "]),
)  # fmt: skip
YAML_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_TEXT, inner, max_size=4), max_leaves=12
)


@FUZZ
@given(st.sampled_from(_paths(VALID)), YAML_VALUES)
def test_a_wrong_value_in_any_position(path: tuple[Any, ...], new: Any) -> None:
    _load(yaml.safe_dump(_replaced(VALID, path, new), allow_unicode=True).encode())


@FUZZ
@given(st.sampled_from(_paths(VALID)), ODD_TEXT, ODD_TEXT)
def test_odd_unicode_keys_and_values_anywhere(path: tuple[Any, ...], key: str, text: str) -> None:
    _load(yaml.safe_dump(_replaced(VALID, path, {key: text}), allow_unicode=True).encode())
    _load(yaml.safe_dump(_replaced(VALID, path, text), allow_unicode=True).encode())


@FUZZ
@given(st.integers(0, 400), st.sampled_from(["[", "{a: "]), st.sampled_from(["settings", "models", "schema"]))
def test_deep_nesting(depth: int, opener: str, where: str) -> None:
    closer = "]" if opener == "[" else "}"
    _load(VALID_TEXT.replace(f"{where}:", f"{where}: {opener * depth}x{closer * depth}\n_{where}:", 1).encode())


@FUZZ
@given(st.integers(1, 12), st.integers(1, 12), st.booleans(), st.sampled_from(["regex", "load_delay", "settings"]))
def test_aliases_and_alias_bombs(levels: int, fan_out: int, recursive: bool, where: str) -> None:
    anchors = "".join(f"  - &a{i} [{', '.join([f'*a{i - 1}'] * fan_out) if i else 'lol'}]\n" for i in range(levels)) + (
        "  - &r [1, *r]\n" if recursive else ""
    )
    option = f"    {where}:\n" + anchors.replace("  - ", "      - ") if where != "settings" else ""
    text = VALID_TEXT.replace("    adapter: rules\n", "    adapter: rules\n" + option, 1)
    if where == "settings":
        text += "x_anchors:\n" + anchors + f"x_use: *a{levels - 1}\n"
    _load(text.encode())
