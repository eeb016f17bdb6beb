"""``nerbench gate``: thresholds, significant regressions against a baseline, JUnit and Markdown, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from nerbench.harness.store import Store
from tests.harness.conftest import SuiteWriter, nerbench


def gold_gate(cwd: Path, gold: Path, model: str, *flags: str, name: str = "m") -> tuple[int, str, str]:
    proc = nerbench("gate", "--gold", gold, "--model", f"{model},name={name}" if ":" in model.split("fakes:")[-1]
                    else f"{model}:name={name}", *flags, "--store", cwd / "db", cwd=cwd, check=False)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def oracle(gold: Path) -> str:
    return f"tests.fakes:Oracle:gold={gold}"


def run_ids(cwd: Path) -> list[str]:
    store = Store(cwd / "db")
    try:
        return [r["id"] for r in store.runs()]
    finally:
        store.close()


def latest_cell(cwd: Path) -> dict[str, Any]:
    store = Store(cwd / "db")
    try:
        return dict(store.cells(run_ids(cwd)[-1])[0])
    finally:
        store.close()


def variant(gold: Path, target: Path, edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Path:
    """A copy of ``gold`` with ``edit`` applied to each span (None drops it): the answers an oracle gives."""
    docs = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    for doc in docs:
        doc["spans"] = [s for s in map(edit, doc["spans"]) if s is not None]
    target.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return target


def test_thresholds_met_pass_and_junit_has_one_case_per_check(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    news = gold_files["news"]
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    code, out, err = gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9", "--min-label-f1", "PER=0.95",
                               "--max-schema-error-rate", "0", "--max-invalid-rate", "0", "--max-p95-ms", "5000",
                               "--junit", junit, "--summary", summary)  # fmt: skip
    assert code == 0, out + err
    assert out.count("PASS") == 5 and "FAIL" not in out
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert len(cases) == 5 and not [c for c in cases if c.find("failure") is not None]
    assert "passed (5/5 checks)" in summary.read_text(encoding="utf-8")


def test_unmet_f1_fails_naming_the_check(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    junit = tmp_path / "gate.xml"
    code, out, _ = gold_gate(tmp_path, gold_files["news"], "tests.fakes:Capitalised", "--min-f1", "0.9",
                             "--max-p95-ms", "5000", "--junit", junit)  # fmt: skip
    assert code == 1
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1 and "F1 >= 0.9" in failing[0]
    failures = ET.parse(junit).getroot().findall("./testsuite/testcase/failure")
    assert len(failures) == 1 and "F1" in failures[0].get("message", "")


def test_each_other_threshold_fails_naming_value_and_threshold(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    news, junit = gold_files["news"], tmp_path / "gate.xml"
    # the names are the metric table's display names (nerbench/harness/metric_info.py)
    limits = {"Boundary errors": ("--max-boundary-error-rate", 0.1, "boundary_error_rate"),
              "Invalid spans": ("--max-invalid-rate", 0.1, "invalid_rate"),
              "Cost per 1k docs (USD)": ("--max-usd-per-1k", 0.0, None)}  # fmt: skip
    flags = [str(x) for flag, limit, _ in limits.values() for x in (flag, limit)]
    code, out, err = gold_gate(tmp_path, news, "tests.fakes:Sloppy", *flags, "--junit", junit)
    assert code == 1, out + err
    cell = latest_cell(tmp_path)
    messages = [f.get("message") for f in ET.parse(junit).getroot().findall("./testsuite/testcase/failure")]
    for metric, (_, limit, key) in limits.items():
        value = cell["metrics"][key] if key else cell["cost"]["usd_per_1k_docs"]
        assert value > limit  # Sloppy: split names, spans past the end, a wrong surface; compute time costs > 0
        assert f"FAIL  m / news: {metric} <= {limit:g}: value {value:.4g}" in out
        assert f"{metric} {value:.4g} > {limit:g}" in messages
    assert len(messages) == 3
    code, out, err = gold_gate(tmp_path, news, oracle(news), "--max-boundary-error-rate", "0", "--max-invalid-rate",
                               "0", "--max-usd-per-1k", "1")  # fmt: skip
    assert code == 0 and out.count("PASS") == 3, out + err


def test_a_label_map_maps_the_model_labels_onto_the_gold(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    news = gold_files["news"]
    native_label = {"PER": "PERSON", "LOC": "GPE"}
    native = variant(news, tmp_path / "native.jsonl", lambda s: {**s, "label": native_label[s["label"]]})
    label_map = tmp_path / "map.yaml"
    label_map.write_text("PERSON: PER\nGPE: LOC\n", encoding="utf-8")
    code, out, err = gold_gate(tmp_path, news, oracle(native), "--min-f1", "0.99")
    # without the map every prediction is out of schema: the cell is a schema mismatch, never a score
    assert code == 1 and "the cell is schema-mismatch" in out and "GPE, PERSON" in out
    assert "warning: m on news: " in err and "labels outside the dataset's" in err
    code, out, err = gold_gate(tmp_path, news, oracle(native), "--map", label_map, "--min-f1", "0.99")
    assert code == 0 and "PASS  m / news: F1 >= 0.99: value 1," in out, out + err


def test_a_label_threshold_on_a_label_the_gold_lacks_is_a_usage_error(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    code, out, err = gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.5", "--min-label-f1", "ORGG=0.5")
    assert code == 2 and "PASS" not in out and len(err.strip().splitlines()) == 1, out + err
    assert "the gold of news has no ORGG span (its labels: LOC, PER)" in err
    org = variant(news, tmp_path / "org.jsonl", lambda s: {**s, "label": "ORG"} if s["label"] == "LOC" else s)
    code, _, err = gold_gate(tmp_path, news, oracle(org), "--min-label-f1", "ORG=0.5")  # predicted, never gold
    assert code == 2 and "has no ORG span" in err


def _one_span_short(gold: Path, target: Path) -> Path:
    lines = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    lines[3]["spans"] = lines[3]["spans"][:1]  # one document loses one span: a small, insignificant drop
    target.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines), encoding="utf-8")
    return target


def test_a_baseline_regression_fails_only_when_large_and_significant(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9")[0] == 0  # the baseline run
    slightly = _one_span_short(news, tmp_path / "slightly.jsonl")
    code, out, err = gold_gate(tmp_path, news, oracle(slightly), "--baseline", "latest", "--max-drop", "0.005")
    assert code == 0, out + err  # drop ~0.01 > 0.005, but one document out of 24: not significant
    assert "PASS" in out and "drop" in out
    code, out, _ = gold_gate(tmp_path, news, "tests.fakes:Capitalised", "--baseline", "latest", "--max-drop", "0.05")
    assert code == 1 and "F1 fell" in out
    # Every LOC span missed: F1 1 -> 2/3 on every document, a significant drop, yet smaller than --max-drop 0.4.
    # The baseline is the first run by its id (latest is now Capitalised's run, which this one beats).
    first = run_ids(tmp_path)[0]
    no_loc = variant(news, tmp_path / "no_loc.jsonl", lambda s: None if s["label"] == "LOC" else s)
    code, out, err = gold_gate(tmp_path, news, oracle(no_loc), "--baseline", first, "--max-drop", "0.4")
    assert code == 0, out + err
    assert next(line for line in out.splitlines() if "drop" in line).startswith("PASS")
    ids = run_ids(tmp_path)
    prefix = next(first[:n] for n in range(1, len(first)) if sum(i.startswith(first[:n]) for i in ids) == 1)
    code, out, _ = gold_gate(tmp_path, news, oracle(no_loc), "--baseline", prefix, "--max-drop", "0.3")
    assert code == 1 and "F1 fell 0.3333 (> 0.3) from the baseline, p=0.000" in out


def test_a_mismatched_or_missing_baseline_is_a_usage_error(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    code, _, err = gold_gate(tmp_path, gold_files["mail"], oracle(gold_files["mail"]), "--baseline", "latest")
    assert code == 2 and "store" in err
    for _ in range(2):  # two runs, so that a prefix can be ambiguous
        assert gold_gate(tmp_path, gold_files["mail"], oracle(gold_files["mail"]), "--min-f1", "0.5")[0] == 0
    news = gold_files["news"]
    code, _, err = gold_gate(tmp_path, news, oracle(news), "--baseline", "latest", name="other")
    assert code == 2 and "no passing run of suite" in err  # no run of this suite ever held model "other"
    for run, problem in (("nope", "no run matching 'nope'"), ("2", "several runs matching '2'")):
        code, _, err = gold_gate(tmp_path, news, oracle(news), "--baseline", run)
        assert code == 2 and problem in err and len(err.strip().splitlines()) == 1
    mail_run = run_ids(tmp_path)[-1]  # a run of other gold: it has no cell for m on news
    code, _, err = gold_gate(tmp_path, news, oracle(news), "--baseline", mail_run)
    assert code == 2 and "the baseline has no cell for m on news" in err
    (tmp_path / "data" / "mail.jsonl").rename(tmp_path / "data" / "news2.jsonl")
    code, _, err = gold_gate(tmp_path, news, oracle(news), "--baseline", "latest")
    assert code == 2


def test_a_suite_gate_block_passes_and_a_malformed_one_names_file_and_line(
    tmp_path: Path, gold_files: dict[str, Path], write_suite: SuiteWriter
) -> None:
    model = {"name": "oracle", "adapter": "tests.fakes:Oracle", "gold": str(gold_files["news"])}
    suite = write_suite([model], gate={"max_p95_ms": 5000, "models": {"oracle/news": {"min_f1": 0.99}}})
    junit = tmp_path / "gate.xml"
    proc = nerbench("gate", suite, "--junit", junit, "--store", tmp_path / "db", cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(ET.parse(junit).getroot().findall("./testsuite/testcase")) == 3  # p95 x 2 datasets, F1 x 1
    suite = write_suite([model], gate={"min_f1": "high"})
    proc = nerbench("gate", suite, "--store", tmp_path / "db", cwd=tmp_path, check=False)
    text = suite.read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if "min_f1" in t)
    assert proc.returncode == 2 and proc.stderr.strip().endswith("min_f1 must be a number from 0 to 1, got 'high'")
    assert f"{suite}:{line}:" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert yaml.safe_load(suite.read_text(encoding="utf-8"))["gate"] == {"min_f1": "high"}


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("crf:c1=abc", "option 'c1' must be a number, got 'abc'"),
        ("crf:c1", "options are KEY=VALUE"),
        ("crf:c_1=0.1", "unknown option 'c_1' (did you mean 'c1'?)"),
        ("crf", "trains on a train split: give --train FILE"),
        ("rules:overlap=first", "must be one of longest, ruler, regex"),
        ("tests.fakes:Declared:load_dely=1", "did you mean 'load_delay'?"),
        ("nosuch.module:Class:x=1", "cannot import adapter 'nosuch.module:Class'"),
        ("crf:c1=[1,2]", "cannot read the value of c1 ('[1'); a value holding commas (a list) goes in a model file"),
        ("crf:c1=0.1,c1=5", "c1 is given twice"),
    ],
    ids=[
        "wrong-type",
        "no-value",
        "typo",
        "trains-without-train",
        "not-allowed",
        "declared-fake",
        "unimportable",
        "a-list",
        "twice",
    ],
)
def test_a_bad_gate_model_is_one_line_exit_2_before_anything_runs(
    tmp_path: Path, gold_files: dict[str, Path], model: str, needle: str
) -> None:
    code, out, err = gold_gate(tmp_path, gold_files["mail"], model, "--min-f1", "0.5")
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and needle in err, err
    assert not (tmp_path / "db").exists()


def test_a_gate_model_file_with_a_bad_option_names_its_line(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    model = tmp_path / "model.yaml"
    model.write_text("name: crf\nadapter: crf\nc1: 0.1\nmax_iter: 50\n", encoding="utf-8")
    proc = nerbench("gate", "--gold", gold_files["mail"], "--model", model, "--train", gold_files["news"],
                    "--min-f1", "0", "--store", tmp_path / "db", cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 2 and f"{model}:4:" in proc.stderr and "did you mean 'max_iterations'" in proc.stderr
    model.write_text("name: crf\nadapter: crf\ngold_tokens: 'no'\n", encoding="utf-8")
    proc = nerbench("gate", "--gold", gold_files["mail"], "--model", model, "--train", gold_files["news"],
                    "--min-f1", "0", "--store", tmp_path / "db", cwd=tmp_path, check=False)  # fmt: skip
    assert (
        proc.returncode == 2 and f"{model}:3:" in proc.stderr and "'gold_tokens' must be true or false" in proc.stderr
    )
