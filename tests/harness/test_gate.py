"""``nerbench gate``: thresholds, significant regressions against a baseline, JUnit and Markdown, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

from tests.harness.conftest import SuiteWriter, nerbench


def gold_gate(cwd: Path, gold: Path, model: str, *flags: str, name: str = "m") -> tuple[int, str, str]:
    proc = nerbench("gate", "--gold", gold, "--model", f"{model},name={name}" if ":" in model.split("fakes:")[-1]
                    else f"{model}:name={name}", *flags, "--store", cwd / "db", cwd=cwd, check=False)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def oracle(gold: Path) -> str:
    return f"tests.fakes:Oracle:gold={gold}"


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


def test_a_mismatched_or_missing_baseline_is_a_usage_error(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    code, _, err = gold_gate(tmp_path, gold_files["mail"], oracle(gold_files["mail"]), "--baseline", "latest")
    assert code == 2 and "store" in err
    assert gold_gate(tmp_path, gold_files["mail"], oracle(gold_files["mail"]), "--min-f1", "0.5")[0] == 0
    news = gold_files["news"]
    code, _, err = gold_gate(tmp_path, news, oracle(news), "--baseline", "latest", name="other")
    assert code == 2 and "no cell" in err
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
    assert proc.returncode == 2 and proc.stderr.strip().endswith("min_f1 must be a non-negative number, got 'high'")
    assert f"{suite}:{line}:" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert yaml.safe_load(suite.read_text(encoding="utf-8"))["gate"] == {"min_f1": "high"}
