"""SIGTERM and SIGINT stop a run promptly: marked interrupted, workers killed, one line saying how to resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.conftest import REPO, SuiteWriter, nerbench, results


def _metrics(run_dir: Path) -> dict[tuple[str, str], object]:
    return {(c["model"], c["dataset"]): c["metrics"] for c in results(run_dir)["cells"]}


def _start(suite: Path, *args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "nerbench.cli", "run", str(suite), *map(str, args)]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text(encoding="utf-8").split()] if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _stored_predictions(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
    except sqlite3.Error:
        return 0


def _status(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM runs ORDER BY rowid")]


def _stop(proc: subprocess.Popen[str], signum: int) -> tuple[float, str]:
    """Send ``signum`` to the run (the driver only, as ``kill PID`` does); seconds until it exited, and its stderr."""
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    return time.monotonic() - sent, stderr


def test_sigterm_mid_run_marks_it_interrupted_kills_the_worker_and_resume_gives_the_clean_results(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    pids = tmp_path / "pids.txt"
    suite = write_suite([
        {"name": "slow", "adapter": "tests.fakes:Capitalised", "batch_delay": 0.3, "pid_file": str(pids)},
        {"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM"},
    ])  # fmt: skip
    nerbench("run", suite, "--out", tmp_path / "clean", "--store", tmp_path / "clean.db", cwd=tmp_path)
    pids.unlink()

    db = tmp_path / "killed.db"
    proc = _start(suite, "--out", tmp_path / "resumed", "--store", db, cwd=tmp_path)
    _wait_for(lambda: _stored_predictions(db) >= 8, "a few stored batches")
    (worker,) = _pids(pids)
    seconds, stderr = _stop(proc, signal.SIGTERM)
    assert seconds < 2.0, seconds
    assert proc.returncode == 143
    assert stderr.count("\n") == 1 and stderr.startswith("nerbench: interrupted by SIGTERM: run "), stderr
    assert f"is marked interrupted; resume it with: nerbench run {suite} --resume --store {db} --out " in stderr
    assert _status(db) == ["interrupted"]
    _wait_for(lambda: _gone(worker), "the worker to be gone", timeout=2)  # killed and reaped, not orphaned
    assert not (tmp_path / "resumed" / "results.json").exists()

    nerbench("run", suite, "--resume", "--out", tmp_path / "resumed", "--store", db, cwd=tmp_path)
    assert _metrics(tmp_path / "resumed") == _metrics(tmp_path / "clean")
    assert _status(db) == ["done"] and len(results(tmp_path / "resumed")["cells"]) == 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_during_training_stops_the_run_at_once(tmp_path: Path, signum: int) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "d0", "text": "Ada flew.", "spans": [{"start": 0, "end": 3, "label": "PER"}]}\n')
    pids = tmp_path / "pids.txt"
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"datasets:\n  - {{name: g, path: {gold}, train: {gold}}}\nmodels:\n"
        f"  - {{name: slow, adapter: 'tests.fakes:SlowTrainer', fit_delay: 60, pid_file: '{pids}'}}\n",
        encoding="utf-8",
    )
    db = tmp_path / "r.db"
    proc = _start(suite, "--store", db, cwd=tmp_path)
    _wait_for(lambda: _pids(pids), "the worker to load")
    time.sleep(0.5)  # into fit()
    (worker,) = _pids(pids)
    seconds, stderr = _stop(proc, signum)
    assert seconds < 2.0, seconds
    assert proc.returncode == 128 + signum
    name = signal.Signals(signum).name
    assert stderr.startswith(f"nerbench: interrupted by {name}: run ") and stderr.count("\n") == 1, stderr
    assert stderr.endswith(f"resume it with: nerbench run {suite} --resume --store {db}\n")
    assert _status(db) == ["interrupted"]
    _wait_for(lambda: _gone(worker), "the worker to be gone", timeout=2)
