"""The results store: an embedded SQLite database of runs, cells and every prediction.

Predictions are cached by a key over (adapter, model fingerprint, options, dataset
content), so re-running a suite only runs what changed and a paid API is never
called twice for the same documents. Predictions are written batch by batch, so a
run killed at any moment resumes from the last committed batch. WAL mode and a
busy timeout let two runs share one store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nerbench.errors import InputError

SCHEMA_VERSION = 1
DEFAULT_STORE = Path(".nerbench/results.db")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, suite TEXT, suite_path TEXT, suite_digest TEXT, created_at TEXT,
    finished_at TEXT, status TEXT, out_dir TEXT, info TEXT);
CREATE TABLE IF NOT EXISTS cells (
    run_id TEXT, model TEXT, dataset TEXT, status TEXT, cache_key TEXT, result TEXT, updated_at TEXT,
    PRIMARY KEY (run_id, model, dataset));
CREATE TABLE IF NOT EXISTS prediction_sets (
    cache_key TEXT PRIMARY KEY, adapter TEXT, fingerprint TEXT, dataset_hash TEXT, complete INTEGER,
    perf TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS predictions (
    cache_key TEXT, doc_id TEXT, position INTEGER, spans TEXT, error TEXT,
    PRIMARY KEY (cache_key, doc_id));
CREATE TABLE IF NOT EXISTS batches (
    cache_key TEXT, first_position INTEGER, documents INTEGER, characters INTEGER, seconds REAL,
    PRIMARY KEY (cache_key, first_position));
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredPrediction:
    """One document's stored output: spans as ``[start, end, label, surface]`` lists, or an error."""

    doc_id: str
    position: int
    spans: list[list[Any]]
    error: str | None


class Store:
    """A results database; every write is one short transaction."""

    def __init__(self, path: str | Path = DEFAULT_STORE) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 60000")
        self._retrying(lambda: self.db.execute("PRAGMA journal_mode = WAL"))
        # WAL with synchronous=NORMAL: a killed process loses nothing committed (only a power cut could).
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._retrying(lambda: self.db.executescript(_TABLES))
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise InputError(
                f"store schema version {row[0]} is not {SCHEMA_VERSION}: use a new --store", path=self.path
            )

    def _retrying(self, action: Any) -> Any:
        for attempt in range(50):
            try:
                return action()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt == 49:
                    raise
                time.sleep(0.1)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._retrying(lambda: self.db.execute("BEGIN IMMEDIATE"))
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # runs
    def create_run(
        self, run_id: str, *, suite: str, suite_path: str, digest: str, out_dir: str, info: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, 'running', ?, ?)",
                (run_id, suite, suite_path, digest, now(), out_dir, json.dumps(info)),
            )

    def finish_run(self, run_id: str, status: str = "done") -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now(), run_id))

    def unfinished_run(self, suite_path: str, digest: str) -> dict[str, Any] | None:
        """The latest run of this suite file (same text) that did not finish."""
        row = self.db.execute(
            "SELECT id FROM runs WHERE suite_path = ? AND suite_digest = ? AND status != 'done' "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (suite_path, digest),
        ).fetchone()
        return self.run(row[0]) if row else None

    def run(self, run_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        names = [d[0] for d in self.db.execute("SELECT * FROM runs LIMIT 0").description]
        record = dict(zip(names, row, strict=True))
        record["info"] = json.loads(record["info"] or "{}")
        return record

    def runs(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM runs ORDER BY created_at, rowid")]
        return [r for r in (self.run(i) for i in ids) if r is not None]

    def latest_run_id(self) -> str | None:
        row = self.db.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # cells
    def save_cell(
        self, run_id: str, model: str, dataset: str, *, status: str, cache_key: str | None, result: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, model, dataset, status, cache_key, json.dumps(result, ensure_ascii=False), now()),
            )

    def cells(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT model, dataset, status, cache_key, result FROM cells WHERE run_id = ? ORDER BY rowid", (run_id,)
        )
        return [{"model": m, "dataset": d, "status": s, "cache_key": k, **json.loads(r)} for m, d, s, k, r in rows]

    def cell_done(self, run_id: str, model: str, dataset: str) -> bool:
        row = self.db.execute(
            "SELECT status FROM cells WHERE run_id = ? AND model = ? AND dataset = ?", (run_id, model, dataset)
        ).fetchone()
        return row is not None and row[0] in ("done", "failed", "schema-mismatch")

    # predictions
    def prediction_set(self, cache_key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT complete, perf FROM prediction_sets WHERE cache_key = ?", (cache_key,)).fetchone()
        if row is None:
            return None
        return {"complete": bool(row[0]), "perf": json.loads(row[1] or "{}")}

    def start_prediction_set(self, cache_key: str, *, adapter: str, fingerprint: str, dataset_hash: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO prediction_sets VALUES (?, ?, ?, ?, 0, NULL, ?)",
                (cache_key, adapter, fingerprint, dataset_hash, now()),
            )

    def forget_prediction_set(self, cache_key: str) -> None:
        with self.transaction() as db:
            for table in ("predictions", "batches", "prediction_sets"):
                db.execute(f"DELETE FROM {table} WHERE cache_key = ?", (cache_key,))

    def add_batch(
        self,
        cache_key: str,
        first_position: int,
        predictions: Iterable[StoredPrediction],
        *,
        characters: int,
        seconds: float,
    ) -> None:
        """Store one batch's outputs and its timing in one transaction (all or nothing)."""
        rows = [
            (cache_key, p.doc_id, p.position, json.dumps(p.spans, ensure_ascii=False), p.error) for p in predictions
        ]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?)", rows)
            db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)",
                (cache_key, first_position, len(rows), characters, seconds),
            )

    def complete_prediction_set(self, cache_key: str, perf: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE prediction_sets SET complete = 1, perf = ? WHERE cache_key = ?", (json.dumps(perf), cache_key)
            )

    def predictions(self, cache_key: str) -> dict[str, StoredPrediction]:
        rows = self.db.execute(
            "SELECT doc_id, position, spans, error FROM predictions WHERE cache_key = ?", (cache_key,)
        )
        return {d: StoredPrediction(d, p, json.loads(s), e) for d, p, s, e in rows}

    def batch_totals(self, cache_key: str) -> tuple[int, int, float]:
        """Documents, characters and adapter seconds over every stored batch of a prediction set."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(documents), 0), COALESCE(SUM(characters), 0), COALESCE(SUM(seconds), 0) "
            "FROM batches WHERE cache_key = ?",
            (cache_key,),
        ).fetchone()
        return int(row[0]), int(row[1]), float(row[2])
