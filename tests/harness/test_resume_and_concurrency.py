"""A run killed with SIGKILL resumes to the same results; two runs can share one store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.conftest import REPO, SuiteWriter, nerbench, results


def _metrics(run_dir: Path) -> dict[tuple[str, str], object]:
    return {(c["model"], c["dataset"]): c["metrics"] for c in results(run_dir)["cells"]}


def _stored_predictions(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_kill_9_mid_suite_then_resume_gives_the_clean_results(write_suite: SuiteWriter, tmp_path: Path) -> None:
    models = [
        {"name": "slow", "adapter": "tests.fakes:Capitalised", "batch_delay": 0.3},
        {"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM"},
    ]
    suite = write_suite(models)
    clean = tmp_path / "clean"
    nerbench("run", suite, "--out", clean, "--store", tmp_path / "clean.db", cwd=tmp_path)

    db = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [
        sys.executable,
        "-m",
        "nerbench.cli",
        "run",
        str(suite),
        "--out",
        str(tmp_path / "resumed"),
        "--store",
        str(db),
    ]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while _stored_predictions(db) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker, mid-batch
    proc.wait()
    killed_at = _stored_predictions(db)
    assert 0 < killed_at < 34, "the kill should land mid-suite"

    nerbench("run", suite, "--resume", "--store", db, cwd=tmp_path)
    assert _metrics(tmp_path / "resumed") == _metrics(clean)
    document = results(tmp_path / "resumed")
    assert document["run"]["status"] == "done"
    assert len(document["cells"]) == 4


def test_two_runs_on_one_store_both_complete(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([
        {"name": "caps", "adapter": "tests.fakes:Capitalised", "batch_delay": 0.05},
        {"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM", "batch_delay": 0.05},
    ])  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nerbench.cli",
                "run",
                str(suite),
                "--out",
                str(tmp_path / f"run{i}"),
                "--store",
                str(tmp_path / "shared.db"),
                "--no-cache",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    assert _metrics(tmp_path / "run0") == _metrics(tmp_path / "run1")
    assert all(len(results(tmp_path / f"run{i}")["cells"]) == 4 for i in range(2))
