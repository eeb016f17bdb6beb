"""The report's data: one run's typed results grouped into leaderboards, read from a run directory or the store.

Nothing here scores or runs a model: every number comes from the run's ``CellResult`` cells and their
details (``details/``, or the store), and the error examples from ``gold/`` and ``predictions/``. Details
are read as streams and only what the report shows is kept (per-document counts as an array, the label
confusion, the documents of the error examples), so the report's memory stays flat as the corpus grows.
Renderers (HTML, Markdown) read only this. Only ranked cells (status ``done``) are compared, charted
and picked; failed and schema-mismatch cells are listed with their reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.harness.cell_result import CellResult
from nerbench.harness.results import (
    DatasetInfo,
    Details,
    LoadedRun,
    RunInfo,
    RunResult,
    details_file,
    open_stored_run,
    read_results_file,
    read_run,
    run_files,
)
from nerbench.harness.store import DEFAULT_STORE
from nerbench.reports.sample import EXAMPLES, CellSample, DetailSource, InMemory, cell_sample
from nerbench.reports.sources import DetailsFile, StoredDetails, example_lines
from nerbench.scoring import PairedComparison, paired_bootstrap_counts

__all__ = [
    "Board", "CellSample", "Details", "Report", "Row", "build_boards", "build_report", "compare", "load_report",
    "report_from",
]  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One cell on a leaderboard, with its paired bootstrap against the board's most accurate model."""

    cell: CellResult
    vs_best: PairedComparison | None = None

    @property
    def model(self) -> str:
        return self.cell.model

    @property
    def ranked(self) -> bool:
        return self.cell.ranked

    @property
    def f1(self) -> float | None:
        return self.cell.f1

    @property
    def tied(self) -> bool:
        """Not significantly different from the most accurate model (the ``≈`` mark)."""
        return self.vs_best is not None and not self.vs_best.significant()


@dataclass(frozen=True)
class Board:
    """One dataset's leaderboard: ranked cells best first, then cells that are not results."""

    dataset: str
    info: DatasetInfo
    rows: tuple[Row, ...]
    samples: Mapping[str, CellSample] = field(default_factory=dict)  # model -> what is kept of its details
    resamples: int = 1000

    def compare(self, a: Row, b: Row) -> PairedComparison | None:
        """Paired bootstrap of F1(a) - F1(b) on this board's documents (None: not comparable)."""
        return compare(self.samples.get(a.model), self.samples.get(b.model), resamples=self.resamples)

    @property
    def ranked(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.ranked)

    @property
    def unranked(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.ranked)

    @property
    def best(self) -> Row | None:
        return self.ranked[0] if self.ranked else None

    @property
    def any_tie(self) -> bool:
        return any(r.tied for r in self.rows)


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs about one run."""

    run: RunInfo
    datasets: tuple[DatasetInfo, ...]
    boards: tuple[Board, ...]
    cells: tuple[CellResult, ...]
    samples: Mapping[tuple[str, str], CellSample]  # what is kept of each cell's details
    gold: Mapping[str, Mapping[str, Any]]  # dataset -> doc id -> {"text", "spans"}: the examples' documents
    predictions: Mapping[tuple[str, str], Mapping[str, Any]]  # (model, dataset) -> doc id -> prediction line
    resamples: int = 1000  # the run's bootstrap setting, used for every paired comparison

    def board(self, dataset: str) -> Board | None:
        return next((b for b in self.boards if b.dataset == dataset), None)


def compare(a: CellSample | None, b: CellSample | None, *, resamples: int = 1000) -> PairedComparison | None:
    """Paired bootstrap of F1(a) - F1(b), or None when the two cells are not over the same documents."""
    if resamples <= 0 or a is None or b is None or not a.counts.same_documents(b.counts) or not len(a.counts.per_doc):
        return None
    try:
        return paired_bootstrap_counts(a.counts.per_doc, b.counts.per_doc, resamples=resamples)
    except ValueError:
        return None


def build_boards(
    datasets: Sequence[DatasetInfo],
    cells: Sequence[CellResult],
    samples: Mapping[tuple[str, str], CellSample],
    *,
    resamples: int = 1000,
) -> tuple[Board, ...]:
    """Cells grouped by dataset, ranked best first, each ranked cell tested against the leader."""
    boards = []
    names = [d.name for d in datasets] + sorted({c.dataset for c in cells} - {d.name for d in datasets})
    for name in names:
        mine = [c for c in cells if c.dataset == name]
        ranked = sorted((c for c in mine if c.ranked), key=lambda c: -(c.f1 or 0.0))
        rows: list[Row] = []
        if ranked:
            best = samples.get((ranked[0].model, name))
            rows = [Row(ranked[0])] + [
                Row(c, compare(best, samples.get((c.model, name)), resamples=resamples)) for c in ranked[1:]
            ]
        rows += [Row(c) for c in mine if not c.ranked]
        info = next((d for d in datasets if d.name == name), DatasetInfo(name))
        mine_samples = {c.model: d for c in mine if (d := samples.get((c.model, name))) is not None}
        boards.append(Board(name, info, tuple(rows), mine_samples, resamples))
    return tuple(boards)


def report_from(
    result: RunResult,
    sources: Mapping[tuple[str, str], DetailSource],
    out_dir: Path | None,
    *,
    keep: int = EXAMPLES,
) -> Report:
    """A Report from a run's results and where each cell's details are (read as streams), with the gold and
    prediction lines of the ``keep`` error examples per cell from the run directory, where it has one.

    The paired bootstraps use the run's own ``bootstrap`` setting (0: none).
    """
    resamples = int(result.run.settings.get("bootstrap", 1000) or 0)
    samples = {k: s for k, source in sources.items() if (s := cell_sample(source, keep=keep)) is not None}
    gold: dict[str, dict[str, Any]] = {}
    preds: dict[tuple[str, str], dict[str, Any]] = {}
    if out_dir and out_dir.is_dir():
        gold, preds, samples = example_lines(out_dir, result, samples, sources, keep=keep)
    boards = build_boards(result.datasets, result.cells, samples, resamples=resamples)
    return Report(result.run, result.datasets, boards, result.cells, samples, gold, preds, resamples)


def build_report(loaded: LoadedRun) -> Report:
    """A Report from a run read back whole (and its run directory's gold and predictions, where it has one)."""
    return report_from(loaded.result, {k: InMemory(d) for k, d in loaded.details.items()}, loaded.out_dir)


def load_report(run: str | Path, store: str | Path = DEFAULT_STORE, *, keep: int = EXAMPLES) -> Report:
    """The report of ``run``: a run directory, or a run id / prefix / ``latest`` in ``store``.

    Only what the report shows is read into memory: results.json (or the store's cells), each cell's
    per-document counts, confusion counts and ``keep`` error examples.
    """
    files = run_files(run)
    if files is not None:
        run_dir, path = files
        result, inline = read_results_file(path)
        sources: dict[tuple[str, str], DetailSource] = {}
        for c in result.cells:
            key = (c.model, c.dataset)
            if key in inline:
                sources[key] = InMemory(inline[key])
            elif (detail := details_file(run_dir, c.model, c.dataset)).exists():
                sources[key] = DetailsFile(detail)
        return report_from(result, sources, run_dir, keep=keep)
    db, run_id = open_stored_run(run, store)
    try:
        result = read_run(db, run_id)
        stored = {k: StoredDetails(db, sid) for k, (_, sid) in db.cell_keys(run_id).items() if sid is not None}
        record = db.run(run_id) or {}
        out_dir = Path(record["out_dir"]) if record.get("out_dir") else None
        return report_from(result, stored, out_dir, keep=keep)
    finally:
        db.close()
