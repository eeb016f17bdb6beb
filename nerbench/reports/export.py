"""Export a finished run: each cell as an MLflow run, or the cells and per-label frames as parquet.

MLflow (``pip install 'nerbench[mlflow]'``): one MLflow run per cell, in an experiment named after the
suite (or ``experiment``). Params say what ran (model, dataset, adapter, label map, the model's options
as the suite file wrote them, dataset content hash, nerbench version, run id); metrics are every
``MetricInfo`` metric the cell has a value for, under its name; tags carry the status and kind (and
the reason of a cell that is not a result, which gets no metrics); artifacts are the cell's
predictions, ``results.json`` and ``report.html`` where the run directory has them. Each MLflow run is
tagged with the nerbench run id, model and dataset: exporting again updates that run (missing params,
changed metrics, tags and artifacts) instead of adding another.

Parquet (``pip install 'nerbench[parquet]'``): ``load_results().cells`` to the named file and
``.per_label`` beside it (``results.parquet`` -> ``results.per_label.parquet``). Each file carries the
key ``nerbench.export`` in its parquet schema metadata; an existing file is replaced only when it
carries that key (a previous export), never otherwise.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from nerbench.errors import InputError, MissingExtraError, NerbenchError
from nerbench.fileio import atomic_write_bytes
from nerbench.harness import metric_info
from nerbench.harness.cell_result import FAILED, CellResult
from nerbench.harness.results import LoadedRun, cell_file_stem, frames
from nerbench.harness.store import Store, is_new
from nerbench.harness.suite import RUNNER_MODEL_KEYS
from nerbench.reports.model import Row
from nerbench.reports.pick import kind_of

TAG_RUN, TAG_MODEL, TAG_DATASET = "nerbench.run_id", "nerbench.model", "nerbench.dataset"
PARQUET_KEY = b"nerbench.export"  # schema metadata key that marks a parquet file as nerbench's export
_MAX_PARAM, _MAX_TAG, _MAX_BATCH = 6000, 8000, 100  # MLflow's limits: param and tag value length, params per batch


# --- what a cell becomes in a tracker (no MLflow needed) -----------------------------------------------------


@dataclass(frozen=True)
class CellPayload:
    """One cell as a tracker run: its params, metrics, tags and artifact files."""

    model: str
    dataset: str
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifacts: Mapping[str, Path]  # artifact folder ("" for the root) and name -> local file
    failed: bool

    @property
    def name(self) -> str:
        return f"{self.model} on {self.dataset}"


def suite_text(run_id: str, store: str | Path) -> str | None:
    """The suite file's text as the run recorded it in ``store`` (None where the store does not hold the run)."""
    if is_new(store):
        return None
    try:
        db = Store(store, read_only=True)
    except NerbenchError:
        return None
    try:
        record = db.run(run_id) or {}
    finally:
        db.close()
    text = (record.get("info") or {}).get("suite_text")
    return text if isinstance(text, str) else None


def model_options(text: str | None, model: str) -> dict[str, str]:
    """The adapter options of ``model``'s entry in the suite text, as written there (``${VAR}`` unexpanded)."""
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return {}
    entries = data.get("models") if isinstance(data, dict) else None
    entry = next((m for m in entries or () if isinstance(m, dict) and m.get("name") == model), None)
    if entry is None:
        return {}
    options = {str(k): v for k, v in entry.items() if k not in RUNNER_MODEL_KEYS}
    return {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str) for k, v in options.items()}


def _metrics(cell: CellResult) -> dict[str, float]:
    """Every metric of the MetricInfo table that the cell has a finite value for (none for a cell that is no result)."""
    if not cell.ranked:
        return {}
    values = {m.name: m.value(cell) for m in metric_info.METRICS}
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _artifacts(out_dir: Path | None, cell: CellResult) -> dict[str, Path]:
    if out_dir is None:
        return {}
    files = {
        "predictions/": out_dir / "predictions" / f"{cell_file_stem(cell.model, cell.dataset)}.jsonl",
        "results.json": out_dir / "results.json",
        "report.html": out_dir / "report.html",
    }
    return {where: path for where, path in files.items() if path.is_file()}


def cell_payload(loaded: LoadedRun, cell: CellResult, options: Mapping[str, str]) -> CellPayload:
    """What ``cell`` of ``loaded`` becomes in a tracker; ``options`` are its model's options from the suite."""
    run = loaded.result.run
    info = loaded.result.dataset(cell.dataset)
    params = {
        "model": cell.model, "dataset": cell.dataset, "adapter": cell.adapter, "label_map": cell.label_map_text,
        "dataset_hash": info.content_hash if info else "", "nerbench_version": str(run.versions.get("nerbench", "")),
        "nerbench_run_id": run.id, "suite": run.suite, "fingerprint": cell.fingerprint,
        **{f"option.{k}": v for k, v in options.items()},
    }  # fmt: skip
    tags = {TAG_RUN: run.id, TAG_MODEL: cell.model, TAG_DATASET: cell.dataset, "status": cell.status,
            "kind": kind_of(Row(cell))}  # fmt: skip
    if not cell.ranked:
        tags["reason"] = cell.reason or "no reason recorded"
    return CellPayload(
        cell.model, cell.dataset,
        params={k: v[:_MAX_PARAM] for k, v in params.items() if v},
        metrics=_metrics(cell),
        tags={k: v[:_MAX_TAG] for k, v in tags.items() if v},
        artifacts=_artifacts(loaded.out_dir, cell),
        failed=cell.status == FAILED,
    )  # fmt: skip


# --- MLflow -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedCell:
    """One cell's MLflow run and what this export did to it: ``created``, ``updated`` or ``unchanged``."""

    model: str
    dataset: str
    mlflow_run_id: str
    action: str


@dataclass(frozen=True)
class MlflowExport:
    """Where a run went: the tracking URI, the experiment, and each cell's MLflow run."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    cells: tuple[ExportedCell, ...]


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MissingExtraError("mlflow", "mlflow") from None
    return mlflow


@contextlib.contextmanager
def _tracker_errors(uri: str) -> Iterator[None]:
    """MLflow's errors (a bad URI, a server that does not answer) as one line naming the tracking URI."""
    from mlflow.exceptions import MlflowException

    errors: tuple[type[Exception], ...] = (MlflowException, OSError)
    with contextlib.suppress(ImportError):  # a database store's own errors (a remote one that refuses, say)
        from sqlalchemy.exc import SQLAlchemyError

        errors = (*errors, SQLAlchemyError)
    quiet = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.WARNING)  # "Creating initial MLflow database tables..." is MLflow's business
    try:
        yield
    except errors as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0].strip()
        raise InputError(f"MLflow tracking URI {uri!r}: {first}") from None
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)


def _check_sqlite(uri: str) -> None:
    """Refuse a ``sqlite:`` URI that MLflow could not open (it would retry for a minute and a half first) or that
    names a file which is not an MLflow database (MLflow would add its tables to it). An existing file is only read."""
    match = re.fullmatch(r"sqlite:///([^?]+)(\?.*)?", uri)
    if not match or match.group(1) == ":memory:":
        return
    path = Path(match.group(1))
    existed = path.exists()
    if existed and not path.is_file():
        raise InputError("is not a file: name an MLflow SQLite database", path=path)
    try:
        if existed:
            target = f"{path.resolve().as_uri()}?mode=ro"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)  # as MLflow does
            target = f"{path.resolve().as_uri()}?mode=rwc"  # a trial: removed below, MLflow makes it again
        with contextlib.closing(sqlite3.connect(target, uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except (OSError, sqlite3.Error) as err:
        raise InputError(f"cannot open it as an SQLite database ({err}): check the path", path=path) from None
    finally:
        if not existed:
            path.unlink(missing_ok=True)
    if tables and not {"experiments", "alembic_version"} <= tables:
        raise InputError("is not an MLflow tracking database: name a new file or an MLflow one", path=path)


def _experiment(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return str(client.create_experiment(name))
    if found.lifecycle_stage != "active":
        raise InputError(f"MLflow experiment {name!r} is deleted: restore it, or give another --experiment")
    return str(found.experiment_id)


def _existing(client: Any, experiment_id: str, run_id: str) -> dict[tuple[str, str], Any]:
    """This nerbench run's MLflow runs in the experiment, by (model, dataset)."""
    query = f"tags.`{TAG_RUN}` = '{run_id}'" if re.fullmatch(r"[\w.:-]+", run_id) else ""
    found: dict[tuple[str, str], Any] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=query, max_results=1000, page_token=token)
        for r in page:
            tags = r.data.tags
            if tags.get(TAG_RUN) == run_id:
                found.setdefault((tags.get(TAG_MODEL, ""), tags.get(TAG_DATASET, "")), r)
        token = page.token
        if not token:
            return found


def _stale_artifacts(client: Any, run_id: str, artifacts: Mapping[str, Path]) -> dict[str, Path]:
    """The artifacts the MLflow run lacks, or holds with another size."""
    sizes: dict[str, int | None] = {}
    for folder in {where.rpartition("/")[0] for where in artifacts}:
        for f in client.list_artifacts(run_id, folder or None):
            sizes[f.path] = f.file_size
    return {
        where: path
        for where, path in artifacts.items()
        if sizes.get(where + path.name if where.endswith("/") else where) != path.stat().st_size
    }


def _send(client: Any, run_id: str, payload: CellPayload, *, params: Mapping[str, str],
          metrics: Mapping[str, float], tags: Mapping[str, str], artifacts: Mapping[str, Path]) -> None:  # fmt: skip
    from mlflow.entities import Metric, Param, RunTag

    stamp = int(time.time() * 1000)
    items: list[Any] = [Param(k, v) for k, v in params.items()] + [RunTag(k, v) for k, v in tags.items()]
    for start in range(0, len(items), _MAX_BATCH):
        chunk = items[start : start + _MAX_BATCH]
        client.log_batch(run_id, params=[i for i in chunk if isinstance(i, Param)],
                         tags=[i for i in chunk if isinstance(i, RunTag)])  # fmt: skip
    if metrics:
        client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()])
    for where, path in artifacts.items():
        client.log_artifact(run_id, str(path), where.rstrip("/") if where.endswith("/") else None)


def _log(client: Any, experiment_id: str, payload: CellPayload, existing: Any | None) -> ExportedCell:
    """Create the cell's MLflow run, or bring the existing one up to date."""
    status = "FAILED" if payload.failed else "FINISHED"
    if existing is None:
        run_id = client.create_run(experiment_id, run_name=payload.name).info.run_id
        _send(client, run_id, payload, params=payload.params, metrics=payload.metrics, tags=payload.tags,
              artifacts=payload.artifacts)  # fmt: skip
        client.set_terminated(run_id, status)
        return ExportedCell(payload.model, payload.dataset, run_id, "created")
    run_id, data = existing.info.run_id, existing.data
    params = {k: v for k, v in payload.params.items() if k not in data.params}  # a param never changes
    metrics = {k: v for k, v in payload.metrics.items() if data.metrics.get(k) != v}
    tags = {k: v for k, v in payload.tags.items() if data.tags.get(k) != v}
    artifacts = _stale_artifacts(client, run_id, payload.artifacts)
    if not (params or metrics or tags or artifacts) and existing.info.status == status:
        return ExportedCell(payload.model, payload.dataset, run_id, "unchanged")
    _send(client, run_id, payload, params=params, metrics=metrics, tags=tags, artifacts=artifacts)
    if existing.info.status != status:
        client.set_terminated(run_id, status)
    return ExportedCell(payload.model, payload.dataset, run_id, "updated")


def export_mlflow(
    loaded: LoadedRun, *, tracking_uri: str | None = None, experiment: str | None = None, suite: str | None = None
) -> MlflowExport:
    """Log every cell of ``loaded`` as an MLflow run (see the module docstring); ``suite`` is the suite's text."""
    mlflow = _mlflow()
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or str(mlflow.get_tracking_uri())
    _check_sqlite(uri)
    name = experiment or loaded.result.run.suite or "nerbench"
    with _tracker_errors(uri):
        client = MlflowClient(tracking_uri=uri)
        experiment_id = _experiment(client, name)
        existing = _existing(client, experiment_id, loaded.result.run.id)
        done = [
            _log(client, experiment_id, cell_payload(loaded, c, model_options(suite, c.model)),
                 existing.get((c.model, c.dataset)))
            for c in loaded.result.cells
        ]  # fmt: skip
    return MlflowExport(uri, name, experiment_id, tuple(done))


# --- parquet ------------------------------------------------------------------------------------------------


def per_label_path(out: Path) -> Path:
    """Where the per-label frame goes beside ``out``: ``results.parquet`` -> ``results.per_label.parquet``."""
    suffix = out.suffix or ".parquet"
    return out.with_name(f"{out.stem if out.suffix else out.name}.per_label{suffix}")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingExtraError("pyarrow", "parquet") from None
    return pyarrow


def _check_target(path: Path) -> None:
    """Refuse to replace anything but a previous export (a parquet file with the ``nerbench.export`` key)."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir():
        raise InputError("is a directory: give --out a file name", path=path)
    pa = _pyarrow()
    try:
        metadata = pa.parquet.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        metadata = {}
    if PARQUET_KEY not in metadata:
        raise InputError("exists and is not a nerbench export: remove it or give --out another name", path=path)


def _parquet_bytes(frame: Any, mark: Mapping[str, str]) -> bytes:
    pa = _pyarrow()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), PARQUET_KEY: json.dumps(mark).encode()})
    buffer = io.BytesIO()
    pa.parquet.write_table(table, buffer)
    return buffer.getvalue()


def export_parquet(loaded: LoadedRun, out: Path) -> Sequence[Path]:
    """Write ``load_results().cells`` to ``out`` and ``.per_label`` beside it; returns the paths written."""
    _pyarrow()
    tables = frames(loaded.result, [asdict(loaded.result.run)])
    targets = {out: ("cells", tables.cells), per_label_path(out): ("per_label", tables.per_label)}
    for path in targets:
        _check_target(path)  # both checked before either is written
    version = str(loaded.result.run.versions.get("nerbench", ""))
    for path, (frame_name, frame) in targets.items():
        mark = {"frame": frame_name, "run_id": loaded.result.run.id, "nerbench_version": version}
        atomic_write_bytes(path, _parquet_bytes(frame, mark))
    return list(targets)
