"""Write a run's report files: ``report.html``, ``report.md`` beside it, and ``results.csv`` where missing."""

from __future__ import annotations

from pathlib import Path

from nerbench.fileio import atomic_write
from nerbench.harness.rundir import csv_text
from nerbench.reports.compare import changes as compare_runs
from nerbench.reports.html import render_report
from nerbench.reports.markdown import render_markdown
from nerbench.reports.model import Report


def write_report(report: Report, html_path: Path, *, other: Report | None = None) -> list[Path]:
    """Write the HTML report to ``html_path`` and its Markdown and CSV siblings; returns the paths written."""
    changes = compare_runs(report, other) if other is not None else None
    other_id = other.run.id if other is not None else None
    md_path, csv_path = html_path.with_name("report.md"), html_path.with_name("results.csv")
    atomic_write(html_path, render_report(report, changes=changes, other_run=other_id))
    atomic_write(md_path, render_markdown(report, changes=changes, other_run=other_id))
    written = [html_path, md_path]
    if not csv_path.exists():
        atomic_write(csv_path, csv_text(report.cells))
        written.append(csv_path)
    return written
