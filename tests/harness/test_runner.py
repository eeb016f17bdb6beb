"""`nerbench run` end to end with real worker processes and fake models that misbehave on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerbench import load_results
from tests.harness.conftest import SuiteWriter, cell, nerbench, results


def test_every_model_and_dataset_gets_a_cell_and_a_run_directory(write_suite: SuiteWriter, tmp_path: Path) -> None:
    gold = str(tmp_path / "data" / "news.jsonl")
    suite = write_suite([
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
        {"name": "oracle", "adapter": "tests.fakes:Oracle", "gold": gold},
    ])  # fmt: skip
    proc = nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert "report:" in proc.stdout
    doc = results(tmp_path / "run")
    assert {(c["model"], c["dataset"]) for c in doc["cells"]} == {
        (m, d) for m in ("caps", "oracle") for d in ("news", "mail")
    }
    oracle = cell(doc, "oracle", "news")
    assert oracle["metrics"]["micro"]["f1"] == 1.0
    assert oracle["latency"]["p50_ms"] is not None and oracle["latency"]["docs_per_s"] > 0
    assert oracle["memory"]["peak_rss_mb"] > 10
    assert oracle["cost"]["basis"] == "compute" and oracle["cost"]["usd"] >= 0
    assert oracle["failures"]["failed_docs"] == 0
    for name in ("results.csv", "report.html", "gold/news.jsonl", "predictions/caps__news.jsonl"):
        assert (tmp_path / "run" / name).is_file(), name
    line = json.loads((tmp_path / "run" / "predictions" / "caps__news.jsonl").read_text().splitlines()[0])
    assert {"label", "native_label"} <= set(line["spans"][0])


def test_cell_f1_equals_nerbench_score_on_the_run_directory(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised"}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    doc = results(tmp_path / "run")
    for dataset in ("news", "mail"):
        scored = nerbench(
            "score", "--gold", tmp_path / "run" / "gold" / f"{dataset}.jsonl",
            "--pred", tmp_path / "run" / "predictions" / f"caps__{dataset}.jsonl", "--json", "--bootstrap", "0",
            cwd=tmp_path,
        )  # fmt: skip
        metrics = json.loads(scored.stdout)
        assert metrics["micro"]["f1"] == pytest.approx(cell(doc, "caps", dataset)["metrics"]["micro"]["f1"], abs=1e-12)
        assert metrics["counts"]["correct"] == cell(doc, "caps", dataset)["metrics"]["counts"]["correct"]


def test_a_model_that_raises_fails_only_those_documents(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM"}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    doc = results(tmp_path / "run")
    news = cell(doc, "raiser", "news")
    assert news["status"] == "done"
    assert news["failures"]["failed_docs"] == 5  # documents 0, 5, 10, 15, 20 carry the marker
    assert "cannot read this document" in news["failures"]["error"]
    assert news["metrics"]["counts"]["gold"] == 48
    assert cell(doc, "raiser", "mail")["failures"]["failed_docs"] == 0


def test_a_hanging_model_times_out_and_the_suite_goes_on(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([
        {"name": "hangs", "adapter": "tests.fakes:HangsOn", "marker": "BOOM", "timeout_s": 3},
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
    ])  # fmt: skip
    proc = nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "1 of 4 cells are not results" in proc.stdout  # after writing everything
    doc = results(tmp_path / "run")
    hung = cell(doc, "hangs", "news")
    assert hung["status"] == "failed" and "timed out" in hung["failures"]["error"]
    assert hung["metrics"] is None and "timed out" in hung["reason"]
    assert cell(doc, "hangs", "mail")["status"] == "done"  # a fresh worker serves the next dataset
    assert cell(doc, "caps", "news")["status"] == "done"


def test_a_killed_worker_fails_only_its_cell(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([
        {"name": "killed", "adapter": "tests.fakes:KilledOn", "marker": "BOOM"},
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
    ])  # fmt: skip
    proc = nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    doc = results(tmp_path / "run")
    killed = cell(doc, "killed", "news")
    assert killed["status"] == "failed" and "SIGKILL" in killed["failures"]["error"]
    assert cell(doc, "killed", "mail")["status"] == "done"
    assert cell(doc, "caps", "news")["metrics"]["micro"]["f1"] is not None


def test_the_cache_makes_a_second_run_run_no_model(write_suite: SuiteWriter, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "call_log": str(log)}])
    nerbench("run", suite, "--out", tmp_path / "run1", "--store", tmp_path / "r.db", cwd=tmp_path)
    first_calls = log.read_text().splitlines()
    assert any(line.startswith("caps predict") for line in first_calls)
    nerbench("run", suite, "--out", tmp_path / "run2", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert log.read_text().splitlines() == first_calls  # no load, no predict
    one, two = results(tmp_path / "run1"), results(tmp_path / "run2")
    assert all(c["cached"] for c in two["cells"])
    assert [c["metrics"] for c in one["cells"]] == [c["metrics"] for c in two["cells"]]
    nerbench("run", suite, "--out", tmp_path / "run3", "--store", tmp_path / "r.db", "--no-cache", cwd=tmp_path)
    assert len(log.read_text().splitlines()) > len(first_calls)


def test_stability_passes_measure_changed_documents(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite(
        [{"name": "flaky", "adapter": "tests.fakes:Flaky"}, {"name": "caps", "adapter": "tests.fakes:Capitalised"}],
        settings={"stability_passes": 2},
    )
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    doc = results(tmp_path / "run")
    assert cell(doc, "caps", "news")["stability"]["changed_share"] == 0
    assert cell(doc, "flaky", "news")["stability"]["changed_share"] > 0.3


def test_billing_units_are_priced_from_the_suite(write_suite: SuiteWriter, tmp_path: Path) -> None:
    pricing = {"billed": {"kind": "characters", "unit": "100-character unit", "unit_chars": 100,
                          "min_units_per_request": 3, "tiers": [[None, 0.0001]]}}  # fmt: skip
    suite = write_suite([{"name": "billed", "adapter": "tests.fakes:Billed"}], pricing=pricing)
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    mail = cell(results(tmp_path / "run"), "billed", "mail")
    assert mail["cost"]["basis"] == "billing"
    assert mail["cost"]["units"] == 10 * 3  # ten short documents, 3-unit minimum each
    assert mail["cost"]["usd"] == pytest.approx(30 * 0.0001)
    assert mail["cost"]["usd_per_1k_docs"] == pytest.approx(30 * 0.0001 / 10 * 1000)
    estimate = nerbench("estimate", suite, cwd=tmp_path).stdout
    assert "30" in estimate


def test_load_results_gives_dataframes(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised"}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    from_store = load_results(tmp_path / "r.db")
    from_dir = load_results(tmp_path / "run")
    assert list(from_store.cells["model"]) == ["caps", "caps"]
    assert set(from_store.per_label["label"]) <= {"PER", "LOC"}
    assert from_store.cells["f1"].tolist() == from_dir.cells["f1"].tolist()
    doc = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    cis = {(c["dataset"], label): tuple(s["f1_ci"]) for c in doc["cells"]
           for label, s in c["metrics"]["per_label"].items() if s["f1_ci"]}  # fmt: skip
    frame = from_dir.per_label
    assert cis and {(r.dataset, r.label): (r.f1_ci_low, r.f1_ci_high) for r in frame.itertuples()} == cis
    listing = nerbench("runs", "--store", tmp_path / "r.db", cwd=tmp_path).stdout
    assert from_store.run_id in listing


def test_invalid_predictions_survive_the_run_directory(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "sloppy", "adapter": "tests.fakes:Sloppy"}])
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    counts = cell(results(tmp_path / "run"), "sloppy", "mail")["metrics"]["counts"]
    assert counts["invalid"] == 2 * 10
    scored = nerbench(
        "score", "--gold", tmp_path / "run" / "gold" / "mail.jsonl",
        "--pred", tmp_path / "run" / "predictions" / "sloppy__mail.jsonl", "--json", "--bootstrap", "0",
        cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(scored.stdout)["counts"] == counts


BILLED_PRICE = {"kind": "characters", "unit": "100-character unit", "unit_chars": 100,
                "min_units_per_request": 3, "tiers": [[None, 0.0001]]}  # fmt: skip


def test_max_cost_refuses_a_suite_whose_estimate_is_over_budget(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([{"name": "billed", "adapter": "tests.fakes:Billed"}], pricing={"billed": BILLED_PRICE})
    proc = nerbench("run", suite, "--store", tmp_path / "r.db", "--max-cost", "0.01", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "estimated to cost $0.01" in proc.stderr  # 34 documents x 3 units x $0.0001


def test_max_cost_stops_sending_once_billed_cost_reaches_it(write_suite: SuiteWriter, tmp_path: Path) -> None:
    model = {"name": "billed", "adapter": "tests.fakes:Billed", "units_factor": 2}  # bills twice the estimate
    suite = write_suite([model], pricing={"billed": BILLED_PRICE})
    run = ("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", "--max-cost", "0.02")
    assert nerbench(*run, cwd=tmp_path, check=False).returncode == 1  # the mail cell is failed
    doc = results(tmp_path / "run")
    news = cell(doc, "billed", "news")
    assert news["status"] == "done"
    # 24 docs x 6 units = $0.0144, and the 1 warm-up + 5 latency samples are paid too: 6 x 6 units = $0.0036
    assert news["cost"]["usd"] == pytest.approx(0.0144) and news["cost"]["probe_usd"] == pytest.approx(0.0036)
    assert news["cost"]["spent_usd"] == pytest.approx(0.018)
    mail = cell(doc, "billed", "mail")  # its first batch (4 docs, $0.0024) takes the spend past $0.02
    assert mail["status"] == "failed" and "stopped after 4 documents" in mail["failures"]["error"]
