"""The HTML report: one self-contained page (inline SVG charts, inline CSS and JS, no network), Jinja2 autoescaped.

Every string from the run (document text, labels, model and dataset names) goes through Jinja2's
autoescaping; only the SVG charts, which matplotlib writes with their text escaped, are inserted as markup.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from nerbench.harness import metric_info
from nerbench.reports import failures, pick
from nerbench.reports.charts import board_charts, confusions
from nerbench.reports.compare import Change
from nerbench.reports.examples import CLASS_NAMES, examples
from nerbench.reports.model import Board, Report


def num(value: Any, digits: int = 3) -> str:
    """A number for a table cell: fixed digits, a dash for missing, small costs in scientific notation."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def sort_value(value: Any) -> str:
    """The ``data-sort`` attribute: the raw number, or empty (sorted last)."""
    return "" if value is None else repr(float(value))


def _env() -> Environment:
    env = Environment(loader=PackageLoader("nerbench.reports", "templates"), autoescape=select_autoescape(default=True))
    env.filters["num"] = num
    env.filters["sortv"] = sort_value
    return env


def report_columns() -> list[metric_info.MetricInfo]:
    """The leaderboard's metric columns, in the MetricInfo table's order."""
    return [m for m in metric_info.METRICS if m.report]


def _board_context(report: Report, board: Board) -> dict[str, Any]:
    columns = report_columns()
    return {
        "board": board,
        "charts": {title: Markup(svg) for title, svg in board_charts(board).items()},
        "confusions": [(model, Markup(svg)) for model, svg in confusions(board)],  # most accurate first
        "picks": pick.picks(board),
        "weakest": pick.weakest_labels(board),
        "notes": pick.notes(board),
        "kinds": {r.model: pick.shown_kind(r) for r in board.rows},
        "examples": {r.model: examples(report, r.model, board.dataset) for r in board.ranked},
        "columns": columns,
        "ncolumns": len(columns) + sum(1 for m in columns if m.interval),
        **_failures_context(board),
    }


def _failures_context(board: Board) -> dict[str, Any]:
    """The "Where models fail" section: the bucket chart, the gap sentences, relaxed matching, per-label depth."""
    chart = failures.bucket_chart(board)
    return {
        "bucket_chart": Markup(chart) if chart else None,
        "gap_sentences": [failures.sentence(g) for g in failures.gaps(board)],
        "seen_note": failures.seen_note(board),
        "relaxed": [(r, r.cell.metrics.relaxed) for r in board.ranked if r.cell.metrics and r.cell.metrics.relaxed],
    }


def render_report(report: Report, *, changes: list[Change] | None = None, other_run: str | None = None) -> str:
    """The report page of one run (with ``changes``: the comparison against ``other_run``)."""
    template = _env().get_template("report.html.j2")
    return template.render(
        run=report.run,
        datasets=report.datasets,
        boards=[_board_context(report, b) for b in report.boards],
        notices=pick.notices(report.boards),
        class_names=CLASS_NAMES,
        changes=changes,
        other_run=other_run,
    )
