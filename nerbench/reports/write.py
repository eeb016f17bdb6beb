"""Write a run's report files: the HTML page, its Markdown beside it, and the CSV.

In a run directory they are ``report.html``, ``report.md`` and ``results.csv`` (which the run
wrote: written only where missing). A report written elsewhere (``nerbench report --out FILE``)
names its Markdown and CSV after FILE (``summary.html``: ``summary.md``, ``summary.csv``), so
it never replaces another report's files, or anything else, in that folder.
"""

from __future__ import annotations

from pathlib import Path

from nerbench.fileio import atomic_write
from nerbench.harness.rundir import csv_text
from nerbench.reports.compare import changes as compare_runs
from nerbench.reports.html import render_report
from nerbench.reports.markdown import render_markdown
from nerbench.reports.model import Report


def sibling_paths(html_path: Path, *, named_after: bool) -> tuple[Path, Path]:
    """The Markdown and CSV files written with ``html_path``."""
    if named_after:
        return html_path.with_suffix(".md"), html_path.with_suffix(".csv")
    return html_path.with_name("report.md"), html_path.with_name("results.csv")


def write_report(
    report: Report, html_path: Path, *, other: Report | None = None, named_after: bool = False
) -> list[Path]:
    """Write the HTML report to ``html_path`` and its Markdown and CSV siblings; returns the paths written.

    ``named_after``: the siblings are named after ``html_path`` (and the CSV always written), else they are
    the run directory's ``report.md`` and ``results.csv`` (the CSV only where missing).
    """
    changes = compare_runs(report, other) if other is not None else None
    other_id = other.run.id if other is not None else None
    md_path, csv_path = sibling_paths(html_path, named_after=named_after)
    atomic_write(html_path, render_report(report, changes=changes, other_run=other_id))
    atomic_write(md_path, render_markdown(report, changes=changes, other_run=other_id))
    written = [html_path, md_path]
    if named_after or not csv_path.exists():
        atomic_write(csv_path, csv_text(report.cells))
        written.append(csv_path)
    return written
