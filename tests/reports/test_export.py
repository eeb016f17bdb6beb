"""``nerbench export``: each cell as an MLflow run in a local SQLite tracking store, read back with MLflow's own
client, and the cells and per-label frames as parquet, read back with pandas.

The run: a real CRF over two small gold sets, and a fake model whose worker is killed on the documents of
one dataset (a failed cell). Its ``marker`` option is written as ``${EXPORT_MARKER}`` in the suite: the
export must carry the suite's text, never the expanded value.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from mlflow.tracking import MlflowClient

from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult
from nerbench.harness.results import load_results
from tests.harness.conftest import REPO, nerbench, results, write_gold

MARKER_ENV = "EXPORT_MARKER"


@dataclass(frozen=True)
class Run:
    dir: Path
    work: Path
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.doc["run"]["id"])

    def cli(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return nerbench(*args, "--store", self.work / "db", cwd=self.work, check=check)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("export")
    news = write_gold(work / "news.jsonl", 24, marker_every=5)
    mail = write_gold(work / "mail.jsonl", 10)
    suite = {
        "name": "export-suite",
        "datasets": [{"name": "news", "path": str(news), "train": str(news)},
                     {"name": "mail", "path": str(mail), "train": str(news)}],
        "models": [{"name": "crf", "adapter": "crf", "max_iterations": 20},
                   {"name": "killed", "adapter": "tests.fakes:KilledOn", "marker": f"${{{MARKER_ENV}}}"}],
        "settings": {"latency_samples": 3, "warmup": 1, "bootstrap": 100},
    }  # fmt: skip
    (work / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MARKER_ENV, "BOOM")
        proc = nerbench("run", "suite.yaml", "--out", "run", "--store", "db", cwd=work, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]  # the killed model's news cell failed
    return Run(work / "run", work, results(work / "run"))


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one ``nerbench: error:`` line of a usage error (exit 2, no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("nerbench: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def mlflow_runs(uri: str, experiment: str) -> list[Any]:
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else list(client.search_runs([found.experiment_id], max_results=1000))


def expected_metrics(raw: dict[str, Any]) -> dict[str, float]:
    cell = CellResult.from_json(raw)
    return {m.name: v for m in metric_info.METRICS if (v := m.value(cell)) is not None}


# --- MLflow ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(run: Run) -> tuple[str, list[Any], str]:
    uri = f"sqlite:///{run.work / 'mlflow.db'}"
    proc = run.cli("export", run.dir, "--mlflow", "--tracking-uri", uri)
    return uri, mlflow_runs(uri, "export-suite"), proc.stdout


def test_each_cell_is_one_mlflow_run_with_every_metric_of_results_json(
    run: Run, exported: tuple[str, list[Any], str]
) -> None:
    _, runs, stdout = exported
    cells = {(c["model"], c["dataset"]): c for c in run.doc["cells"]}
    assert len(cells) == 4 and stdout.count("created: ") == 4
    by_cell = {(r.data.tags["nerbench.model"], r.data.tags["nerbench.dataset"]): r for r in runs}
    assert len(runs) == len(by_cell) == 4 and set(by_cell) == set(cells)
    for key, raw in cells.items():
        r = by_cell[key]
        assert r.info.run_name == f"{key[0]} on {key[1]}"
        assert r.data.tags["nerbench.run_id"] == run.id and r.data.tags["status"] == raw["status"]
        if raw["status"] != "done":
            continue
        assert r.data.metrics == expected_metrics(raw), key  # every metric with a value, by its MetricInfo name
        assert r.data.metrics["f1"] == raw["metrics"]["micro"]["f1"]
        assert r.data.metrics["p95_ms"] == raw["latency"]["p95_ms"]
        assert r.data.metrics["usd_per_1k_docs"] == raw["cost"]["usd_per_1k_docs"]
        assert r.info.status == "FINISHED"


def test_params_say_what_ran_with_the_suites_unexpanded_options(run: Run, exported: tuple[str, list[Any], str]) -> None:
    hashes = {d["name"]: d["content_hash"] for d in run.doc["datasets"]}
    for r in exported[1]:
        params, tags = r.data.params, r.data.tags
        model, dataset = tags["nerbench.model"], tags["nerbench.dataset"]
        raw = next(c for c in run.doc["cells"] if (c["model"], c["dataset"]) == (model, dataset))
        assert (params["model"], params["dataset"], params["adapter"]) == (model, dataset, raw["adapter"])
        assert params["dataset_hash"] == hashes[dataset] and len(hashes[dataset]) >= 16
        assert params["nerbench_version"] == run.doc["run"]["versions"]["nerbench"]
        assert params["nerbench_run_id"] == run.id and params["label_map"] == "none"
        if model == "crf":
            assert params["option.max_iterations"] == "20" and tags["kind"] == "trained on your data"
        else:
            assert params["option.marker"] == f"${{{MARKER_ENV}}}"  # as the suite wrote it, never the value
            assert "BOOM" not in json.dumps(params)


def test_a_failed_cell_carries_its_status_and_reason_and_no_metrics(
    run: Run, exported: tuple[str, list[Any], str]
) -> None:
    failed = [r for r in exported[1] if r.data.tags["status"] != "done"]
    assert [(r.data.tags["nerbench.model"], r.data.tags["nerbench.dataset"]) for r in failed] == [("killed", "news")]
    raw = next(c for c in run.doc["cells"] if c["status"] == "failed")
    assert failed[0].data.tags["status"] == "failed" and failed[0].data.tags["reason"] == raw["reason"]
    assert "SIGKILL" in failed[0].data.tags["reason"]
    assert failed[0].data.metrics == {} and failed[0].info.status == "FAILED"


def test_artifacts_are_the_cells_predictions_results_and_report(
    run: Run, exported: tuple[str, list[Any], str], tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=exported[0])
    for r in exported[1]:
        model, dataset = r.data.tags["nerbench.model"], r.data.tags["nerbench.dataset"]
        root = {f.path for f in client.list_artifacts(r.info.run_id)}
        assert {"results.json", "report.html"} <= root
        target = tmp_path / r.info.run_id
        target.mkdir()
        got = Path(client.download_artifacts(r.info.run_id, "results.json", str(target)))
        assert got.read_bytes() == (run.dir / "results.json").read_bytes()
        predictions = {f.path for f in client.list_artifacts(r.info.run_id, "predictions")}
        if (run.dir / "predictions" / f"{model}__{dataset}.jsonl").exists():
            assert predictions == {f"predictions/{model}__{dataset}.jsonl"}


def test_exporting_again_adds_no_runs_and_updates_what_changed(
    run: Run, exported: tuple[str, list[Any], str], tmp_path: Path
) -> None:
    uri, before, _ = exported
    again = run.cli("export", run.id[:12], "--mlflow", "--tracking-uri", uri)  # an id prefix, through the store
    assert again.stdout.count("unchanged: ") == 4 and "created" not in again.stdout
    assert sorted(r.info.run_id for r in mlflow_runs(uri, "export-suite")) == sorted(r.info.run_id for r in before)
    copy = tmp_path / "run"
    shutil.copytree(run.dir, copy)  # the same run, its report rendered again (longer)
    report = copy / "report.html"
    report.write_text(report.read_text(encoding="utf-8") + "<!-- again -->\n", encoding="utf-8")
    updated = run.cli("export", copy, "--mlflow", "--tracking-uri", uri)
    assert updated.stdout.count("updated: ") == 4
    after = mlflow_runs(uri, "export-suite")
    assert sorted(r.info.run_id for r in after) == sorted(r.info.run_id for r in before)
    client = MlflowClient(tracking_uri=uri)
    for r in after:
        sizes = {f.path: f.file_size for f in client.list_artifacts(r.info.run_id)}
        assert sizes["report.html"] == report.stat().st_size
        assert r.data.metrics == next(b.data.metrics for b in before if b.info.run_id == r.info.run_id)


def test_mlflows_own_tracking_uri_setting_and_a_chosen_experiment(
    run: Run, exported: tuple[str, list[Any], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(run.work / "mlflow.db", run.work / "env.db")  # an MLflow database made: spares the migrations
    uri = f"sqlite:///{run.work / 'env.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # no --tracking-uri: MLflow's own setting decides
    proc = nerbench("export", "latest", "--mlflow", "--experiment", "ner-selection", "--store", "db", cwd=run.work)
    assert "in MLflow experiment 'ner-selection'" in proc.stdout and uri in proc.stdout
    assert len(mlflow_runs(uri, "ner-selection")) == len(mlflow_runs(uri, "export-suite")) == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_bad_run_or_tracking_uri_is_one_line(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    one_line_error(run.cli("export", "nope", "--mlflow", check=False), "nope", "nerbench runs")
    one_line_error(run.cli("export", run.dir, "--mlflow", "--tracking-uri", "nosuch://x", check=False), "nosuch://x")
    store = run.work / "db"
    before = store.read_bytes()
    one_line_error(
        run.cli("export", run.dir, "--mlflow", "--tracking-uri", f"sqlite:///{store}", check=False),
        "not an MLflow tracking database",
    )
    assert store.read_bytes() == before  # the nerbench store is never handed to MLflow
    notes = run.work / "notes.db"
    notes.write_text("my notes\n", encoding="utf-8")
    uri = f"sqlite:///{notes}"
    one_line_error(run.cli("export", run.dir, "--mlflow", "--tracking-uri", uri, check=False), "not a database")
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    folder = f"sqlite:///{run.work / 'run'}"  # MLflow would retry opening it for a minute and a half
    one_line_error(run.cli("export", run.dir, "--mlflow", "--tracking-uri", folder, check=False), "is not a file")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    server = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    one_line_error(run.cli("export", run.dir, "--mlflow", "--tracking-uri", server, check=False), server)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "--mlflow, or --format parquet"),
        (("--mlflow", "--format", "parquet", "--out", "x.parquet"), "--mlflow, or --format parquet"),
        (("--format", "csv", "--out", "x.csv"), "'csv'"),
        (("--format", "parquet"), "--out FILE"),
        (("--mlflow", "--out", "x.parquet"), "--out goes with --format parquet"),
        (("--format", "parquet", "--out", "x.parquet", "--experiment", "e"), "go with --mlflow"),
    ],
)
def test_flags_that_do_not_go_together_are_one_line(run: Run, args: tuple[str, ...], words: str) -> None:
    one_line_error(run.cli("export", run.dir, *args, check=False), words)


def _without(module: str, run: Run, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a Python where ``module`` cannot be imported (as where its extra is not installed)."""
    code = f"import sys; sys.modules[{module!r}] = None; from nerbench.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, "export", *map(str, args), "--store", run.work / "db"],
                          cwd=run.work, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_missing_extra_names_the_pip_extra(run: Run) -> None:
    uri = f"sqlite:///{run.work / 'missing.db'}"
    missing = _without("mlflow", run, run.dir, "--mlflow", "--tracking-uri", uri)
    one_line_error(missing, "pip install 'nerbench[mlflow]'")
    assert not (run.work / "missing.db").exists()
    out = run.work / "missing.parquet"
    one_line_error(_without("pyarrow", run, run.dir, "--format", "parquet", "--out", out), "'nerbench[parquet]'")
    assert not out.exists()


# --- parquet --------------------------------------------------------------------------------------------------


def test_parquet_holds_the_cells_and_per_label_frames_of_load_results(run: Run) -> None:
    out = run.work / "frames" / "results.parquet"
    proc = run.cli("export", "latest", "--format", "parquet", "--out", out)
    labels = out.with_name("results.per_label.parquet")
    assert proc.stdout.split() == ["wrote", str(out), "wrote", str(labels)]
    expected = load_results(run.dir)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected.cells)
    pd.testing.assert_frame_equal(pd.read_parquet(labels), expected.per_label)
    assert list(pd.read_parquet(out).columns) == list(metric_info.columns())
    assert len(expected.per_label) > 0 and set(pd.read_parquet(labels)["label"]) == {"PER", "LOC"}
    mark = json.loads(pq.read_schema(out).metadata[b"nerbench.export"])
    assert mark == {"frame": "cells", "run_id": run.id, "nerbench_version": run.doc["run"]["versions"]["nerbench"]}
    run.cli("export", run.dir, "--format", "parquet", "--out", out)  # a previous export is replaced
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected.cells)


@pytest.mark.parametrize("which", ["cells", "per_label"])
def test_parquet_never_replaces_a_file_it_did_not_write(run: Run, which: str, tmp_path: Path) -> None:
    out = tmp_path / "mine.parquet"
    theirs = out if which == "cells" else tmp_path / "mine.per_label.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(theirs)  # a real parquet file, but not nerbench's
    before = theirs.read_bytes()
    refused = run.cli("export", run.dir, "--format", "parquet", "--out", out, check=False)
    one_line_error(refused, "not a nerbench export")
    assert theirs.read_bytes() == before
    assert not (out.with_name("mine.per_label.parquet") if which == "cells" else out).exists()  # nothing half-written
    text = tmp_path / "notes.parquet"
    text.write_text("my notes\n", encoding="utf-8")
    one_line_error(run.cli("export", run.dir, "--format", "parquet", "--out", text, check=False), "not a nerbench")
    assert text.read_text(encoding="utf-8") == "my notes\n"
