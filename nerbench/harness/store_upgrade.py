"""Rows of a cell's details, and the in-place upgrade of a store an earlier nerbench wrote.

Details (per-document counts and every matching decision) are rows, never one value per cell: SQLite
refuses values over 1 GB, which a cell's details reach at about ten million documents. A store of
schema version 1 (prediction rows keyed by the 64-character cache key, details inside each cell's JSON)
is upgraded in one transaction the first time a writing command opens it: every run, cell and cached
prediction is kept.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

UPGRADABLE = ("1",)
_OLD = ("cells", "prediction_sets", "predictions", "batches")


def insert_details(db: sqlite3.Connection, scoring_id: int, details: Mapping[str, Any]) -> None:
    """A scoring's per-document counts and instance records, as rows."""
    insert_detail_rows(
        db, scoring_id, 0, 0, details.get("doc_ids") or (), details.get("per_doc") or (), details.get("instances") or ()
    )


def insert_detail_rows(
    db: sqlite3.Connection,
    scoring_id: int,
    first_position: int,
    first_seq: int,
    doc_ids: Sequence[str],
    per_doc: Iterable[Sequence[int]],
    instances: Iterable[Sequence[Any]],
) -> None:
    """Rows of a scoring's details from the given document position and record number on (a batch of them)."""
    db.executemany(
        "INSERT INTO doc_counts VALUES (?, ?, ?, ?, ?, ?)",
        (
            (scoring_id, first_position + i, d, int(c[0]), int(c[1]), int(c[2]))
            for i, (d, c) in enumerate(zip(doc_ids, per_doc, strict=True))
        ),
    )
    db.executemany(
        "INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ((scoring_id, first_seq + i, *row) for i, row in enumerate(instances)),
    )


def read_details(db: sqlite3.Connection, scoring_id: int) -> dict[str, Any]:
    """A scoring's details in the JSON shape of ``details/M__D.json``."""
    counts = db.execute(
        "SELECT doc_id, correct, predicted, gold FROM doc_counts WHERE scoring_id = ? ORDER BY position",
        (scoring_id,),
    ).fetchall()
    instances = db.execute(
        "SELECT doc_id, gold_index, pred_index, class, gold_label, pred_label FROM instances "
        "WHERE scoring_id = ? ORDER BY seq",
        (scoring_id,),
    ).fetchall()
    return {
        "doc_ids": [row[0] for row in counts],
        "per_doc": [list(row[1:]) for row in counts],
        "per_doc_columns": ["correct", "scored_predictions", "gold"],
        "instances": [list(row) for row in instances],
        "instance_columns": ["doc_id", "gold_index", "pred_index", "class", "gold_label", "pred_label"],
    }


def _create(db: sqlite3.Connection, tables_sql: str, names: Iterable[str]) -> None:
    wanted = set(names)
    for statement in tables_sql.split(";"):
        found = re.search(r"CREATE TABLE (\w+)", statement)
        if found and found.group(1) in wanted:
            db.execute(statement)


def upgrade_from_v1(db: sqlite3.Connection, tables_sql: str) -> None:
    """Upgrade a version-1 store in place, inside the caller's transaction."""
    for table in _OLD:
        db.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
    _create(db, tables_sql, (*_OLD, "scorings", "doc_counts", "instances"))
    db.execute(
        "INSERT INTO prediction_sets (cache_key, adapter, fingerprint, dataset_hash, complete, perf, created_at) "
        "SELECT cache_key, adapter, fingerprint, dataset_hash, complete, perf, created_at FROM old_prediction_sets"
    )
    for table, columns in (("predictions", "doc_id, position, spans, error"),
                           ("batches", "first_position, documents, characters, seconds")):  # fmt: skip
        db.execute(
            f"INSERT INTO {table} SELECT s.id, {', '.join('o.' + c.strip() for c in columns.split(','))} "
            f"FROM old_{table} o JOIN prediction_sets s ON s.cache_key = o.cache_key"
        )
    cells = db.execute("SELECT run_id, model, dataset, status, cache_key, result, updated_at FROM old_cells").fetchall()
    for run_id, model, dataset, status, cache_key, result, updated_at in cells:
        data = json.loads(result or "{}")
        details = data.pop("details", None) if isinstance(data, dict) else None
        scoring_id = None
        if details:
            text = json.dumps(data, ensure_ascii=False)
            key = f"upgraded\x00{run_id}\x00{model}\x00{dataset}"
            scoring_id = db.execute(
                "INSERT INTO scorings (result_key, result, created_at) VALUES (?, ?, ?)", (key, text, updated_at)
            ).lastrowid
            insert_details(db, int(scoring_id or 0), details)
        db.execute(
            "INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, model, dataset, status, cache_key, json.dumps(data, ensure_ascii=False), updated_at, scoring_id),
        )
    for table in _OLD:
        db.execute(f"DROP TABLE old_{table}")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
