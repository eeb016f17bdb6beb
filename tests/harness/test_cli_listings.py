"""`nerbench models`, `nerbench datasets`, environment variables in suites, and `python:` workers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.harness.conftest import SuiteWriter, cell, nerbench, results


def test_models_lists_every_registered_adapter(tmp_path: Path) -> None:
    listing = nerbench("models", cwd=tmp_path).stdout
    for name in ("rules", "crf"):
        assert name in listing
    assert "yes" in listing  # the baselines' extras are installed in the test environment


def test_datasets_lists_formats_and_the_catalog(tmp_path: Path) -> None:
    listing = nerbench("datasets", cwd=tmp_path).stdout
    for name in ("conll", "jsonl", "brat", "labelstudio", "doccano", "spacy", "hf"):
        assert name in listing
    for benchmark in ("CoNLL-2003", "WNUT-17", "WikiANN"):
        assert benchmark in listing


def test_environment_variables_are_expanded_but_never_written_out(
    write_suite: SuiteWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-5ecret-do-not-store"
    monkeypatch.setenv("NERBENCH_TEST_TOKEN", secret)
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "token": "${NERBENCH_TEST_TOKEN}"}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    for path in [tmp_path / "r.db", *(tmp_path / "run").rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert "${NERBENCH_TEST_TOKEN}" in (tmp_path / "r.db").read_bytes().decode("utf-8", "replace")


def test_an_unset_environment_variable_is_a_suite_error(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "url": "${NERBENCH_NOT_SET_ANYWHERE}"}])
    proc = nerbench("run", suite, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "NERBENCH_NOT_SET_ANYWHERE is not set" in proc.stderr


def test_a_model_can_run_under_another_interpreter(write_suite: SuiteWriter, tmp_path: Path) -> None:
    python = tmp_path / "other-python"
    python.symlink_to(sys.executable)
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "python": str(python)}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert cell(results(tmp_path / "run"), "caps", "mail")["status"] == "done"
    bad = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "python": str(tmp_path / "nope")}])
    proc = nerbench("run", bad, "--out", tmp_path / "run2", "--store", tmp_path / "r2.db", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    failed = cell(results(tmp_path / "run2"), "caps", "mail")
    assert failed["status"] == "failed" and "nope" in failed["failures"]["error"]


def test_a_model_whose_modules_are_not_installed_is_skipped_with_a_note(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    python = tmp_path / "other-python"
    python.symlink_to(sys.executable)
    models = [
        {"name": "present", "adapter": "tests.fakes:Capitalised", "if_installed": ["json", "nerbench.scoring"]},
        {"name": "absent", "adapter": "tests.fakes:Capitalised", "if_installed": "no_such_module_xyz"},
        {"name": "absent-there", "adapter": "tests.fakes:Capitalised", "python": str(python),
         "if_installed": ["json", "no_such_pkg.sub"]},
    ]  # fmt: skip
    proc = nerbench("run", write_suite(models), "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert "absent skipped: not installed: no_such_module_xyz" in " ".join(proc.stdout.split())
    assert "absent-there skipped: not installed: no_such_pkg.sub" in " ".join(proc.stdout.split())
    document = results(tmp_path / "run")
    assert {c["model"] for c in document["cells"]} == {"present"}
    assert [s["model"] for s in document["run"]["skipped_models"]] == ["absent", "absent-there"]
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<dt>Not run</dt><dd>absent (not installed: no_such_module_xyz); absent-there" in report
    bad = write_suite([{"name": "m", "adapter": "tests.fakes:Capitalised", "if_installed": [3]}])
    failed = nerbench("run", bad, "--store", tmp_path / "r2.db", cwd=tmp_path, check=False)
    assert failed.returncode == 2 and "'if_installed' must list Python module names" in failed.stderr


def test_limit_models_and_datasets_select_part_of_the_suite(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
        {"name": "other", "adapter": "tests.fakes:Capitalised"},
    ])  # fmt: skip
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", "--models", "caps",
             "--datasets", "news", "--limit", "7", cwd=tmp_path)  # fmt: skip
    document = results(tmp_path / "run")
    assert [(c["model"], c["dataset"]) for c in document["cells"]] == [("caps", "news")]
    assert document["datasets"][0]["documents"] == 7
    gold = (tmp_path / "run" / "gold" / "news.jsonl").read_text().splitlines()
    assert len(gold) == 7 and json.loads(gold[0])["id"] == "d0"
