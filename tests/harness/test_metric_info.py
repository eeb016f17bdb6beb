"""One MetricInfo table drives the CSV header, the report's columns, the gate's thresholds and the CLI
summary: a row added to it appears in all four, with nothing else changed."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from nerbench.evaluation import Metrics
from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult, Latency
from nerbench.harness.gate import Check, evaluate, threshold_keys
from nerbench.harness.gate_config import thresholds
from nerbench.harness.results import DatasetInfo, RunInfo
from nerbench.harness.rundir import csv_text
from nerbench.reports.html import render_report
from nerbench.reports.model import Report, build_boards

NEW = metric_info.MetricInfo(
    "docs_per_min", "Docs/min", "", True, "documents per minute (a team's own unit)",
    lambda c: c.latency.docs_per_s * 60 if c.latency.docs_per_s is not None else None,
    digits=1, gate="min_docs_per_min", summary=True,
)  # fmt: skip


def _cell(docs_per_min: float) -> CellResult:
    metrics = Metrics(
        precision=0.9, recall=0.8, f1=0.85, f1_ci=(0.8, 0.9), macro_precision=None, macro_recall=None, macro_f1=None,
        per_label={}, counts={"predicted": 10, "ignored": 0}, schema_error_rate=0.0, boundary_error_rate=0.0,
        invalid_rate=0.0, gold_breakdown={}, semeval={}, repairs=0, documents=3,
    )  # fmt: skip
    return CellResult("crf", "news", "done", "crf", metrics=metrics, latency=Latency(docs_per_s=docs_per_min / 60))


@pytest.fixture
def with_new_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metric_info, "METRICS", (*metric_info.METRICS, NEW))


def test_a_new_row_reaches_the_csv_the_report_the_gate_and_the_cli_summary(with_new_row: None) -> None:
    cell = _cell(4321.0)
    # CSV header and value
    header, row = csv_text([cell]).splitlines()
    assert row.split(",")[header.split(",").index("docs_per_min")] == "4321.0"
    # report column, with the metric's description as its title and its value as the sort key
    report = Report(RunInfo("r1", suite="s"), (DatasetInfo("news"),), build_boards([DatasetInfo("news")], [cell], {}),
                    (cell,), {}, {}, {})  # fmt: skip
    html = render_report(report)
    assert '<th title="documents per minute (a team&#39;s own unit)">Docs/min</th>' in html
    assert 'data-sort="4321.0">4321.0<' in html
    # gate threshold: a key of its own, checked in the metric's direction
    assert "min_docs_per_min" in threshold_keys()
    (check,) = thresholds({"min_docs_per_min": 5000}, model=None, dataset=None)
    (outcome,) = evaluate([check], [cell], {})
    assert not outcome.passed and "Docs/min 4321 < 5000" in (outcome.failure or "")
    # CLI summary column
    from nerbench.cli_views import print_summary

    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=200), [cell])
    assert "Docs/min" in buffer.getvalue() and "4321.0" in buffer.getvalue()


def test_without_the_row_none_of_them_has_it() -> None:
    cell = _cell(4321.0)
    assert "docs_per_min" not in csv_text([cell]).splitlines()[0].split(",")
    assert "min_docs_per_min" not in threshold_keys()
    with pytest.raises(KeyError):
        Check("min_docs_per_min", 1.0).value(cell)


def test_sort_direction_and_format_come_from_the_row() -> None:
    p95 = metric_info.metric("p95_ms")
    assert not p95.higher_is_better and p95.better(1.0, 2.0)
    assert metric_info.metric("f1").better(0.9, 0.8)
    assert metric_info.metric("usd_per_1k_docs").format(6.4e-06) == "6.4e-06"
    assert metric_info.metric("f1").format(None) == "—"
