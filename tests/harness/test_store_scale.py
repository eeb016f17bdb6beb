"""The store at scale: prediction rows keyed by a small integer, details as rows (never one giant value per
cell), a cache-hit rerun that reuses the stored scoring instead of redoing it, and the in-place upgrade of a
store an earlier nerbench wrote."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from nerbench.errors import InputError
from nerbench.harness.store import Store, StoredPrediction
from tests.harness.conftest import SuiteWriter, nerbench, results

V1_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (id TEXT PRIMARY KEY, suite TEXT, suite_path TEXT, suite_digest TEXT, created_at TEXT,
    finished_at TEXT, status TEXT, out_dir TEXT, info TEXT);
CREATE TABLE cells (run_id TEXT, model TEXT, dataset TEXT, status TEXT, cache_key TEXT, result TEXT, updated_at TEXT,
    PRIMARY KEY (run_id, model, dataset));
CREATE TABLE prediction_sets (cache_key TEXT PRIMARY KEY, adapter TEXT, fingerprint TEXT, dataset_hash TEXT,
    complete INTEGER, perf TEXT, created_at TEXT);
CREATE TABLE predictions (cache_key TEXT, doc_id TEXT, position INTEGER, spans TEXT, error TEXT,
    PRIMARY KEY (cache_key, doc_id));
CREATE TABLE batches (cache_key TEXT, first_position INTEGER, documents INTEGER, characters INTEGER, seconds REAL,
    PRIMARY KEY (cache_key, first_position));
"""
KEY = "k" * 64
DETAILS = {
    "doc_ids": ["d0", "d1"],
    "per_doc": [[1, 1, 1], [0, 1, 2]],
    "instances": [
        ["d0", 0, 0, "COR", "PER", "PER"],
        ["d1", 0, 0, "TYPE", "LOC", "PER"],
        ["d1", 1, None, "MIS", "PER", None],
    ],
}


def v1_store(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_TABLES)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO runs VALUES ('r1', 's', '/s.yaml', 'dg', '2026-11-01', '2026-11-01', 'done', '/o', '{}')")
    cell = {"model": "m", "dataset": "d", "status": "done", "metrics": None, "details": DETAILS}
    db.execute("INSERT INTO cells VALUES ('r1', 'm', 'd', 'done', ?, ?, '2026-11-01')", (KEY, json.dumps(cell)))
    db.execute(
        "INSERT INTO prediction_sets VALUES (?, 'crf', 'crf:1', 'h', 1, '{\"load_s\": 1}', '2026-11-01')", (KEY,)
    )
    for i in range(2):
        db.execute("INSERT INTO predictions VALUES (?, ?, ?, '[[0, 3, \"PER\", null]]', NULL)", (KEY, f"d{i}", i))
    db.execute("INSERT INTO batches VALUES (?, 0, 2, 40, 0.5)", (KEY,))
    db.commit()
    db.close()


def test_a_version_1_store_is_upgraded_in_place_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    v1_store(path)
    with pytest.raises(InputError, match="written by an earlier nerbench: any run on it"):
        Store(path, read_only=True)  # a read-only open never writes, so it cannot upgrade
    store = Store(path)
    try:
        assert store.predictions(KEY)["d1"] == StoredPrediction("d1", 1, [[0, 3, "PER", None]], None)
        assert store.batch_totals(KEY) == (2, 40, 0.5)
        assert store.prediction_set(KEY) == {"complete": True, "perf": {"load_s": 1}}
        (cell,) = store.cells("r1")
        assert "details" not in cell and cell["model"] == "m"
        details = store.cell_details("r1")[("m", "d")]
        assert (details["doc_ids"], details["per_doc"], details["instances"]) == (
            DETAILS["doc_ids"], DETAILS["per_doc"], DETAILS["instances"],
        )  # fmt: skip
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta").fetchone() == ("2",)
    assert db.execute("SELECT typeof(set_id) FROM predictions LIMIT 1").fetchone() == ("integer",)
    assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'old_%'").fetchall()
    db.close()
    Store(path, read_only=True).close()  # upgraded: now it reads


def _rows(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("scorings", "doc_counts",
                                                                                   "instances", "cells")}  # fmt: skip
    finally:
        conn.close()


def test_details_are_rows_and_a_cache_hit_rerun_reuses_the_scoring(write_suite: SuiteWriter, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    suite = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "call_log": str(log)}])
    db = tmp_path / "r.db"
    nerbench("run", suite, "--out", tmp_path / "run1", "--store", db, cwd=tmp_path)
    first = _rows(db)
    assert first["scorings"] == 2 and first["doc_counts"] > 0 and first["instances"] > 0
    conn = sqlite3.connect(db)
    assert all("details" not in json.loads(r) for (r,) in conn.execute("SELECT result FROM cells"))
    conn.close()
    calls = log.read_text().splitlines()
    nerbench("run", suite, "--out", tmp_path / "run2", "--store", db, cwd=tmp_path)
    assert log.read_text().splitlines() == calls  # no model ran
    again = _rows(db)
    assert {k: again[k] for k in ("scorings", "doc_counts", "instances")} == {
        k: first[k] for k in ("scorings", "doc_counts", "instances")
    }  # reused, not stored twice
    assert again["cells"] == 2 * first["cells"]
    one, two = results(tmp_path / "run1"), results(tmp_path / "run2")
    for a, b in zip(one["cells"], two["cells"], strict=True):
        assert (a["cached"], b["cached"]) == (False, True)
        assert {**a, "cached": True} == b  # every number, bucket and CI the same
    assert (tmp_path / "run2" / "details" / "caps__news.json").read_text() == (
        tmp_path / "run1" / "details" / "caps__news.json"
    ).read_text()
    # a setting the scoring depends on changes: scored again (predictions still cached)
    changed = write_suite([{"name": "caps", "adapter": "tests.fakes:Capitalised", "call_log": str(log)}],
                          settings={"bootstrap": 300})  # fmt: skip
    nerbench("run", changed, "--out", tmp_path / "run3", "--store", db, cwd=tmp_path)
    assert _rows(db)["scorings"] == first["scorings"] + 2 and log.read_text().splitlines() == calls
