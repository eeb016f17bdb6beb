"""`nerbench run --jobs N` and a model's `replicas`: the same results as one worker at a time, sooner.

Driven through the CLI with real worker processes; the fakes log which worker predicted which batch and when.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness.conftest import REPO, SuiteWriter, cell, nerbench, results
from tests.harness.scale_fakes import calls

LOGGED = "tests.harness.scale_fakes:Logged"


def _metrics(run_dir: Path) -> dict[tuple[str, str], Any]:
    return {(c["model"], c["dataset"]): c["metrics"] for c in results(run_dir)["cells"]}


def _predictions(run_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((run_dir / "predictions").iterdir())}


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds during which a call of ``a`` and a call of ``b`` ran at the same time."""
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def test_jobs_2_gives_the_metrics_of_jobs_1_with_both_models_predicting_at_once(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    log = tmp_path / "times.log"
    suite = write_suite([
        {"name": "one", "adapter": LOGGED, "batch_delay": 0.15, "times_log": str(log)},
        {"name": "two", "adapter": "tests.fakes:Oracle", "gold": str(tmp_path / "data" / "news.jsonl")},
        {"name": "three", "adapter": LOGGED, "batch_delay": 0.15, "times_log": str(log)},
    ])  # fmt: skip
    nerbench("run", suite, "--out", tmp_path / "serial", "--store", tmp_path / "serial.db", cwd=tmp_path)
    serial = calls(log)
    log.unlink()
    nerbench("run", suite, "--jobs", "2", "--out", tmp_path / "par", "--store", tmp_path / "par.db", cwd=tmp_path)
    parallel = calls(log)

    assert _metrics(tmp_path / "par") == _metrics(tmp_path / "serial")
    assert _predictions(tmp_path / "par") == _predictions(tmp_path / "serial")
    assert len(results(tmp_path / "par")["cells"]) == 6

    def spans(rows: list[Any], model: str) -> list[tuple[float, float]]:
        return [(start, end) for name, _, start, end, _ in rows if name == model]

    assert _overlap(spans(serial, "one"), spans(serial, "three")) == 0  # one model at a time
    assert _overlap(spans(parallel, "one"), spans(parallel, "three")) > 0.5  # two at once


def test_replicas_2_gives_the_predictions_and_metrics_of_one_worker(write_suite: SuiteWriter, tmp_path: Path) -> None:
    log = tmp_path / "times.log"
    model = {"name": "caps", "adapter": LOGGED, "batch_delay": 0.1, "times_log": str(log)}
    one = write_suite([model])
    nerbench("run", one, "--out", tmp_path / "one", "--store", tmp_path / "one.db", cwd=tmp_path)
    log.unlink()
    two = write_suite([{**model, "replicas": 2}])
    nerbench("run", two, "--out", tmp_path / "two", "--store", tmp_path / "two.db", cwd=tmp_path)

    assert _metrics(tmp_path / "two") == _metrics(tmp_path / "one")
    assert _predictions(tmp_path / "two") == _predictions(tmp_path / "one")
    rows = calls(log)
    batches = [r for r in rows if len(r[4]) > 1]  # the throughput pass (batch_size 4); latency calls are single
    assert len({pid for _, pid, *_ in batches}) == 2, "both replicas served batches"
    predicted = sorted(doc for *_, ids in batches for doc in ids)
    assert predicted == sorted([f"d{i}" for i in range(24)] + [f"d{i}" for i in range(10)])  # each once
    first, second = sorted({pid for _, pid, *_ in batches})
    by_pid = {pid: [(start, end) for _, p, start, end, _ in batches if p == pid] for pid in (first, second)}
    assert _overlap(by_pid[first], by_pid[second]) > 0.1, "the replicas predicted at the same time"
    singles = [r for r in rows if len(r[4]) == 1]
    assert len({pid for _, pid, *_ in singles}) == 1, "latency is measured on one worker"
    news, alone = cell(results(tmp_path / "two"), "caps", "news"), cell(results(tmp_path / "one"), "caps", "news")
    assert news["latency"]["docs_per_s"] > 1.5 * alone["latency"]["docs_per_s"]  # summed over the replicas
    assert news["memory"]["peak_rss_mb"] > 10


def test_a_worker_that_dies_has_its_batches_sent_to_a_new_one(write_suite: SuiteWriter, tmp_path: Path) -> None:
    log, pids = tmp_path / "times.log", tmp_path / "pids.txt"
    suite = write_suite([
        {"name": "dies", "adapter": "tests.harness.scale_fakes:KilledOnce", "marker": "BOOM",
         "flag": str(tmp_path / "killed.flag"), "times_log": str(log), "pid_file": str(pids), "replicas": 2},
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
    ])  # fmt: skip
    nerbench("run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", cwd=tmp_path)
    assert (tmp_path / "killed.flag").exists(), "a worker was killed"
    doc = results(tmp_path / "run")
    for dataset in ("news", "mail"):
        dies = cell(doc, "dies", dataset)
        assert dies["status"] == "done" and dies["failures"]["failed_docs"] == 0
        assert dies["metrics"] == cell(doc, "caps", dataset)["metrics"]  # same model, nothing lost
    killed = int((tmp_path / "killed.flag").read_text(encoding="utf-8"))
    answered = {pid for _, pid, *_ in calls(log)}
    assert killed in _pids(pids) and len(_pids(pids)) == 3  # two replicas, and the one that replaced the killed
    assert killed not in answered  # its batches were answered by others: d0's first of all
    assert any(ids[0] == "d0" for *_, ids in calls(log))


def test_sigterm_with_jobs_2_stops_both_models_at_once_and_resume_gives_the_clean_results(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    pids = tmp_path / "pids.txt"
    slow = {"adapter": "tests.fakes:Capitalised", "batch_delay": 0.3, "pid_file": str(pids)}
    suite = write_suite([{"name": "a", **slow}, {"name": "b", **slow, "replicas": 2}])
    nerbench("run", suite, "--out", tmp_path / "clean", "--store", tmp_path / "clean.db", cwd=tmp_path)
    pids.unlink()

    db = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "nerbench.cli", "run", str(suite), "--jobs", "2", "--out", str(tmp_path / "run"),
               "--store", str(db)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_pids(pids)) < 3:  # a's worker and b's two replicas have loaded
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    time.sleep(0.5)  # into their batches
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 143 and stderr.count("\n") == 1, stderr
    assert "--jobs 2" in stderr  # the resume command runs the same way
    time.sleep(0.2)
    assert [pid for pid in _pids(pids) if not _gone(pid)] == []  # every worker killed and reaped

    nerbench("run", suite, "--resume", "--jobs", "2", "--out", tmp_path / "run", "--store", db, cwd=tmp_path)
    assert _metrics(tmp_path / "run") == _metrics(tmp_path / "clean")


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text(encoding="utf-8").split()] if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"replicas": 0}, "'replicas' must be a whole number of workers from 1"),
        ({"replicas": 2.5}, "'replicas' must be a whole number"),
        ({"num_gpus": -1}, "'num_gpus' must be a number from 0"),
        ({"num_cpus": "two"}, "'num_cpus' must be a number from 0"),
    ],
)
def test_bad_scale_keys_stop_before_anything_runs(
    write_suite: SuiteWriter, tmp_path: Path, entry: dict[str, Any], words: str
) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", **entry}])
    proc = nerbench("run", suite, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--jobs", "0"], "--jobs must be a number of models from 1"),
        (["--address", "auto"], "--address names a Ray cluster: use it with --executor ray"),
        (["--executor", "dask"], "unknown executor 'dask': use one of local, ray"),
    ],
)
def test_bad_run_flags_stop_before_anything_runs(
    write_suite: SuiteWriter, tmp_path: Path, flags: list[str], words: str
) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised"}])
    proc = nerbench("run", suite, *flags, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "r.db").exists()


def test_executor_ray_without_ray_names_the_extra(write_suite: SuiteWriter, tmp_path: Path) -> None:
    hidden = tmp_path / "no-ray"  # a `ray` that cannot be imported, as where the extra is not installed
    (hidden / "ray").mkdir(parents=True)
    (hidden / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n", encoding="utf-8")
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised"}])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), str(REPO)])}
    command = [sys.executable, "-m", "nerbench.cli", "run", str(suite), "--executor", "ray"]
    proc = subprocess.run(
        [*command, "--store", str(tmp_path / "r.db")], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "nerbench: error: ray is not installed: pip install 'nerbench[ray]'\n"
    assert not (tmp_path / "r.db").exists()
