"""A malformed suite file stops with one line naming the file, the line and the problem (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.harness.conftest import nerbench

GOOD_DATASET = "datasets:\n  - name: news\n    path: data/news.jsonl\n"
RULES = "    regex: [{label: X, pattern: x}]\n"  # a valid rules model's option


@pytest.mark.parametrize(
    ("suite", "needle", "line"),
    [
        (GOOD_DATASET + "models:\n  - name: m\n    adapter: spacyy\n", "unknown adapter 'spacyy'", 6),
        (
            "datasets:\n  - name: news\n    path: data/missing.jsonl\nmodels:\n  - {name: m, adapter: rules}\n",
            "does not exist",
            3,
        ),
        (GOOD_DATASET + "models: [\n", "invalid YAML", None),
        (
            "schema: {PER: a person, LOC: a place}\n"
            + GOOD_DATASET
            + "models:\n  - name: m\n    adapter: rules\n    label_map: {PERSON: PER, CITY: TOWN}\n"
            + RULES,
            "TOWN",
            8,
        ),
        (
            GOOD_DATASET + "models:\n  - name: m\n    adapter: rules\n" + RULES + "settings:\n  batch_size: many\n",
            "must be a number",
            9,
        ),
        (GOOD_DATASET + "modles: []\n", "unknown top-level key 'modles'", 4),
    ],
    ids=["unknown-adapter", "missing-path", "bad-yaml", "unknown-map-label", "bad-setting", "typo-key"],
)
def test_malformed_suite_is_one_line_exit_2(tmp_path: Path, suite: str, needle: str, line: int | None) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    proc = nerbench("run", path, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert needle in message and str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message
    assert not (tmp_path / "r.db").exists() or proc.returncode == 2


MODEL = (
    GOOD_DATASET + "models:\n  - name: first\n    adapter: rules\n    regex: [{label: X, pattern: x}]\n  - name: m\n"
)


@pytest.mark.parametrize(
    ("model", "needle", "line"),
    [
        ("    adapter: crf\n    c_1: 0.1\n", "unknown option 'c_1' (did you mean 'c1'?): the options are c1, c2", 10),
        ("    adapter: crf\n    frobnicate: 3\n", "unknown option 'frobnicate': the options are c1", 10),
        ("    adapter: crf\n    c1: abc\n", "option 'c1' must be a number, got 'abc'", 10),
        ("    adapter: crf\n    max_iterations: yes\n", "option 'max_iterations' must be an integer, got True", 10),
        ("    adapter: rules\n    regex:\n      - {label: A, pattern: a}\n      - {label: B, pattern: '(b'}\n",
         "invalid regular expression '(b'", 12),
        ("    adapter: rules\n    patterns: rules/missing.jsonl\n", "option 'patterns': no file at", 10),
        ("    adapter: rules\n" + RULES + "    overlap: first\n", "must be one of longest, ruler, regex", 11),
        ("    adapter: transformers\n    finetune:\n      base: b\n      epoch: 3\n",
         "unknown option 'finetune.epoch' (did you mean 'epochs'?)", 12),
        ("    adapter: nosuch.module:Class\n", "cannot import adapter 'nosuch.module:Class'", 9),
        ("    adapter: tests.fakes:Declared\n    load_dely: 1\n", "did you mean 'load_delay'?", 10),
        ("    adapter: rules\n" + RULES + "    timeout_s: 0\n", "'timeout_s' must be a number of seconds above 0", 11),
        ("    adapter: rules\n" + RULES + "    timeout_s: .nan\n", "'timeout_s' must be a number", 11),
        ("    adapter: rules\n" + RULES + "    gold_tokens: 'no'\n", "'gold_tokens' must be true or false", 11),
        ("    adapter: rules\n" + RULES + "    python: 3\n", "'python' must be the path of a Python interpreter", 11),
        ("    adapter: rules\n" + RULES + "    vocabulary: conl\n", "vocabulary 'conl' (did you mean 'conll'?)", 11),
    ],
    ids=["typo-did-you-mean", "unknown-option", "wrong-type", "string-bool-for-int", "bad-regex",
         "missing-patterns-file", "not-allowed", "nested-typo", "unimportable-adapter", "declared-third-party",
         "timeout-zero", "timeout-nan", "quoted-bool", "python-not-a-path", "unknown-vocabulary"],
)  # fmt: skip
def test_a_bad_model_entry_stops_before_anything_runs(tmp_path: Path, model: str, needle: str, line: int) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(MODEL + model, encoding="utf-8")
    for command in (("run", path, "--store", tmp_path / "r.db"), ("estimate", path)):
        proc = nerbench(*command, cwd=tmp_path, check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        message = proc.stderr.strip()
        assert len(message.splitlines()) == 1 and "Traceback" not in message, message
        assert f"{path}:{line}:" in message and needle in message and "model 'm'" in message, message
    assert not (tmp_path / "r.db").exists()


def test_a_bad_later_model_means_no_model_was_loaded(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    log = tmp_path / "calls.log"
    path = tmp_path / "suite.yaml"
    path.write_text(
        GOOD_DATASET + "models:\n"
        f"  - {{name: paid, adapter: 'tests.fakes:Capitalised', call_log: '{log}'}}\n"
        f"  - {{name: strict, adapter: 'tests.fakes:Declared', call_log: '{log}'}}\n"
        "  - name: crf\n    adapter: crf\n    c_1: 0.1\n",
        encoding="utf-8",
    )
    proc = nerbench("run", path, "--store", tmp_path / "r.db", "--out", tmp_path / "run", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and f"{path}:9:" in proc.stderr and "did you mean 'c1'" in proc.stderr
    assert not log.exists() or not log.read_text(encoding="utf-8").strip()
    assert not (tmp_path / "run").exists()


def test_a_class_importable_only_under_its_own_interpreter_is_checked_there(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    python = tmp_path / "other-python"
    python.symlink_to(sys.executable)
    path = tmp_path / "suite.yaml"
    path.write_text(
        GOOD_DATASET + f"models:\n  - name: m\n    adapter: 'nosuch_pkg_xyz:Model'\n    python: '{python}'\n"
        "  - name: skipped\n    adapter: 'nosuch_pkg_xyz:Model'\n    if_installed: [nosuch_pkg_xyz]\n",
        encoding="utf-8",
    )
    proc = nerbench("estimate", path, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and f"{path}:6:" in proc.stderr, proc.stderr
    assert f"cannot import adapter 'nosuch_pkg_xyz:Model' with {python}" in proc.stderr
    text = path.read_text(encoding="utf-8")
    text = text.replace(f"    python: '{python}'\n", f"    python: '{python}'\n    if_installed: [nosuch_pkg_xyz]\n")
    path.write_text(text, encoding="utf-8")
    assert nerbench("estimate", path, cwd=tmp_path, check=False).returncode == 0  # left to the runner: skipped
