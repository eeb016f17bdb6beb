"""Stored results as pandas DataFrames: ``nerbench.load_results()``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nerbench.errors import InputError
from nerbench.harness.rundir import csv_rows, results_document
from nerbench.harness.store import DEFAULT_STORE, Store


@dataclass(frozen=True)
class Results:
    """One run's results: ``cells`` (one row per model x dataset), ``per_label``, ``runs``, and the raw JSON."""

    run_id: str
    cells: pd.DataFrame
    per_label: pd.DataFrame
    runs: pd.DataFrame
    document: dict[str, Any]


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


def _frames(document: dict[str, Any], runs: list[dict[str, Any]]) -> Results:
    run_id = document["run"]["id"]
    cells = pd.DataFrame(csv_rows(document["cells"]))
    labels = [
        {"model": c["model"], "dataset": c["dataset"], "label": label, **scores}
        for c in document["cells"]
        for label, scores in ((c.get("metrics") or {}).get("per_label") or {}).items()
    ]
    per_label = pd.DataFrame(
        labels, columns=["model", "dataset", "label", "precision", "recall", "f1", "support", "predicted", "correct"]
    )
    run_rows = pd.DataFrame(
        [{k: r.get(k) for k in ("id", "suite", "created_at", "finished_at", "status", "out_dir")} for r in runs]
    )
    return Results(run_id, cells, per_label, run_rows, document)


def load_results(source: str | Path = DEFAULT_STORE, run: str = "latest") -> Results:
    """Results of one run: from a store (``run`` is an id or ``latest``) or a run directory / results.json."""
    path = Path(source)
    if path.is_dir() or path.suffix == ".json":
        results_json = path / "results.json" if path.is_dir() else path
        try:
            document = json.loads(results_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"cannot read run results: {err}", path=results_json) from None
        return _frames(document, [document["run"]])
    if not path.exists():
        raise InputError("no results store here: run a suite first, or pass --store", path=path)
    store = Store(path)
    try:
        run_id = resolve_run(store, run)
        return _frames(results_document(store, run_id), store.runs())
    finally:
        store.close()
