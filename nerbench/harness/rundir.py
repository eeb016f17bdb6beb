"""The run directory: everything needed to recompute every number of a run, from the store.

``results.json`` (cells with metrics, latency, memory, cost, failures),
``results.csv`` (one row per cell), ``gold/<dataset>.jsonl`` (the gold documents
as read and repaired) and ``predictions/<model>__<dataset>.jsonl`` (each span's
``label`` after mapping into the schema, ``native_label`` the model's own) and
``details/<model>__<dataset>.json`` (per-document counts and every matching
decision, for paired bootstraps and error examples). Each
file is written to a temporary name and renamed: complete or absent. Files are written from streams (the
store's rows read a batch at a time, written a chunk at a time), so none is ever held whole in memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nerbench.errors import InputError
from nerbench.fileio import atomic_copy_verified, atomic_write, atomic_write_chunks
from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult
from nerbench.harness.cell_scoring import iter_stored_spans
from nerbench.harness.cells import INSTANCE_COLUMNS, PER_DOC_COLUMNS, scoring_schema
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.results import cell_file_stem, read_run, safe_name
from nerbench.harness.store import Store
from nerbench.harness.suite import ModelSpec
from nerbench.labels import Resolution, resolve_label
from nerbench.types import Document

if TYPE_CHECKING:
    from nerbench.harness.runner import RunOutcome

T = TypeVar("T")

# The folders a run writes, and the suffix of its files there: a later run in the directory removes its stale ones.
OWN_FOLDERS = {"gold": ".jsonl", "predictions": ".jsonl", "details": ".json"}


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a run directory nerbench wrote: its ``results.json`` has nerbench's shape."""
    try:
        data = json.loads((path / "results.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return (
        isinstance(data, dict) and isinstance(data.get("run"), dict) and isinstance(data["run"].get("id"), str)
        and isinstance(data.get("cells"), list) and isinstance(data.get("datasets"), list)
    )  # fmt: skip


def check_out_dir(path: Path) -> None:
    """Refuse a run directory nerbench may not write: only an absent or empty one, or an earlier run's (finished,
    or begun and killed), will do."""
    try:
        if not path.exists():
            return
        if not path.is_dir():
            raise InputError("--out names a file: give a directory for the run (absent, empty, or a run's)", path=path)
        if next(path.iterdir(), None) is None or is_run_dir(path) or began_here(path):
            return
    except OSError as err:
        raise InputError(f"cannot use this run directory: {err.strerror or err}", path=path) from None
    raise InputError(
        "--out names a directory holding files nerbench did not write (it has no nerbench results.json): give "
        "an absent or empty directory, or an earlier run's, so nothing of yours is replaced",
        path=path,
    )


def check_resumed_out_dir(previous: dict[str, Any], out_dir: Path | None) -> None:
    """A resumed run keeps its run directory (the store's record of it): ``--out`` naming another is refused."""
    recorded = previous.get("out_dir")
    if out_dir is not None and recorded and out_dir.resolve() != Path(recorded):
        raise InputError(
            f"--resume continues run {previous['id']}, whose run directory is {recorded}: drop --out, or give "
            f"--out {recorded} (a resumed run keeps its directory; to write elsewhere, run without --resume)"
        )


def _remove_stale(out_dir: Path, written: set[Path]) -> None:
    """An earlier run's gold, prediction and detail files this run did not write (a model since removed)."""
    for folder, suffix in OWN_FOLDERS.items():
        if (out_dir / folder).is_dir():
            for path in (out_dir / folder).iterdir():
                if path.suffix == suffix and path.is_file() and not path.is_symlink() and path not in written:
                    path.unlink()


def csv_text(cells: Iterable[CellResult]) -> str:
    """``results.csv``: one row per cell, the columns read from the MetricInfo table."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=metric_info.columns(), lineterminator="\n")
    writer.writeheader()
    writer.writerows(metric_info.cell_row(c) for c in cells)
    return buffer.getvalue()


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(x, ensure_ascii=False), one encoder for all
_CHUNK = 1000  # lines (or list items) a streamed file gathers before it writes them


def _jsonl(lines: Iterable[dict[str, Any]]) -> Iterator[str]:
    """JSON lines, a thousand lines to a chunk."""
    for batch in _batches(lines):
        yield "".join(_ENCODE(line) + "\n" for line in batch)


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, _CHUNK)):
        yield batch


def _json_list(items: Iterable[Any]) -> Iterator[str]:
    """A JSON list as ``json.dumps`` writes it (``[a, b]``), in chunks."""
    yield "["
    sep = ""
    for batch in _batches(items):
        yield sep + _ENCODE(batch)[1:-1]  # a list's items, joined by ", " as json.dumps joins
        sep = ", "
    yield "]"


def gold_lines(documents: Iterable[Document]) -> Iterator[dict[str, Any]]:
    for d in documents:
        yield {
            "id": d.id,
            "text": d.text,
            "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in d.spans],
            **({"tokens": [list(t) for t in d.tokens]} if d.tokens is not None else {}),
        }


def prediction_lines(store: Store, key: str, dataset: LoadedDataset, model: ModelSpec) -> Iterator[dict[str, Any]]:
    """Predicted spans with schema labels; spans ignored on purpose or invalid are kept apart."""
    label_map = model.label_map_for(dataset.spec.name)
    schema = scoring_schema(dataset, label_map)
    for doc, doc_spans, error in iter_stored_spans(dataset, key, store):
        kept, ignored, invalid = [], [], []
        for s in doc_spans:
            entry = {"start": s.start, "end": s.end, "native_label": s.label}
            if not 0 <= s.start < s.end <= len(doc.text) or (
                s.surface is not None and s.surface != doc.text[s.start : s.end]
            ):
                invalid.append({**entry, "text": s.surface})
                continue
            target = resolve_label(s.label, label_map, schema)
            if target == Resolution.IGNORED:
                ignored.append(entry)
            else:
                label = s.label if target == Resolution.OUT_OF_SCHEMA else target
                kept.append({"start": s.start, "end": s.end, "label": label, "native_label": s.label})
        line: dict[str, Any] = {"id": doc.id, "text": doc.text, "spans": kept}
        if ignored:
            line["ignored"] = ignored
        if invalid:
            line["invalid"] = invalid
        if error is not None:
            line["error"] = error
        yield line


def details_chunks(store: Store, scoring_id: int) -> Iterator[str]:
    """``details/M__D.json`` from a scoring's rows, as ``json.dumps`` of :func:`~nerbench.harness.cells.details`
    writes it, read and written a batch at a time."""
    yield '{"doc_ids": '
    yield from _json_list(row[0] for row in store.doc_counts(scoring_id))
    yield ', "per_doc": '
    yield from _json_list(list(row[1:]) for row in store.doc_counts(scoring_id))
    yield f', "per_doc_columns": {json.dumps(PER_DOC_COLUMNS)}, "instances": '
    yield from _json_list(list(row) for row in store.instances(scoring_id))
    yield f', "instance_columns": {json.dumps(INSTANCE_COLUMNS)}}}'


BEGUN = ".nerbench-run"  # in a run directory whose cells' files are written as the cells finish: its run id


def began_here(path: Path) -> bool:
    """Whether a run began writing ``path`` (its cells' files) and has not finished it (killed, or still running)."""
    return (path / BEGUN).is_file()


def write_cell_files(
    store: Store, out_dir: Path, run_id: str, model: ModelSpec, dataset: LoadedDataset, key: str,
    scoring_id: int | None,
) -> dict[Path, str]:  # fmt: skip
    """A finished cell's prediction and details files, written as soon as it finishes (the run directory is
    marked begun first, so a run killed before its end leaves a directory nerbench knows as its own); each
    path with the sha256 of its bytes. A cell scored before (the same scoring) has its files copied from an
    earlier run's directory, where they are still the bytes nerbench wrote there."""
    _begin(out_dir, run_id)
    name = cell_file_stem(model.name, dataset.spec.name)
    pred, detail = out_dir / "predictions" / f"{name}.jsonl", out_dir / "details" / f"{name}.json"
    if scoring_id is not None:
        copied = _copied(store, run_id, scoring_id, pred, detail)
        if copied is not None:
            return copied
    written = {pred: atomic_write_chunks(pred, _jsonl(prediction_lines(store, key, dataset, model)))}
    if scoring_id is not None:
        written[detail] = atomic_write_chunks(detail, details_chunks(store, scoring_id))
    return written


def _begin(out_dir: Path, run_id: str) -> None:
    if not began_here(out_dir):
        atomic_write(out_dir / BEGUN, run_id + "\n")


def _recorded_files(run_dir: Path) -> dict[str, Any]:
    """The sha256 of each file a finished run directory's ``results.json`` recorded (empty: none)."""
    try:
        files = json.loads((run_dir / "results.json").read_text(encoding="utf-8")).get("files")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _copied_file(candidates: Iterable[tuple[str, str]], target: Path) -> str | None:
    """The first of (run directory, file in it) still holding what nerbench wrote there, copied to ``target``;
    its sha256, or None where there is none."""
    for run_dir, relative in candidates:
        sha = _recorded_files(Path(run_dir)).get(relative)
        if isinstance(sha, str) and atomic_copy_verified(Path(run_dir) / relative, target, sha):
            return sha
    return None


def _copied(store: Store, run_id: str, scoring_id: int, pred: Path, detail: Path) -> dict[Path, str] | None:
    """The files of an earlier run's cell with this scoring, copied to ``pred`` and ``detail`` if they are
    unchanged (their sha256 as that run's ``results.json`` recorded it); None where no such files are left."""
    for earlier_dir, model, dataset in store.scoring_cells(scoring_id, exclude_run=run_id):
        files = _recorded_files(Path(earlier_dir))
        name = cell_file_stem(model, dataset)
        wanted = {pred: f"predictions/{name}.jsonl", detail: f"details/{name}.json"}
        hashes = {target: files.get(relative) for target, relative in wanted.items()}
        if all(isinstance(h, str) for h in hashes.values()) and all(
            atomic_copy_verified(Path(earlier_dir) / relative, target, str(hashes[target]))
            for target, relative in wanted.items()
        ):
            return {target: str(h) for target, h in hashes.items()}
    return None


def write_run_dir(outcome: RunOutcome, out_dir: Path) -> Path:
    """Write the run directory of what ran (datasets and cells as the runner returned them); returns
    ``results.json``'s path. Predictions and details come from the store, batch by batch; the files of cells
    the runner wrote as they finished (``outcome.written``) are not written again.

    In an earlier run's directory, that run's gold, prediction and detail files this run did not write are removed.
    """
    store = outcome.store
    result = read_run(store, outcome.run_id)
    earlier = is_run_dir(out_dir) or began_here(out_dir)
    written: dict[Path, str] = dict(outcome.written)  # path -> sha256 of what nerbench wrote there

    def write(path: Path, chunks: Iterable[str]) -> None:
        written[path] = atomic_write_chunks(path, chunks)

    for dataset in outcome.datasets:
        gold = out_dir / "gold" / f"{safe_name(dataset.spec.name)}.jsonl"
        sources = store.gold_dirs(dataset.gold_hash, exclude_run=outcome.run_id)
        copied = _copied_file(((d, f"gold/{safe_name(name)}.jsonl") for d, name in sources), gold)
        if copied is not None:
            written[gold] = copied
        else:
            write(gold, _jsonl(gold_lines(dataset.documents)))
    models = {m.name: m for m in outcome.suite.models}
    by_name = {d.spec.name: d for d in outcome.datasets}
    keys = store.cell_keys(outcome.run_id)
    for cell in result.cells:  # in the order the cells were saved
        key, scoring_id = keys.get((cell.model, cell.dataset), (None, None))
        if key and cell.model in models and cell.dataset in by_name:
            name = cell_file_stem(cell.model, cell.dataset)
            path = out_dir / "predictions" / f"{name}.jsonl"
            if path in outcome.written:  # written with its details as the cell finished
                continue
            write(path, _jsonl(prediction_lines(store, key, by_name[cell.dataset], models[cell.model])))
            if scoring_id is not None:
                write(out_dir / "details" / f"{name}.json", details_chunks(store, scoring_id))
    if earlier:
        _remove_stale(out_dir, set(written))
    atomic_write(out_dir / "results.csv", csv_text(result.cells))
    path = out_dir / "results.json"
    files = {p.relative_to(out_dir).as_posix(): h for p, h in sorted(written.items()) if p.is_relative_to(out_dir)}
    data = {**result.to_json(), "files": files}  # each file's sha256: a later run copies what is unchanged
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    with contextlib.suppress(OSError):
        (out_dir / BEGUN).unlink()  # finished: results.json says whose it is now
    return path
