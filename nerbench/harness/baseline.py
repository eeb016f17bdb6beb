"""The gate's baseline: a committed file, a run directory, a run id, or ``latest`` — resolved and checked
before any model runs.

``latest`` is the newest run of the same suite that passed: a gate run whose verdict was ``pass`` or a
plain run, finished, with every cell a result. A gate that failed, stopped on an error, or was
interrupted is never a baseline, so re-running a failing gate fails again. A baseline scored on other
gold (its gold content hash differs) is a usage error naming both hashes.

``nerbench gate --accept FILE`` writes a passing gate's run as one self-contained file (results and
each cell's per-document counts) that a team commits beside its gold set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.errors import InputError
from nerbench.fileio import atomic_write
from nerbench.harness.cell_result import DONE
from nerbench.harness.gate import CellBaseline
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.machine import library_versions
from nerbench.harness.results import Details, LoadedRun, RunResult, load_run, resolve_run
from nerbench.harness.store import Store, is_new, now
from nerbench.harness.suite import Suite

MARK = "nerbench_baseline"  # the key an accepted baseline file carries (nerbench overwrites only such files)
LATEST = "latest"


@dataclass(frozen=True)
class Baseline:
    """What the gate compares with: where it came from, when it ran, its cells and their gold."""

    source: str  # "run <id>" or "file <path>"
    created_at: str
    cells: Mapping[tuple[str, str], CellBaseline]
    gold_hashes: Mapping[str, str]

    def f1_text(self, model: str, dataset: str) -> str:
        """The baseline cell's F1 and CI, as the summary shows it."""
        base = self.cells.get((model, dataset))
        metrics = base.cell.metrics if base else None
        if metrics is None or metrics.f1 is None:
            return "—"
        ci = f" (95% CI {metrics.f1_ci[0]:.3f}–{metrics.f1_ci[1]:.3f})" if metrics.f1_ci else ""
        return f"{metrics.f1:.4f}{ci}"


def _passed(store: Store, record: Mapping[str, Any], models: set[str]) -> bool:
    verdict = ((record.get("info") or {}).get("gate") or {}).get("verdict")
    if record.get("status") != "done" or verdict in ("fail", "error"):
        return False
    cells = store.cells(str(record["id"]))
    return bool(cells) and all(c["status"] == DONE for c in cells) and models <= {c["model"] for c in cells}


def _same_gold(record: Mapping[str, Any], datasets: Sequence[LoadedDataset]) -> bool:
    """Whether the run scored every one of ``datasets`` on the same gold (content hash)."""
    theirs = {d.get("name"): d.get("content_hash") for d in (record.get("info") or {}).get("datasets") or []
              if isinstance(d, Mapping)}  # fmt: skip
    return all(theirs.get(d.spec.name) == d.gold_hash for d in datasets)


def latest_passing(store: Store, suite: Suite, datasets: Sequence[LoadedDataset] = ()) -> str | None:
    """The newest passing run of ``suite`` (same name) holding every one of its models, scored on the same
    gold as ``datasets`` (two gold files of one name, gated in turn, never stand in for each other)."""
    models = {m.name for m in suite.models}
    for record in reversed(store.runs()):
        if record.get("suite") == suite.name and _same_gold(record, datasets) and _passed(store, record, models):
            return str(record["id"])
    return None


def _from_store(spec: str, store_path: Path, suite: Suite, datasets: Sequence[LoadedDataset]) -> tuple[str, LoadedRun]:
    if is_new(store_path):
        raise InputError(
            f"no baseline run {spec!r}: there is no results store here; pass --baseline FILE (a run directory or "
            "a baseline file written by --accept)",
            path=store_path,
        )
    store = Store(store_path, read_only=True)
    try:
        if spec == LATEST:
            run_id = latest_passing(store, suite, datasets)
            if run_id is None:
                raise InputError(
                    f"no passing run of suite {suite.name!r} on this gold to use as the latest baseline (failed, "
                    "errored and interrupted runs never are): run the suite once, or pass --baseline FILE",
                    path=store_path,
                )
        else:
            run_id = resolve_run(store, spec)
    finally:
        store.close()
    return f"run {run_id}", load_run(run_id, store_path)


def resolve_baseline(spec: str, store_path: Path, suite: Suite, datasets: Sequence[LoadedDataset]) -> Baseline:
    """The baseline named by ``spec``, checked against the gold about to be scored (before anything runs)."""
    path = Path(spec)
    if spec != LATEST and (path.is_dir() or path.is_file()):
        source, loaded = f"file {path}", load_run(path, store_path)
    elif path.suffix.lower() in (".json", ".jsonl") or "/" in spec or os.sep in spec:
        raise InputError(
            "--baseline: no such file or directory: give a baseline file written by --accept, a run directory, "
            "a run id, or latest",
            path=path,
        )
    else:
        source, loaded = _from_store(spec, store_path, suite, datasets)
    result = loaded.result
    baseline = Baseline(
        source=source,
        created_at=result.run.created_at,
        cells={(c.model, c.dataset): CellBaseline(c, loaded.details.get((c.model, c.dataset))) for c in result.cells},
        gold_hashes={d.name: d.content_hash for d in result.datasets},
    )
    for model in suite.models:
        for dataset in datasets:
            if model.runs_on(dataset.spec.name) and (model.name, dataset.spec.name) not in baseline.cells:
                raise InputError(
                    f"the baseline has no cell for {model.name} on {dataset.spec.name} ({source}): "
                    "pick a baseline that ran it"
                )
    for dataset in datasets:
        theirs, ours = baseline.gold_hashes.get(dataset.spec.name), dataset.gold_hash
        if theirs is not None and theirs != ours:
            raise InputError(
                f"the baseline ({source}) was scored on other gold for dataset {dataset.spec.name!r}: its gold "
                f"content hash is {theirs[:16]}, the current gold's is {ours[:16]}: gate against a baseline of "
                "this gold, or accept a new one with --accept"
            )
    return baseline


def check_accept_target(path: Path) -> None:
    """``--accept FILE`` may create a file or replace a baseline nerbench wrote, nothing else (checked first)."""
    if path.is_dir():
        raise InputError("--accept names a directory: give the baseline file's path", path=path)
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or MARK not in data:
        raise InputError("--accept would overwrite a file nerbench did not write: choose another path", path=path)


def write_baseline(path: Path, result: RunResult, details: Mapping[tuple[str, str], Details]) -> None:
    """One file holding the run's results and each cell's per-document counts (what the drop check needs)."""
    document = result.to_json()
    for cell in document["cells"]:
        found = details.get((cell["model"], cell["dataset"]))
        if found is not None:
            cell["details"] = {"doc_ids": list(found.doc_ids), "per_doc": [list(r) for r in found.per_doc]}
    document[MARK] = {"run": result.run.id, "accepted_at": now(), "nerbench": library_versions().get("nerbench")}
    atomic_write(path, json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
