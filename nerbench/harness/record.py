"""Run a suite and record it: the one orchestration ``nerbench run`` and ``nerbench gate`` share.

Runs every cell (``run_suite``), writes the run directory from the store, and returns what ran with each
cell's details, so no caller reads the gold files or the store again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nerbench.harness.cell_result import CellResult
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.results import Details
from nerbench.harness.rundir import write_run_dir
from nerbench.harness.runner import Progress, RunOptions, run_suite
from nerbench.harness.store import Store
from nerbench.harness.suite import Suite


@dataclass(frozen=True)
class Recorded:
    """A finished, recorded run: where its directory is, its cells and their details."""

    run_id: str
    out_dir: Path
    results_path: Path
    datasets: tuple[LoadedDataset, ...]
    cells: tuple[CellResult, ...]
    details: Mapping[tuple[str, str], Details]

    @property
    def not_results(self) -> list[CellResult]:
        """Cells that are not findings: failed, or a schema mismatch."""
        return [c for c in self.cells if not c.ranked]


def stored_details(store: Store, run_id: str) -> dict[tuple[str, str], Details]:
    """Each cell's details (per-document counts, match records) as the store keeps them."""
    return {k: d for k, raw in store.cell_details(run_id).items() if (d := Details.from_json(raw)) is not None}


def run_and_record(
    suite: Suite,
    options: RunOptions,
    progress: Progress,
    *,
    datasets: Sequence[LoadedDataset] | None = None,
    with_details: bool = True,
) -> Recorded:
    """Run ``suite`` (``datasets``: already read, so not read again) and write its run directory.

    ``with_details=False`` leaves ``details`` empty: a caller that does not compare runs (``nerbench run``)
    does not hold every cell's match records in memory.
    """
    outcome = run_suite(suite, options, progress, datasets=datasets)
    try:
        record = outcome.store.run(outcome.run_id) or {}
        out_dir = Path(record.get("out_dir") or Path("runs") / outcome.run_id)
        results_path = write_run_dir(outcome, out_dir)
        details = stored_details(outcome.store, outcome.run_id) if with_details else {}
    finally:
        outcome.store.close()
    return Recorded(outcome.run_id, out_dir, results_path, outcome.datasets, outcome.cells, details)
