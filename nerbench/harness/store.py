"""The results store: an embedded SQLite database of runs, cells and every prediction.

Predictions are cached by a key over (adapter, model fingerprint, options, dataset
content), so re-running a suite only runs what changed and a paid API is never
called twice for the same documents. Predictions are written batch by batch, so a
run killed at any moment resumes from the last committed batch. WAL mode and a
busy timeout let two runs share one store.

An absent or empty file becomes a new store; anything else must already be one (checked
before any write, so a mistyped ``--store`` never touches someone else's database).
``read_only=True`` never creates or writes. Every SQLite error, from a garbled file to a
full disk, becomes one ``InputError`` naming the store; a failed write is rolled back.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import orjson

from nerbench.errors import InputError
from nerbench.harness.store_upgrade import (
    UPGRADABLE,
    insert_detail_rows,
    insert_details,
    read_details,
    upgrade_from_v1,
)

SCHEMA_VERSION = 2  # 2: integer prediction-set ids, per-document details in rows, shared scorings
DEFAULT_STORE = Path(".nerbench/results.db")
SQLITE_MAGIC = b"SQLite format 3\x00"

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, suite TEXT, suite_path TEXT, suite_digest TEXT, created_at TEXT,
    finished_at TEXT, status TEXT, out_dir TEXT, info TEXT);
CREATE TABLE cells (
    run_id TEXT, model TEXT, dataset TEXT, status TEXT, cache_key TEXT, result TEXT, updated_at TEXT,
    scoring_id INTEGER, PRIMARY KEY (run_id, model, dataset));
CREATE TABLE prediction_sets (
    id INTEGER PRIMARY KEY, cache_key TEXT UNIQUE, adapter TEXT, fingerprint TEXT, dataset_hash TEXT,
    complete INTEGER, perf TEXT, created_at TEXT);
CREATE TABLE predictions (
    set_id INTEGER, doc_id TEXT, position INTEGER, spans TEXT, error TEXT,
    PRIMARY KEY (set_id, doc_id)) WITHOUT ROWID;
CREATE TABLE batches (
    set_id INTEGER, first_position INTEGER, documents INTEGER, characters INTEGER, seconds REAL,
    PRIMARY KEY (set_id, first_position)) WITHOUT ROWID;
CREATE TABLE scorings (id INTEGER PRIMARY KEY, result_key TEXT UNIQUE, result TEXT, created_at TEXT);
CREATE TABLE doc_counts (
    scoring_id INTEGER, position INTEGER, doc_id TEXT, correct INTEGER, predicted INTEGER, gold INTEGER,
    PRIMARY KEY (scoring_id, position)) WITHOUT ROWID;
CREATE TABLE instances (
    scoring_id INTEGER, seq INTEGER, doc_id TEXT, gold_index INTEGER, pred_index INTEGER, class TEXT,
    gold_label TEXT, pred_label TEXT, PRIMARY KEY (scoring_id, seq)) WITHOUT ROWID;
"""
TABLE_NAMES = frozenset(
    {"meta", "runs", "cells", "prediction_sets", "predictions", "batches", "scorings", "doc_counts", "instances"}
)

# What an SQLite error means for the user, and what to do: (words in SQLite's message, meaning, advice).
_AGAIN = "then run again (--resume continues an interrupted run)"
_PROBLEMS = (
    ("full", "the disk is full", f"free some space, {_AGAIN}"),
    ("readonly", "it cannot be written here", "make it writable, or pass --store with a writable location"),
    ("locked", "another process kept it locked for over {timeout:g} s", f"wait for that process, {_AGAIN}"),
    ("unable to open", "SQLite cannot open it", "check that its directory exists and is writable"),
    ("i/o", "the disk failed a read or write", f"check the disk and the space left on it, {_AGAIN}"),
)
_DAMAGED = ("malformed", "not a database")
_ERRORS = (sqlite3.Error, UnicodeDecodeError)  # a damaged file can hold text that is not UTF-8

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _delete(db: sqlite3.Connection, table: str, rows_of: tuple[str, ...], column: str, row_id: int) -> None:
    """A row of ``table`` and the rows of ``rows_of`` whose ``column`` points at it."""
    for other in rows_of:
        db.execute(f"DELETE FROM {other} WHERE {column} = ?", (row_id,))
    db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _guarded(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """Turn any SQLite error inside ``method`` into one InputError naming the store."""

    @functools.wraps(method)
    def guarded(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except _ERRORS as err:
            raise self._failure(err) from err

    return guarded


def _file_kind(path: Path) -> str:
    """``absent``, ``empty``, ``directory``, ``sqlite`` or ``other``, from the first bytes alone."""
    try:
        if stat.S_ISDIR(path.stat().st_mode):
            return "directory"
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except (FileNotFoundError, NotADirectoryError):
        return "absent"
    except OSError as err:
        raise InputError(f"cannot read the results store: {err.strerror}", path=path) from err
    if not head:
        return "empty"
    return "sqlite" if head == SQLITE_MAGIC else "other"


def is_new(path: str | Path) -> bool:
    """Whether ``path`` is absent or an empty file: no store yet, and ``Store(path)`` would make one there."""
    return _file_kind(Path(path)) in ("absent", "empty")


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.resolve().parent).free < 1 << 20
    except OSError:
        return False


@dataclass(frozen=True)
class StoredPrediction:
    """One document's stored output: spans as ``[start, end, label, surface]`` lists, or an error."""

    doc_id: str
    position: int
    spans: list[list[Any]]
    error: str | None


class Store:
    """A results database; every write is one short transaction.

    ``Store(path)`` opens a store, creating it when ``path`` is absent or empty;
    ``Store(path, read_only=True)`` only opens an existing store and never writes.
    ``timeout`` is how many seconds a write waits for another process's lock.
    """

    READ_BATCH = 500  # documents whose predictions one query reads

    def __init__(self, path: str | Path = DEFAULT_STORE, *, read_only: bool = False, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.timeout = timeout
        self._check_file()
        try:
            self.db = self._connect("ro" if read_only else "rwc")
            try:
                self._open_read_only() if read_only else self._open_writable()
            except BaseException:
                self.db.close()
                raise
        except _ERRORS as err:
            raise self._failure(err) from err

    def _check_file(self) -> None:
        """Refuse what cannot be a store before SQLite sees it; make the directory of a new one."""
        kind = _file_kind(self.path)
        why = {"directory": "it is a directory", "other": "it is not an SQLite database"}
        if self.read_only:
            why.update(absent="the file does not exist", empty="the file is empty")
        if kind in why:
            raise self._not_a_store(why[kind])
        if kind == "absent":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise InputError(
                    f"cannot create its directory {self.path.parent}: {err.strerror}; pass --store with a writable "
                    "location",
                    path=self.path,
                ) from err
            # SQLite makes a database 0644 whatever the umask, and its -wal and -shm files take the
            # database's mode: created here first, the store gets 0666 less the umask, as open() would.
            with suppress(OSError):  # made meanwhile, or not writable: SQLite says what is wrong
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))

    def _connect(self, mode: str, *, immutable: bool = False) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode={mode}" + ("&immutable=1" if immutable else "")
        db = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return db

    def _open_read_only(self) -> None:
        self.db.execute("PRAGMA query_only = ON")
        try:
            names = self._schema()
        except sqlite3.OperationalError as err:
            if not any(w in str(err) for w in ("readonly", "unable to open")):
                raise
            # A WAL store in a read-only directory: SQLite cannot make its shared-memory file there,
            # and nobody can be writing the store there, so read the file as it is.
            self.db.close()
            self.db = self._connect("ro", immutable=True)
            names = self._schema()
        self._check_schema(names)

    def _open_writable(self) -> None:
        names = self._schema()
        version = self._check_schema(names) if names else None  # before any write: a foreign one stays as it was
        self._retrying(lambda: self.db.execute("PRAGMA journal_mode = WAL"))
        # WAL with synchronous=NORMAL: a killed process loses nothing committed (only a power cut could).
        self.db.execute("PRAGMA synchronous = NORMAL")
        if not names:
            with self.transaction() as db:
                names = self._schema()  # another process may have created the store meanwhile
                if names:
                    self._check_schema(names)
                else:
                    for statement in _TABLES.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        if version in UPGRADABLE:
            with self.transaction() as db:
                if self._version() in UPGRADABLE:  # another process may have upgraded it meanwhile
                    upgrade_from_v1(db, _TABLES)

    def _schema(self) -> set[str]:
        """Names in the database's schema (tables, indexes, views, triggers): empty for a new database."""
        rows = self._retrying(lambda: self.db.execute("SELECT name FROM sqlite_master").fetchall())
        return {str(name) for (name,) in rows}

    def _version(self) -> str | None:
        try:
            row = self._retrying(
                lambda: self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            )
        except sqlite3.OperationalError as err:
            if "no such column" not in str(err):
                raise
            return None  # someone else's table called meta
        return None if row is None else str(row[0])

    def _check_schema(self, names: set[str]) -> str:
        """The store's schema version: this one, or one a writable open upgrades in place."""
        if "meta" not in names:
            raise self._not_a_store("it is an SQLite database without nerbench's tables")
        version = self._version()
        if version is None:
            raise self._not_a_store("it is an SQLite database without nerbench's schema version")
        if version in UPGRADABLE and self.read_only:
            raise InputError(
                f"results store schema version {version} was written by an earlier nerbench: any run on it "
                "(nerbench run ... --store it) upgrades it in place, keeping every run and cached prediction",
                path=self.path,
            )
        if version in UPGRADABLE:
            return version
        if version != str(SCHEMA_VERSION):
            problem = f"results store schema version {version[:20]!r} is not {SCHEMA_VERSION}"
            raise InputError(f"{problem} (another nerbench version wrote it): {self._advice}", path=self.path)
        missing = ", ".join(sorted(TABLE_NAMES - names))
        if missing:
            raise self._not_a_store(f"it lacks nerbench's tables {missing}")
        return version

    @property
    def _advice(self) -> str:
        return "pass --store with the results store a run wrote" if self.read_only else (
            "pass --store with a new file name")  # fmt: skip

    def _not_a_store(self, why: str) -> InputError:
        return InputError(f"not a nerbench results store: {why}; {self._advice}", path=self.path)

    def _failure(self, err: sqlite3.Error | UnicodeDecodeError) -> InputError:
        """The one line a user reads for an SQLite error: what happened, that nothing is lost, what to do."""
        text = " ".join(str(err).split())
        if isinstance(err, UnicodeDecodeError) or any(word in text.lower() for word in _DAMAGED):
            return self._not_a_store(f"it is damaged or truncated (SQLite: {text})")
        meaning, advice = next(
            ((m, a) for word, m, a in _PROBLEMS if word in text.lower()), ("SQLite failed", f"fix that, {_AGAIN}")
        )
        if "i/o" in text.lower() and _nearly_full(self.path):
            meaning = "the disk is full"  # SQLite reports a full disk met while growing its WAL index as I/O
        return InputError(
            f"the results store failed: {meaning.format(timeout=self.timeout)} (SQLite: {text}); "
            f"nothing committed was lost, an unfinished write is rolled back: {advice}",
            path=self.path,
        )

    def _loads(self, text: Any, kind: type[T]) -> T:
        """A stored JSON value, which must be a ``kind``: else the store is damaged."""
        try:
            value = orjson.loads(text)
        except (TypeError, ValueError):  # orjson refuses a few things json reads (a lone surrogate, NaN, huge ints)
            try:
                value = json.loads(text)
            except (TypeError, ValueError):
                value = None
        if not isinstance(value, kind):
            raise self._not_a_store(f"it is damaged (a stored value is not a JSON {kind.__name__})")
        return value

    def _retrying(self, action: Callable[[], R]) -> R:
        """``action``, retried while another process holds a lock SQLite does not wait for, up to ``timeout``."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole, or rolled back whole (also when COMMIT itself fails)."""
        self._retrying(lambda: self.db.execute("BEGIN IMMEDIATE"))
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self.db.close()

    # runs
    @_guarded
    def create_run(
        self, run_id: str, *, suite: str, suite_path: str, digest: str, out_dir: str, info: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, 'running', ?, ?)",
                (run_id, suite, suite_path, digest, now(), out_dir, json.dumps(info)),
            )

    @_guarded
    def finish_run(self, run_id: str, status: str = "done") -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now(), run_id))

    @_guarded
    def record_verdict(self, run_id: str, verdict: str, reason: str | None = None) -> None:
        """A gate's verdict on its run (``pass``, ``fail`` or ``error``), kept in the run's info: a gate that
        failed or stopped on an error never becomes a ``latest`` baseline."""
        with self.transaction() as db:
            row = db.execute("SELECT info FROM runs WHERE id = ?", (run_id,)).fetchone()
            info = self._loads(row[0] if row else "{}", dict)
            info["gate"] = {"verdict": verdict, "reason": reason, "at": now()}
            db.execute("UPDATE runs SET info = ? WHERE id = ?", (json.dumps(info), run_id))

    @_guarded
    def unfinished_run(self, suite_path: str, digest: str) -> dict[str, Any] | None:
        """The latest run of this suite file (same text) that did not finish."""
        row = self.db.execute(
            "SELECT id FROM runs WHERE suite_path = ? AND suite_digest = ? AND status != 'done' "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (suite_path, digest),
        ).fetchone()
        return self.run(row[0]) if row else None

    @_guarded
    def run(self, run_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        names = [d[0] for d in self.db.execute("SELECT * FROM runs LIMIT 0").description]
        record = dict(zip(names, row, strict=True))
        record["info"] = self._loads(record["info"] or "{}", dict)
        return record

    @_guarded
    def runs(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM runs ORDER BY created_at, rowid")]
        return [r for r in (self.run(i) for i in ids) if r is not None]

    @_guarded
    def latest_run_id(self) -> str | None:
        row = self.db.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # cells
    @_guarded
    def save_cell(
        self,
        run_id: str,
        model: str,
        dataset: str,
        *,
        status: str,
        cache_key: str | None,
        result: dict[str, Any],
        result_key: str | None = None,
        details: Mapping[str, Any] | None = None,
        scoring_id: int | None = None,
    ) -> int | None:
        """One cell; with ``result_key``, its scoring (the result and its details as rows) is stored once and
        shared by every cell scored from the same predictions, gold and settings (``details`` written only when
        that scoring is new). ``scoring_id``: a scoring already stored (:meth:`finish_scoring`). Returns the
        cell's scoring id (None: no scoring)."""
        text = json.dumps(result, ensure_ascii=False)
        with self.transaction() as db:
            if scoring_id is None and result_key is not None:
                row = db.execute("SELECT id FROM scorings WHERE result_key = ?", (result_key,)).fetchone()
                if row is None:
                    scoring_id = db.execute(
                        "INSERT INTO scorings (result_key, result, created_at) VALUES (?, ?, ?)",
                        (result_key, text, now()),
                    ).lastrowid
                    insert_details(db, int(scoring_id or 0), details or {})
                else:
                    scoring_id = row[0]
            db.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, model, dataset, status, cache_key, text, now(), scoring_id),
            )
        return None if scoring_id is None else int(scoring_id)

    PENDING = "pending:"  # the result_key of a scoring whose details are still being written

    @_guarded
    def begin_scoring(self, tag: str) -> int:
        """A new scoring whose details rows are added batch by batch (:meth:`add_details`) and which
        :meth:`finish_scoring` makes a result; ``tag`` names the cell, so a scoring left pending by a killed
        run is replaced (its rows deleted) when the cell is scored again."""
        pending = self.PENDING + tag
        with self.transaction() as db:
            old = db.execute("SELECT id FROM scorings WHERE result_key = ?", (pending,)).fetchone()
            if old is not None:
                self._drop_scoring(db, int(old[0]))
            return int(
                db.execute(
                    "INSERT INTO scorings (result_key, result, created_at) VALUES (?, NULL, ?)", (pending, now())
                ).lastrowid
                or 0
            )

    @_guarded
    def drop_scoring(self, scoring_id: int) -> None:
        """Forget a pending scoring and its details rows (its cell failed before it finished)."""
        with self.transaction() as db:
            self._drop_scoring(db, scoring_id)

    @staticmethod
    def _drop_scoring(db: sqlite3.Connection, scoring_id: int) -> None:
        _delete(db, "scorings", ("doc_counts", "instances"), "scoring_id", scoring_id)

    @_guarded
    def add_details(
        self,
        scoring_id: int,
        first_position: int,
        first_seq: int,
        doc_ids: Sequence[str],
        per_doc: Iterable[Sequence[int]],
        instances: Iterable[Sequence[Any]],
    ) -> None:
        """One batch of a pending scoring's details: its documents' counts and its instance records."""
        with self.transaction() as db:
            insert_detail_rows(db, scoring_id, first_position, first_seq, doc_ids, per_doc, instances)

    @_guarded
    def finish_scoring(self, scoring_id: int, result_key: str, result: dict[str, Any]) -> int:
        """Make a pending scoring the result for ``result_key``; where another run stored that result
        meanwhile, the pending one is dropped and the stored one's id returned."""
        with self.transaction() as db:
            row = db.execute("SELECT id FROM scorings WHERE result_key = ?", (result_key,)).fetchone()
            if row is not None:
                self._drop_scoring(db, scoring_id)
                return int(row[0])
            db.execute(
                "UPDATE scorings SET result_key = ?, result = ?, created_at = ? WHERE id = ?",
                (result_key, json.dumps(result, ensure_ascii=False), now(), scoring_id),
            )
            return scoring_id

    @_guarded
    def scoring(self, result_key: str) -> dict[str, Any] | None:
        """The result stored for a scoring key, when a cell was already scored from the same inputs."""
        row = self.db.execute("SELECT result FROM scorings WHERE result_key = ?", (result_key,)).fetchone()
        return None if row is None else self._loads(row[0], dict)

    @_guarded
    def cells(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT model, dataset, status, cache_key, result FROM cells WHERE run_id = ? ORDER BY rowid", (run_id,)
        )
        return [
            {"model": m, "dataset": d, "status": s, "cache_key": k, **self._loads(r, dict)} for m, d, s, k, r in rows
        ]

    @_guarded
    def cell_details(self, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Each scored cell's details (per-document counts and instance records), read from their rows."""
        rows = self.db.execute(
            "SELECT model, dataset, scoring_id FROM cells WHERE run_id = ? AND scoring_id IS NOT NULL", (run_id,)
        ).fetchall()
        return {(m, d): read_details(self.db, int(sid)) for m, d, sid in rows}

    @_guarded
    def scoring_cells(self, scoring_id: int, *, exclude_run: str) -> list[tuple[str, str, str]]:
        """(run directory, model, dataset) of the cells of other finished runs scored as ``scoring_id``,
        newest run first: where the run-directory files of that scoring were written before."""
        rows = self.db.execute(
            "SELECT r.out_dir, c.model, c.dataset FROM cells c JOIN runs r ON r.id = c.run_id "
            "WHERE c.scoring_id = ? AND c.run_id != ? AND r.status = 'done' AND r.out_dir IS NOT NULL "
            "ORDER BY r.created_at DESC LIMIT 5",
            (scoring_id, exclude_run),
        ).fetchall()
        return [(str(d), str(m), str(s)) for d, m, s in rows]

    @_guarded
    def gold_dirs(self, gold_hash: str, *, exclude_run: str) -> list[tuple[str, str]]:
        """(run directory, dataset name) of recent finished runs that read a dataset with this gold content
        hash, newest first: where its gold file was written before."""
        rows = self.db.execute(
            "SELECT out_dir, info FROM runs WHERE status = 'done' AND id != ? AND out_dir IS NOT NULL "
            "ORDER BY created_at DESC LIMIT 20",
            (exclude_run,),
        ).fetchall()
        found = []
        for out_dir, info in rows:
            try:
                datasets = json.loads(info or "{}").get("datasets") or []
            except (ValueError, AttributeError):
                continue
            found += [(str(out_dir), str(d.get("name"))) for d in datasets
                      if isinstance(d, dict) and d.get("content_hash") == gold_hash]  # fmt: skip
        return found

    @_guarded
    def cell_keys(self, run_id: str) -> dict[tuple[str, str], tuple[str | None, int | None]]:
        """Each cell's prediction set (cache key) and scoring (its details rows), by (model, dataset)."""
        rows = self.db.execute("SELECT model, dataset, cache_key, scoring_id FROM cells WHERE run_id = ?", (run_id,))
        return {(m, d): (k, None if sid is None else int(sid)) for m, d, k, sid in rows}

    def doc_counts(self, scoring_id: int) -> Iterator[tuple[str, int, int, int]]:
        """A scoring's (doc id, correct, scored predictions, gold) rows in document order, one at a time."""
        return self._stream(
            "SELECT doc_id, correct, predicted, gold FROM doc_counts WHERE scoring_id = ? ORDER BY position",
            (scoring_id,),
        )

    def instances(self, scoring_id: int) -> Iterator[tuple[Any, ...]]:
        """A scoring's instance records (doc id, gold index, prediction index, class, gold label, predicted
        label) in the order the matcher made them (documents in order), one at a time."""
        return self._stream(
            "SELECT doc_id, gold_index, pred_index, class, gold_label, pred_label FROM instances "
            "WHERE scoring_id = ? ORDER BY seq",
            (scoring_id,),
        )

    @_guarded
    def class_counts(self, scoring_id: int) -> list[tuple[Any, ...]]:
        """(class, gold label, predicted label, how many records) of a scoring, counted by SQLite."""
        return self.db.execute(
            "SELECT class, gold_label, pred_label, COUNT(*) FROM instances WHERE scoring_id = ? "
            "GROUP BY class, gold_label, pred_label",
            (scoring_id,),
        ).fetchall()

    @_guarded
    def worst_documents(self, scoring_id: int, keep: int) -> list[tuple[str, int, int]]:
        """The ``keep`` documents with most error records (records that are not ``COR``), earlier documents
        first among equals: (doc id, position, errors)."""
        return self.db.execute(
            "SELECT d.doc_id, d.position, COALESCE(e.errors, 0) AS errors FROM doc_counts d LEFT JOIN "
            "(SELECT doc_id, SUM(class != 'COR') AS errors FROM instances WHERE scoring_id = ? GROUP BY doc_id) e "
            "ON e.doc_id = d.doc_id WHERE d.scoring_id = ? ORDER BY errors DESC, d.position LIMIT ?",
            (scoring_id, scoring_id, keep),
        ).fetchall()

    @_guarded
    def instances_of(self, scoring_id: int, doc_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """The instance records of a few documents of a scoring, in the matcher's order."""
        if not doc_ids:
            return []
        return self.db.execute(
            "SELECT doc_id, gold_index, pred_index, class, gold_label, pred_label FROM instances "
            f"WHERE scoring_id = ? AND doc_id IN ({', '.join('?' * len(doc_ids))}) ORDER BY seq",
            (scoring_id, *doc_ids),
        ).fetchall()

    def _stream(self, sql: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """A read query's rows one at a time, so a big table is never held whole; SQLite errors raise InputError."""
        try:
            yield from self.db.execute(sql, params)
        except _ERRORS as err:
            raise self._failure(err) from err

    @_guarded
    def cell_done(self, run_id: str, model: str, dataset: str) -> bool:
        row = self.db.execute(
            "SELECT status FROM cells WHERE run_id = ? AND model = ? AND dataset = ?", (run_id, model, dataset)
        ).fetchone()
        return row is not None and row[0] in ("done", "failed", "schema-mismatch")

    # predictions
    def _set_id(self, cache_key: str) -> int | None:
        row = self.db.execute("SELECT id FROM prediction_sets WHERE cache_key = ?", (cache_key,)).fetchone()
        return None if row is None else int(row[0])

    @_guarded
    def prediction_set(self, cache_key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT complete, perf FROM prediction_sets WHERE cache_key = ?", (cache_key,)).fetchone()
        if row is None:
            return None
        return {"complete": bool(row[0]), "perf": self._loads(row[1] or "{}", dict)}

    @_guarded
    def start_prediction_set(self, cache_key: str, *, adapter: str, fingerprint: str, dataset_hash: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO prediction_sets (cache_key, adapter, fingerprint, dataset_hash, complete, "
                "perf, created_at) VALUES (?, ?, ?, ?, 0, NULL, ?)",
                (cache_key, adapter, fingerprint, dataset_hash, now()),
            )

    @_guarded
    def forget_prediction_set(self, cache_key: str) -> None:
        with self.transaction() as db:
            set_id = self._set_id(cache_key)
            if set_id is None:
                return
            _delete(db, "prediction_sets", ("predictions", "batches"), "set_id", set_id)

    @_guarded
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
        with self.transaction() as db:
            set_id = self._set_id(cache_key)
            if set_id is None:
                raise InputError(f"no prediction set {cache_key[:12]} to add a batch to", path=self.path)
            rows = [
                (set_id, p.doc_id, p.position, json.dumps(p.spans, ensure_ascii=False), p.error) for p in predictions
            ]
            db.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?)", rows)
            db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)",
                (set_id, first_position, len(rows), characters, seconds),
            )

    @_guarded
    def complete_prediction_set(self, cache_key: str, perf: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE prediction_sets SET complete = 1, perf = ? WHERE cache_key = ?", (json.dumps(perf), cache_key)
            )

    @_guarded
    def predictions(self, cache_key: str) -> dict[str, StoredPrediction]:
        set_id = self._set_id(cache_key)
        if set_id is None:
            return {}
        rows = self.db.execute("SELECT doc_id, position, spans, error FROM predictions WHERE set_id = ?", (set_id,))
        return {d: StoredPrediction(d, p, self._loads(s, list), e) for d, p, s, e in rows}

    @_guarded
    def failed_share(self, cache_key: str) -> tuple[int, int]:
        """(documents whose output is an error, documents) of a prediction set."""
        set_id = self._set_id(cache_key)
        if set_id is None:
            return 0, 0
        row = self.db.execute(
            "SELECT COALESCE(SUM(error IS NOT NULL), 0), COUNT(*) FROM predictions WHERE set_id = ?", (set_id,)
        ).fetchone()
        return int(row[0]), int(row[1])

    @_guarded
    def reopen_failed(self, cache_key: str) -> None:
        """Drop a prediction set's failed outputs and its timings, and mark it incomplete: the next pass sends
        only the documents that failed (those that succeeded are kept) and times what it sends. The scorings
        made from it stay with the cells of earlier runs, but are no longer found as the result to reuse."""
        with self.transaction() as db:
            set_id = self._set_id(cache_key)
            if set_id is None:
                return
            db.execute(
                "UPDATE scorings SET result_key = 'superseded:' || id WHERE id IN (SELECT scoring_id FROM cells "
                f"WHERE cache_key = ?) AND result_key NOT LIKE '{self.PENDING}%'",
                (cache_key,),
            )
            db.execute("DELETE FROM predictions WHERE set_id = ? AND error IS NOT NULL", (set_id,))
            db.execute("DELETE FROM batches WHERE set_id = ?", (set_id,))
            db.execute("UPDATE prediction_sets SET complete = 0 WHERE id = ?", (set_id,))

    @_guarded
    def predicted_ids(self, cache_key: str) -> set[str]:
        """The ids of the documents a prediction set holds an output for (their spans left undecoded)."""
        set_id = self._set_id(cache_key)
        if set_id is None:
            return set()
        return {d for (d,) in self.db.execute("SELECT doc_id FROM predictions WHERE set_id = ?", (set_id,))}

    def predictions_of(self, cache_key: str, doc_ids: Iterable[str]) -> Iterator[StoredPrediction | None]:
        """The stored output of each of ``doc_ids``, in their order (None: nothing stored for it), read
        ``READ_BATCH`` documents at a time: a prediction set is never decoded whole."""
        ids = iter(doc_ids)
        try:
            set_id = self._set_id(cache_key)
            while chunk := list(itertools.islice(ids, self.READ_BATCH)):
                rows = [] if set_id is None else self.db.execute(
                    "SELECT doc_id, position, spans, error FROM predictions WHERE set_id = ? AND doc_id IN "
                    f"({', '.join('?' * len(chunk))})",
                    (set_id, *chunk),
                ).fetchall()  # fmt: skip
                found = {d: StoredPrediction(d, p, self._loads(s, list), e) for d, p, s, e in rows}
                yield from (found.get(d) for d in chunk)
        except _ERRORS as err:
            raise self._failure(err) from err

    @_guarded
    def batch_totals(self, cache_key: str) -> tuple[int, int, float]:
        """Documents, characters and adapter seconds over every stored batch of a prediction set."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(b.documents), 0), COALESCE(SUM(b.characters), 0), COALESCE(SUM(b.seconds), 0) "
            "FROM batches b JOIN prediction_sets s ON s.id = b.set_id WHERE s.cache_key = ?",
            (cache_key,),
        ).fetchone()
        return int(row[0]), int(row[1]), float(row[2])
