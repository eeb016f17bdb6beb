"""`nerbench run --executor ray`: the same predictions and metrics as the local executor, on a local Ray cluster.

One cluster for the whole test run (2 CPUs, on loopback, token authentication with a token made for it), which
the CLI joins with ``--address``. Skipped where Ray (the ``ray`` extra) is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.conftest import REPO, SuiteWriter, cell, nerbench, results
from tests.harness.scale_fakes import calls

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (extra ray)")

UNTIMED = ("latency", "memory", "cost")  # what may differ between executors: timings and what they price


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of the test run's local Ray cluster (2 CPUs, loopback, a token of its own), its environment
    set for the CLI; one cluster for the whole run, shared by the test workers (:mod:`tests.harness.ray_cluster`)."""
    from tests.harness.ray_cluster import join, leave  # filelock comes with ray

    base = tmp_path_factory.getbasetemp()
    state = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ray-cluster"
    info = join(state)
    address = info.pop("address")
    saved = {k: os.environ.get(k) for k in info}
    os.environ.update(info)  # the CLI runs inherit them: the token, and loopback for Ray's driver side
    try:
        yield address
    finally:
        leave(state)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _untimed(run_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Each cell but its timings, and but where the CRF's trained model file was cached (each run has its own)."""
    cells = {}
    for c in results(run_dir)["cells"]:
        describe = {k: v for k, v in c["describe"].items() if k != "model_file"}
        cells[c["model"], c["dataset"]] = {**{k: v for k, v in c.items() if k not in UNTIMED}, "describe": describe}
    return cells


def _predictions(run_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((run_dir / "predictions").iterdir())}


def test_ray_gives_the_local_executors_predictions_and_metrics_on_the_quickstart(
    ray_address: str, tmp_path: Path
) -> None:
    suite = REPO / "suites" / "quickstart.yaml"
    models = ("--models", "rules-general,rules-finance,crf")
    for name in ("local", "ray"):  # each in its own directory: its own store and model cache (the CRF trains)
        (tmp_path / name).mkdir()
        executor = ("--executor", "ray", "--address", ray_address) if name == "ray" else ()
        nerbench("run", suite, *models, *executor, "--out", tmp_path / name / "run", cwd=tmp_path / name)
    local, on_ray = _untimed(tmp_path / "local" / "run"), _untimed(tmp_path / "ray" / "run")
    assert set(local) == {("rules-general", "general"), ("rules-finance", "finance"), ("crf", "general"),
                          ("crf", "finance")}  # fmt: skip
    assert on_ray == local  # metrics (CIs included), buckets, failures, usage: everything but timings
    assert all(c["status"] == "done" for c in results(tmp_path / "ray" / "run")["cells"])
    assert _predictions(tmp_path / "ray" / "run") == _predictions(tmp_path / "local" / "run")
    crf = cell(results(tmp_path / "ray" / "run"), "crf", "general")
    assert crf["latency"]["fit_s"] > 0 and crf["latency"]["p50_ms"] is not None


def test_a_killed_actor_has_its_batches_sent_again_and_the_run_completes(
    ray_address: str, write_suite: SuiteWriter, tmp_path: Path
) -> None:
    log, pids = tmp_path / "times.log", tmp_path / "pids.txt"
    suite = write_suite([
        {"name": "dies", "adapter": "tests.harness.scale_fakes:KilledOnce", "marker": "BOOM",
         "flag": str(tmp_path / "killed.flag"), "times_log": str(log), "pid_file": str(pids), "replicas": 2},
        {"name": "caps", "adapter": "tests.fakes:Capitalised"},
    ])  # fmt: skip
    run = ("run", suite, "--executor", "ray", "--address", ray_address, "--out", tmp_path / "run")
    nerbench(*run, "--store", tmp_path / "r.db", cwd=tmp_path)
    assert (tmp_path / "killed.flag").exists(), "an actor was killed"
    doc = results(tmp_path / "run")
    for dataset in ("news", "mail"):
        dies = cell(doc, "dies", dataset)
        assert dies["status"] == "done" and dies["failures"]["failed_docs"] == 0
        assert dies["metrics"] == cell(doc, "caps", dataset)["metrics"]
    killed = int((tmp_path / "killed.flag").read_text(encoding="utf-8"))
    loaded = [int(p) for p in pids.read_text(encoding="utf-8").split()]
    assert killed in loaded and len(loaded) == 3  # two actors, and the one that replaced the killed actor
    assert killed not in {pid for _, pid, *_ in calls(log)}  # its batches were answered by the others
    line = json.loads((tmp_path / "run" / "predictions" / "dies__news.jsonl").read_text().splitlines()[0])
    assert line["id"] == "d0" and line["spans"]  # the killed actor's first batch, answered by its replacement


def test_a_model_asking_for_more_than_the_cluster_has_fails_its_cells_at_once(
    ray_address: str, write_suite: SuiteWriter, tmp_path: Path
) -> None:
    suite = write_suite([
        {"name": "greedy", "adapter": "tests.fakes:Capitalised", "num_cpus": 4, "datasets": ["mail"]},
        {"name": "gpu", "adapter": "tests.fakes:Capitalised", "num_gpus": 0.5, "datasets": ["mail"]},
        {"name": "caps", "adapter": "tests.fakes:Capitalised", "num_cpus": 0.5, "datasets": ["mail"]},
    ])  # fmt: skip
    run = ("run", suite, "--executor", "ray", "--address", ray_address, "--out", tmp_path / "run")
    proc = nerbench(*run, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    doc = results(tmp_path / "run")
    assert "asks for 4 CPUs per worker and the Ray cluster has 2" in cell(doc, "greedy", "mail")["reason"]
    assert "asks for 0.5 GPUs per worker and the Ray cluster has 0" in cell(doc, "gpu", "mail")["reason"]
    assert cell(doc, "caps", "mail")["status"] == "done"


def test_a_cluster_wanting_a_token_nerbench_cannot_find_stops_the_run_with_one_line(
    ray_address: str, write_suite: SuiteWriter, tmp_path: Path
) -> None:
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised"}])
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_TOKEN"}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path))  # no ~/.ray/auth_token either
    proc = subprocess.run(
        [sys.executable, "-m", "nerbench.cli", "run", str(suite), "--executor", "ray", "--address", ray_address,
         "--store", str(tmp_path / "r.db")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == (
        f"nerbench: error: the Ray cluster at {ray_address} wants an authentication token and nerbench found none: "
        "set RAY_AUTH_TOKEN_PATH to its token file (on the head node: ray get-auth-token) or RAY_AUTH_TOKEN\n"
    )
    assert not (tmp_path / "r.db").exists()
