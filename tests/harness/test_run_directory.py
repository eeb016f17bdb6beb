"""``nerbench run --out DIR`` writes only where nothing of the user's can be lost; a rewrite leaves nothing stale."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.harness.conftest import SuiteWriter, nerbench, results

CAPS = {"name": "caps", "adapter": "tests.fakes:Capitalised"}
RAISER = {"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM"}


def _files(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}


def test_a_directory_holding_other_files_is_refused_before_anything_runs(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    suite = write_suite([{**CAPS, "call_log": str(log)}])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes", encoding="utf-8")
    (mine / "results.csv").write_text("my,own,csv\n", encoding="utf-8")
    proc = nerbench("run", suite, "--out", mine, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"nerbench: error: {mine}: --out names a directory holding files nerbench did not write" in proc.stderr
    assert _files(mine) == {"notes.txt", "results.csv"} and (mine / "results.csv").read_text() == "my,own,csv\n"
    assert not log.exists() and not (tmp_path / "r.db").exists()  # nothing ran, no store was made
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    proc = nerbench("run", suite, "--out", a_file, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "--out names a file" in proc.stderr and a_file.read_text() == "x"


def test_an_empty_directory_and_an_earlier_runs_are_written_and_stale_files_removed(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    nerbench("run", write_suite([CAPS, RAISER]), "--out", out, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    before = _files(out)
    assert {"predictions/raiser__news.jsonl", "details/raiser__mail.json", "gold/news.jsonl"} <= before
    (out / "notes.txt").write_text("kept", encoding="utf-8")  # the user's file in a run directory is never touched
    (out / "predictions" / "by-hand.txt").write_text("kept", encoding="utf-8")

    first = results(out)["run"]["id"]
    suite = write_suite([CAPS])  # raiser is gone, and only news runs: its files and mail's are stale
    nerbench("run", suite, "--datasets", "news", "--out", out, "--store", tmp_path / "r.db", cwd=tmp_path)
    assert results(out)["run"]["id"] != first
    after = _files(out)
    assert {p for p in after if p.startswith(("gold/", "predictions/", "details/"))} == {
        "gold/news.jsonl", "predictions/caps__news.jsonl", "details/caps__news.json", "predictions/by-hand.txt",
    }  # fmt: skip
    assert "notes.txt" in after and (out / "notes.txt").read_text() == "kept"


def test_resume_keeps_its_run_directory_and_refuses_another(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite([CAPS])
    db = tmp_path / "r.db"
    proc = nerbench("run", suite, "--out", tmp_path / "first", "--store", db, "--limit", "2", cwd=tmp_path)
    assert proc.returncode == 0
    with sqlite3.connect(db) as conn:  # as a killed run leaves it
        conn.execute("UPDATE runs SET status = 'interrupted'")
    run_id = results(tmp_path / "first")["run"]["id"]
    elsewhere = nerbench("run", suite, "--resume", "--out", tmp_path / "second", "--store", db, "--limit", "2",
                         cwd=tmp_path, check=False)  # fmt: skip
    assert elsewhere.returncode == 2 and elsewhere.stderr.count("\n") == 1, elsewhere.stderr
    assert (
        f"--resume continues run {run_id}, whose run directory is {(tmp_path / 'first').resolve()}" in elsewhere.stderr
    )
    assert not (tmp_path / "second").exists()
    same = nerbench("run", suite, "--resume", "--out", tmp_path / "first", "--store", db, "--limit", "2", cwd=tmp_path)
    assert same.returncode == 0 and results(tmp_path / "first")["run"]["id"] == run_id
    assert results(tmp_path / "first")["run"]["status"] == "done"
