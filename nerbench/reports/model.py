"""The report's data: one run's typed results grouped into leaderboards, read from a run directory or the store.

Nothing here scores or runs a model: every number comes from the run's ``CellResult`` cells and their
details (``details/``, or the store), and the error examples from ``gold/`` and ``predictions/``.
Renderers (HTML, Markdown) read only this. Only ranked cells (status ``done``) are compared, charted
and picked; failed and schema-mismatch cells are listed with their reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.errors import InputError
from nerbench.harness.cell_result import CellResult
from nerbench.harness.results import (
    DatasetInfo,
    Details,
    LoadedRun,
    RunInfo,
    cell_file_stem,
    load_run,
    safe_name,
)
from nerbench.harness.store import DEFAULT_STORE
from nerbench.scoring import PairedComparison, paired_bootstrap_counts

__all__ = ["Board", "Details", "Report", "Row", "build_boards", "build_report", "compare", "load_report"]


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
    details: Mapping[str, Details] = field(default_factory=dict)  # model -> its cell's details
    resamples: int = 1000

    def compare(self, a: Row, b: Row) -> PairedComparison | None:
        """Paired bootstrap of F1(a) - F1(b) on this board's documents (None: not comparable)."""
        return compare(self.details.get(a.model), self.details.get(b.model), resamples=self.resamples)

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
    details: Mapping[tuple[str, str], Details]
    gold: Mapping[str, Mapping[str, Any]]  # dataset -> doc id -> {"text", "spans"}
    predictions: Mapping[tuple[str, str], Mapping[str, Any]]  # (model, dataset) -> doc id -> prediction line
    resamples: int = 1000  # the run's bootstrap setting, used for every paired comparison

    def board(self, dataset: str) -> Board | None:
        return next((b for b in self.boards if b.dataset == dataset), None)


def compare(a: Details | None, b: Details | None, *, resamples: int = 1000) -> PairedComparison | None:
    """Paired bootstrap of F1(a) - F1(b), or None when the two cells are not over the same documents."""
    if resamples <= 0 or a is None or b is None or a.doc_ids != b.doc_ids or not a.per_doc:
        return None
    try:
        return paired_bootstrap_counts(a.per_doc, b.per_doc, resamples=resamples)
    except ValueError:
        return None


def build_boards(
    datasets: Sequence[DatasetInfo],
    cells: Sequence[CellResult],
    details: Mapping[tuple[str, str], Details],
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
            best = details.get((ranked[0].model, name))
            rows = [Row(ranked[0])] + [
                Row(c, compare(best, details.get((c.model, name)), resamples=resamples)) for c in ranked[1:]
            ]
        rows += [Row(c) for c in mine if not c.ranked]
        info = next((d for d in datasets if d.name == name), DatasetInfo(name))
        mine_details = {c.model: d for c in mine if (d := details.get((c.model, name))) is not None}
        boards.append(Board(name, info, tuple(rows), mine_details, resamples))
    return tuple(boards)


def _read_jsonl(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return {str(d["id"]): d for d in lines}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as err:
        raise InputError(f"not a file nerbench wrote ({err!r}): run the suite again", path=path) from None


def _files(
    out_dir: Path, cells: Sequence[CellResult], datasets: Sequence[DatasetInfo]
) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    gold = {d.name: _read_jsonl(out_dir / "gold" / f"{safe_name(d.name)}.jsonl") for d in datasets}
    preds = {
        (c.model, c.dataset): _read_jsonl(out_dir / "predictions" / f"{cell_file_stem(c.model, c.dataset)}.jsonl")
        for c in cells
    }
    return gold, preds


def build_report(loaded: LoadedRun) -> Report:
    """A Report from a run read back (and its run directory's gold and predictions, where it has one)."""
    result = loaded.result
    resamples = int(result.run.settings.get("bootstrap", 1000) or 0)
    out_dir = loaded.out_dir
    gold, preds = _files(out_dir, result.cells, result.datasets) if out_dir and out_dir.is_dir() else ({}, {})
    boards = build_boards(result.datasets, result.cells, loaded.details, resamples=resamples)
    return Report(result.run, result.datasets, boards, result.cells, loaded.details, gold, preds, resamples)


def load_report(run: str | Path, store: str | Path = DEFAULT_STORE) -> Report:
    """The report of ``run``: a run directory, or a run id / prefix / ``latest`` in ``store``."""
    return build_report(load_run(run, store))
