"""A finished run read back, from the store or a run directory: typed, and as pandas DataFrames.

``RunResult`` is the ``results.json`` document (run record, datasets, cells); ``LoadedRun`` adds each
cell's details (per-document counts and match records) and the run directory, for the report and the
gate. ``load_results()`` gives the notebook's DataFrames, their columns read from the MetricInfo table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nerbench.buckets import ATTRIBUTES
from nerbench.errors import InputError
from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult
from nerbench.harness.names import cell_file_stem
from nerbench.harness.names import safe_name as safe_name  # re-exported: the report reads gold files by it
from nerbench.harness.store import DEFAULT_STORE, Store, is_new
from nerbench.scoring import SCORER_VERSION


@dataclass(frozen=True)
class RunInfo:
    """The run record: what ran where, when and how it ended."""

    id: str
    suite: str = ""
    suite_path: str = ""
    created_at: str = ""
    finished_at: str | None = None
    status: str = ""
    machine: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    limit: int | None = None
    skipped_models: tuple[Mapping[str, str], ...] = ()
    scorer_version: int = SCORER_VERSION


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset as the run read it."""

    name: str
    path: str = ""
    documents: int = 0
    characters: int = 0
    entities: int = 0
    labels: tuple[str, ...] = ()
    schema: Mapping[str, str] = field(default_factory=dict)
    repairs: int = 0
    content_hash: str = ""
    train: str | None = None


@dataclass(frozen=True)
class Details:
    """Per-document counts and per-instance match records of one cell (``details/M__D.json``)."""

    doc_ids: tuple[str, ...]
    per_doc: tuple[tuple[int, int, int], ...]
    instances: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Details | None:
        if not raw or "per_doc" not in raw:
            return None
        return cls(
            tuple(str(d) for d in raw.get("doc_ids") or ()),
            tuple((int(a), int(b), int(c)) for a, b, c in raw["per_doc"]),
            tuple(tuple(i) for i in raw.get("instances") or ()),
        )


def _fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k in names}


def _clean(value: Any) -> Any:
    """NaN and infinity become null: results are strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class RunResult:
    """One run: the ``results.json`` document, typed."""

    run: RunInfo
    datasets: tuple[DatasetInfo, ...]
    cells: tuple[CellResult, ...]

    def to_json(self) -> dict[str, Any]:
        return _clean(
            {
                "run": asdict(self.run),
                "datasets": [asdict(d) for d in self.datasets],
                "cells": [c.to_json() for c in self.cells],
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        run = dict(data["run"])
        run["skipped_models"] = tuple(run.get("skipped_models") or ())
        datasets = []
        for d in data.get("datasets") or ():
            entry = _fields(DatasetInfo, d)
            entry["labels"] = tuple(entry.get("labels") or ())
            datasets.append(DatasetInfo(**entry))
        return cls(
            RunInfo(**_fields(RunInfo, run)),
            tuple(datasets),
            tuple(CellResult.from_json(c) for c in data.get("cells") or ()),
        )

    def dataset(self, name: str) -> DatasetInfo | None:
        return next((d for d in self.datasets if d.name == name), None)


@dataclass(frozen=True)
class LoadedRun:
    """A run read back with its cells' details and, where it has one, its run directory."""

    result: RunResult
    details: Mapping[tuple[str, str], Details]
    out_dir: Path | None


def stored_cells(store: Store, run_id: str) -> list[CellResult]:
    """A run's cells from the store, in the order they were saved."""
    return [CellResult.from_json(c) for c in store.cells(run_id)]


def read_run(store: Store, run_id: str) -> RunResult:
    """A run from the store alone."""
    record = store.run(run_id)
    if record is None:
        raise InputError(f"no run {run_id!r} in the store: see 'nerbench runs'", path=store.path)
    info = record["info"]
    run = RunInfo(
        id=run_id, suite=record["suite"], suite_path=record["suite_path"], created_at=record["created_at"],
        finished_at=record["finished_at"], status=record["status"], machine=info.get("machine") or {},
        versions=info.get("versions") or {}, settings=info.get("settings") or {}, limit=info.get("limit"),
        skipped_models=tuple(info.get("skipped_models") or ()),
    )  # fmt: skip
    datasets = []
    for d in info.get("datasets") or ():
        entry = _fields(DatasetInfo, d)
        entry["labels"] = tuple(entry.get("labels") or ())
        datasets.append(DatasetInfo(**entry))
    return RunResult(run, tuple(datasets), tuple(stored_cells(store, run_id)))


def resolve_run(store: Store, run: str) -> str:
    """A run id from ``latest`` or an id (or a unique prefix of one)."""
    if run == "latest":
        latest = store.latest_run_id()
        if latest is None:
            raise InputError("the store holds no runs yet: run a suite first (nerbench run SUITE)", path=store.path)
        return latest
    ids = [r["id"] for r in store.runs()]
    matches = [i for i in ids if i == run] or [i for i in ids if i.startswith(run)]
    if len(matches) != 1:
        what = "no run" if not matches else "several runs"
        raise InputError(f"{what} matching {run!r}: see 'nerbench runs'", path=store.path)
    return matches[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"cannot read run results: {err}", path=path) from None


def read_results_file(path: Path) -> tuple[RunResult, dict[tuple[str, str], Details]]:
    """A ``results.json`` (or another results file, such as an accepted gate baseline, which carries each
    cell's details inline) and the details it carries inline."""
    data = _read_json(path)
    try:
        result = RunResult.from_json(data)
        inline = {(str(c["model"]), str(c["dataset"])): Details.from_json(c.get("details")) for c in data["cells"]}
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"not a nerbench results.json ({err!r}): point at a run directory", path=path) from None
    return result, {k: d for k, d in inline.items() if d is not None}


def details_file(run_dir: Path, model: str, dataset: str) -> Path:
    return run_dir / "details" / f"{cell_file_stem(model, dataset)}.json"


def _from_dir(run_dir: Path, path: Path | None = None) -> LoadedRun:
    """A run directory's results.json (or another results file) with its cells' details."""
    result, details = read_results_file(path or run_dir / "results.json")
    for c in result.cells:
        detail = details_file(run_dir, c.model, c.dataset)
        if (c.model, c.dataset) not in details and detail.exists():
            try:
                parsed = Details.from_json(_read_json(detail))
            except (KeyError, TypeError, ValueError) as err:
                raise InputError(f"not a nerbench details file ({err!r})", path=detail) from None
            if parsed is not None:
                details[(c.model, c.dataset)] = parsed
    return LoadedRun(result, details, run_dir)


def run_files(run: str | Path) -> tuple[Path, Path] | None:
    """(run directory, results file) when ``run`` names a run directory or its results file; else None."""
    path = Path(run)
    if path.is_dir():
        return path, path / "results.json"
    if path.suffix == ".json" and path.is_file():
        return path.parent, path
    return None


def open_stored_run(run: str | Path, store: str | Path = DEFAULT_STORE) -> tuple[Store, str]:
    """The store (read only; the caller closes it) and the id of ``run`` in it (an id, a prefix or ``latest``)."""
    if is_new(store):
        raise InputError(f"{str(run)!r} is not a run directory and there is no results store here", path=store)
    db = Store(store, read_only=True)
    try:
        return db, resolve_run(db, str(run))
    except BaseException:
        db.close()
        raise


def load_run(run: str | Path, store: str | Path = DEFAULT_STORE) -> LoadedRun:
    """A run: a run directory (or its results.json), or a run id / prefix / ``latest`` in ``store``."""
    files = run_files(run)
    if files is not None:
        return _from_dir(*files)
    db, run_id = open_stored_run(run, store)
    try:
        result = read_run(db, run_id)
        details = {k: d for k, raw in db.cell_details(run_id).items() if (d := Details.from_json(raw)) is not None}
        record = db.run(run_id) or {}
    finally:
        db.close()
    out_dir = Path(record["out_dir"]) if record.get("out_dir") else None
    return LoadedRun(result, details, out_dir)


@dataclass(frozen=True)
class Results:
    """One run's results: ``cells`` (one row per model x dataset), ``per_label``, ``runs``, and the typed run."""

    run_id: str
    cells: pd.DataFrame
    per_label: pd.DataFrame
    runs: pd.DataFrame
    result: RunResult
    buckets: pd.DataFrame  # one row per model x dataset x attribute x bucket: where each model fails


def _ci_columns(ci: tuple[float, float] | None) -> dict[str, float | None]:
    return {"f1_ci_low": ci[0] if ci else None, "f1_ci_high": ci[1] if ci else None}


def frames(result: RunResult, runs: Sequence[Mapping[str, Any]]) -> Results:
    """The DataFrames of one run; ``cells`` has the MetricInfo table's columns."""
    cells = pd.DataFrame([metric_info.cell_row(c) for c in result.cells], columns=list(metric_info.columns()))
    label_columns = ["model", "dataset", "label", "precision", "recall", "f1", "f1_ci_low", "f1_ci_high", "support",
                     "predicted", "correct"]  # fmt: skip
    labels = [
        {"model": c.model, "dataset": c.dataset, "label": label, **asdict(scores), **_ci_columns(scores.f1_ci)}
        for c in result.cells
        if c.metrics is not None
        for label, scores in c.metrics.per_label.items()
    ]
    run_rows = pd.DataFrame(
        [{k: r.get(k) for k in ("id", "suite", "created_at", "finished_at", "status", "out_dir")} for r in runs]
    )
    per_label = pd.DataFrame(labels, columns=label_columns)
    return Results(result.run.id, cells, per_label, run_rows, result, bucket_frame(result))


BUCKET_COLUMNS = [
    "model", "dataset", "attribute", "attribute_name", "kind", "bucket", "gold", "predicted", "correct", "documents",
    "precision", "recall", "f1", "f1_ci_low", "f1_ci_high", "thin", "note",
]  # fmt: skip


def bucket_frame(result: RunResult) -> pd.DataFrame:
    """Every bucket of every cell that is a result, tidy: one row per model, dataset, attribute and bucket."""
    rows = []
    for c in result.cells:
        if not c.ranked:
            continue
        for b in c.buckets:
            name, kind = ATTRIBUTES[b.attribute]
            ci = b.f1_ci or (None, None)
            rows.append({
                "model": c.model, "dataset": c.dataset, "attribute": b.attribute, "attribute_name": name,
                "kind": kind, "bucket": b.value, "gold": b.gold, "predicted": b.predicted, "correct": b.correct,
                "documents": b.documents, "precision": b.precision, "recall": b.recall, "f1": b.f1,
                "f1_ci_low": ci[0], "f1_ci_high": ci[1], "thin": b.thin, "note": b.note,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=BUCKET_COLUMNS)


def load_results(source: str | Path = DEFAULT_STORE, run: str = "latest") -> Results:
    """Results of one run: from a store (``run`` is an id or ``latest``) or a run directory / results.json."""
    path = Path(source)
    if path.is_dir() or path.suffix == ".json":
        loaded = _from_dir(path, None) if path.is_dir() else _from_dir(path.parent, path)
        return frames(loaded.result, [asdict(loaded.result.run)])
    if is_new(path):
        raise InputError("no results store here: run a suite first, or pass --store", path=path)
    store = Store(path, read_only=True)
    try:
        return frames(read_run(store, resolve_run(store, run)), store.runs())
    finally:
        store.close()
