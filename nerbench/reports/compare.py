"""Two runs side by side: the same (model, dataset) cells, their deltas, and whether each change is significant."""

from __future__ import annotations

from dataclasses import dataclass

from nerbench.reports.model import Report, Row, compare
from nerbench.scoring import PairedComparison


@dataclass(frozen=True)
class Change:
    """One cell present in both runs: ``delta`` is this run's F1 minus the other run's."""

    model: str
    dataset: str
    f1: float | None
    other_f1: float | None
    delta: float | None
    p95_ms: float | None
    other_p95_ms: float | None
    test: PairedComparison | None  # None: not the same documents, so no paired test

    @property
    def verdict(self) -> str:
        if self.test is None:
            return "not comparable (different documents)"
        return "significant" if self.test.significant() else "not significant"


def _rows(report: Report) -> dict[tuple[str, str], Row]:
    return {(r.model, b.dataset): r for b in report.boards for r in b.ranked}


def changes(report: Report, other: Report) -> list[Change]:
    """Every ranked cell of ``report`` that ``other`` also ranks, in leaderboard order."""
    mine, theirs = _rows(report), _rows(other)
    out = []
    for key, row in mine.items():
        old = theirs.get(key)
        if old is None:
            continue
        delta = row.f1 - old.f1 if row.f1 is not None and old.f1 is not None else None
        test = compare(report.samples.get(key), other.samples.get(key), resamples=report.resamples)
        p95, old_p95 = row.cell.latency.p95_ms, old.cell.latency.p95_ms
        out.append(Change(row.model, key[1], row.f1, old.f1, delta, p95, old_p95, test))
    return out
