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
        ("    adapter: spacy\n    model: en_core_web_nope\n",
         "'en_core_web_nope' (option 'model') is not installed: install it, or fix the name", 10),
    ],
    ids=["typo-did-you-mean", "unknown-option", "wrong-type", "string-bool-for-int", "bad-regex",
         "missing-patterns-file", "not-allowed", "nested-typo", "unimportable-adapter", "declared-third-party",
         "timeout-zero", "timeout-nan", "quoted-bool", "python-not-a-path", "unknown-vocabulary",
         "spacy-package-not-installed"],
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


# ---------------------------------------------------------------- values that used to crash, hang or be accepted

RULES_MODEL = "models:\n  - name: m\n    adapter: rules\n" + RULES  # lines 4-7 after GOOD_DATASET
BOMB = "".join(
    f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n" for i in range(10)
)  # a "billion laughs": 9^10 values from ten lines


@pytest.mark.parametrize(
    ("suite", "needle", "line"),
    [
        ("name: a\x00b\n" + GOOD_DATASET + RULES_MODEL, "unacceptable character U+0000", 1),
        ("datasets:\n  - name: news\n    path: data/news.jsonl\n    scheme: 5\n" + RULES_MODEL,
         "reader option 'scheme' must be a string, got 5", 4),
        ("datasets:\n  - name: news\n    path: data/news.jsonl\n    tag_column: abc\n" + RULES_MODEL,
         "reader option 'tag_column' must be an integer, got 'abc'", 4),
        ("datasets:\n  - name: news\n    path: data/news.jsonl\n    options: {group: paragraph}\n" + RULES_MODEL,
         "unknown grouping 'paragraph'", 2),
        ("datasets:\n  - name: news\n    path: data/news.jsonl\n    options: {tag_colum: 2}\n" + RULES_MODEL,
         "unknown reader option 'tag_colum'", 4),
        ("datasets:\n  - name: news\n    path: data/news.jsonl\n    format: 5\n" + RULES_MODEL, "unknown format 5", 4),
        (GOOD_DATASET + RULES_MODEL + "settings:\n  instance_usd_per_hour: .nan\n",
         "setting 'instance_usd_per_hour' must be a finite number", 9),
        (GOOD_DATASET + RULES_MODEL + "settings:\n  timeout_s: .inf\n", "setting 'timeout_s' must be a finite", 9),
        (GOOD_DATASET + RULES_MODEL + "settings:\n  bootstrap: 1000000000000\n",
         "setting 'bootstrap' must be at most 100,000, got 1,000,000,000,000", 9),
        (GOOD_DATASET + RULES_MODEL + "settings:\n  latency_samples: 10000000000\n",
         "setting 'latency_samples' must be at most 100,000", 9),
        (GOOD_DATASET + RULES_MODEL + "settings:\n  max_failed_share: 2\n", "must be at most 1", 9),
        (GOOD_DATASET + "models:\n  - name: m\n    adapter: rules\n    regex:\n" + BOMB,
         "its aliases expand it to", None),
        (GOOD_DATASET + "x: &a [1, *a]\n", "an alias refers to a value that contains it", 4),
        (GOOD_DATASET + RULES_MODEL + "settings: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64", None),
        (GOOD_DATASET + RULES_MODEL + "    timeout_s: soon\n", "'timeout_s' must be a number of seconds", 8),
        (GOOD_DATASET + RULES_MODEL + "    timeout_s: 1e300\n", "at most 2,592,000 (30 days)", 8),
        (GOOD_DATASET + RULES_MODEL + "    python: 5\n", "'python' must be the path of a Python interpreter", 8),
        ("schema: [PER]\n" + GOOD_DATASET + RULES_MODEL + "    label_map: {PERSON: \"A\\nB\"}\n",
         "label map sends labels to A\\nB, which", 9),
    ],
    ids=["nul-byte", "scheme-number", "tag-column-text", "bad-grouping", "unknown-reader-option", "format-number",
         "setting-nan", "setting-inf", "bootstrap-huge", "latency-samples-huge", "share-over-one", "alias-bomb",
         "recursive-alias", "deep-nesting", "timeout-soon", "timeout-huge", "python-number", "newline-in-a-value"],
)  # fmt: skip
def test_a_value_that_crashed_or_hung_is_one_line_exit_2(
    tmp_path: Path, suite: str, needle: str, line: int | None
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    for command in (("run", path, "--store", tmp_path / "r.db"), ("estimate", path)):
        proc = nerbench(*command, cwd=tmp_path, check=False, timeout=60)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        message = proc.stderr.strip()
        assert len(message.splitlines()) == 1 and "Traceback" not in message, message
        assert needle in message and str(path) in message, message
        if line is not None:
            assert f"{path}:{line}:" in message, message
    assert not (tmp_path / "r.db").exists()


def test_a_directory_given_as_the_suite_is_one_line(tmp_path: Path) -> None:
    proc = nerbench("run", tmp_path, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert (
        proc.returncode == 2
        and proc.stderr == f"nerbench: error: {tmp_path}: is a directory: give the suite's YAML file\n"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "SUITE", "--limit", "-1"), "--limit must be a number of documents, at least 1, got -1"),
        (("run", "SUITE", "--limit", "0"), "--limit must be a number of documents, at least 1, got 0"),
        (("estimate", "SUITE", "--limit", "-1"), "--limit must be a number of documents, at least 1"),
        (("run", "SUITE", "--max-cost", "nan"), "--max-cost must be a number of USD, 0 or more, got nan"),
        (("run", "SUITE", "--max-cost", "-1"), "--max-cost must be a number of USD, 0 or more, got -1"),
        (("score", "--gold", "GOLD", "--pred", "GOLD", "--seed", "-1"), "--seed must be a whole number from 0"),
        (("score", "--gold", "GOLD", "--pred", "GOLD", "--bootstrap", "1000000000000"),
         "--bootstrap must be 0 (no interval) to 100,000 resamples"),
        (("score", "--gold", "GOLD", "--pred", "GOLD", "--bootstrap", "-5"), "--bootstrap must be 0"),
    ],
    ids=["limit-negative", "limit-zero", "estimate-limit", "max-cost-nan", "max-cost-negative", "seed-negative",
         "bootstrap-huge", "bootstrap-negative"],
)  # fmt: skip
def test_a_bad_command_line_value_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    (tmp_path / "data").mkdir()
    gold = tmp_path / "data" / "news.jsonl"
    gold.write_text('{"text": "Ada flew.", "spans": [{"start": 0, "end": 3, "label": "PER"}]}\n', encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(GOOD_DATASET + RULES_MODEL, encoding="utf-8")
    argv = [str(suite) if a == "SUITE" else str(gold) if a == "GOLD" else a for a in args]
    proc = nerbench(*argv, "--store", tmp_path / "r.db", cwd=tmp_path, check=False) if args[0] == "run" else (
        nerbench(*argv, cwd=tmp_path, check=False))  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- names that would write one file twice


@pytest.mark.parametrize(
    ("datasets", "models", "needle", "line"),
    [
        ([("news", "data/news.jsonl")], ["crf a", "crf/a"],
         "models 'crf a' and 'crf/a' would write the same files (predictions/crf_a...)", 8),
        ([("news", "data/news.jsonl")], ["Rules", "rules"], "models 'Rules' and 'rules' would write the same", 8),
        ([("News", "data/news.jsonl"), ("news", "data/news.jsonl")], ["m"],
         "datasets 'News' and 'news' would write the same files (gold/news...)", 4),
        ([("b__c", "data/news.jsonl"), ("c", "data/news.jsonl")], ["a", "a__b"],
         "model 'a' on dataset 'b__c' and model 'a__b' on dataset 'c' would write the same file "
         "(predictions/a__b__c.jsonl)", 10),
        ([("news", "data/news.jsonl")], ["m", "m"], "two models are named 'm'", 8),
        ([("news", "data/news.jsonl")], ["${USER}"], "model name '${USER}' uses ${VAR}", 5),
        ([("news", "data/news.jsonl")], [""], "a model name must not be empty", 5),
        ([("news", "data/news.jsonl")], ["x" * 101], "is too long: names become file names", 5),
    ],
    ids=["slash-and-space", "case", "dataset-case", "cell-stems", "same-name", "env-in-name", "empty-name",
         "long-name"],
)  # fmt: skip
def test_names_that_give_one_file_name_are_refused(
    tmp_path: Path, datasets: list[tuple[str, str]], models: list[str], needle: str, line: int
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    text = "datasets:\n" + "".join(f"  - name: '{n}'\n    path: {p}\n" for n, p in datasets) + "models:\n"
    text += "".join(f"  - name: '{m}'\n    adapter: rules\n" + RULES for m in models)
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    proc = nerbench("run", path, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr and f"{path}:{line}:" in proc.stderr, proc.stderr


def test_odd_characters_in_distinct_names_are_still_allowed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(
        GOOD_DATASET
        + "models:\n"
        + "".join(
            f"  - name: '{m}'\n    adapter: rules\n" + RULES for m in ("crf a", "crf-b", "<b>x</b> | y", "crf.a")
        ),
        encoding="utf-8",
    )
    assert nerbench("estimate", path, cwd=tmp_path).returncode == 0
