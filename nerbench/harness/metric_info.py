"""Every headline metric described once: the CSV headers, the report's columns and sort directions,
the gate's thresholds, the CLI summary and ``load_results()`` all read this table.

Adding a metric is one row here: name (the CSV column and the gate key's stem), display name, unit,
direction, description, and how to read it from a :class:`CellResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nerbench.harness.cell_result import FAILED, CellResult


@dataclass(frozen=True)
class MetricInfo:
    """How one metric reads and how it is shown."""

    name: str
    display: str
    unit: str
    higher_is_better: bool
    description: str
    value: Callable[[CellResult], float | None]
    digits: int = 3
    gate: str | None = None  # the threshold key (min_... or max_...); None: not a gate check
    summary: bool = False  # a column of the CLI summary
    report: bool = True  # a column of the report's leaderboard
    interval: Callable[[CellResult], tuple[float, float] | None] | None = None  # a 95% CI, where one exists
    csv: bool = True  # a column of results.csv and load_results().cells
    maximum: float | None = None  # the largest value the metric can take (ratios: 1), for checking thresholds

    @property
    def header(self) -> str:
        return f"{self.display} ({self.unit})" if self.unit else self.display

    def format(self, value: float | None) -> str:
        """The value as a table shows it: fixed digits, small costs in scientific notation, a dash when unmeasured."""
        if value is None:
            return "—"
        if self.digits and value != 0 and abs(value) < 10 ** (-self.digits):
            return f"{value:.1e}"
        return f"{value:.{self.digits}f}"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b


def _m(cell: CellResult, name: str) -> float | None:
    value = getattr(cell.metrics, name, None) if cell.metrics else None
    return None if value is None else float(value)


def _f1_ci(cell: CellResult) -> tuple[float, float] | None:
    return cell.metrics.f1_ci if cell.metrics else None


def _f1_lower(cell: CellResult) -> float | None:
    ci = _f1_ci(cell)
    return ci[0] if ci else None


def _cost(cell: CellResult, name: str) -> float | None:
    return getattr(cell.cost, name) if cell.cost else None


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("f1", "F1", "", True, "strict micro F1: exact start, end and label", lambda c: _m(c, "f1"),
               gate="min_f1", summary=True, interval=_f1_ci, maximum=1.0),
    MetricInfo("f1_lower", "F1 CI lower bound", "", True,
               "the lower bound of the F1 95% confidence interval: a small gold set cannot pass by luck", _f1_lower,
               gate="min_f1_lower", report=False, csv=False, maximum=1.0),
    MetricInfo("precision", "Precision", "", True, "correct / (valid + invalid + out-of-schema predictions)",
               lambda c: _m(c, "precision"), gate="min_precision", maximum=1.0),
    MetricInfo("recall", "Recall", "", True, "correct / gold spans", lambda c: _m(c, "recall"), gate="min_recall",
               maximum=1.0),
    MetricInfo("macro_f1", "Macro F1", "", True, "unweighted mean of per-label F1", lambda c: _m(c, "macro_f1"),
               report=False),
    MetricInfo("schema_error_rate", "Schema errors", "", False,
               "(label errors + label-and-boundary errors + out-of-schema + invalid) / predictions",
               lambda c: _m(c, "schema_error_rate"), gate="max_schema_error_rate", summary=True, maximum=1.0),
    MetricInfo("boundary_error_rate", "Boundary errors", "", False,
               "(boundary + label-and-boundary errors) / predictions", lambda c: _m(c, "boundary_error_rate"),
               gate="max_boundary_error_rate", maximum=1.0),
    MetricInfo("invalid_rate", "Invalid spans", "", False,
               "invalid predictions (offsets outside the text, or a surface the text does not hold: "
               "an LLM's ungrounded, hallucinated entities) / predictions",
               lambda c: _m(c, "invalid_rate"), gate="max_invalid_rate", maximum=1.0),
    MetricInfo("failed_docs", "Failed docs", "", False, "documents the model returned an error for",
               lambda c: float(c.failures.failed_docs), digits=0, summary=True),
    MetricInfo("p50_ms", "p50", "ms", False, "median single-document latency after warm-up",
               lambda c: c.latency.p50_ms, digits=1),
    MetricInfo("p95_ms", "p95", "ms", False, "95th-percentile single-document latency after warm-up",
               lambda c: c.latency.p95_ms, digits=1, gate="max_p95_ms", summary=True),
    MetricInfo("p99_ms", "p99", "ms", False, "99th-percentile single-document latency after warm-up",
               lambda c: c.latency.p99_ms, digits=1, report=False),
    MetricInfo("docs_per_s", "Docs/s", "", True, "documents per second over the whole dataset in batches",
               lambda c: c.latency.docs_per_s, digits=1, summary=True),
    MetricInfo("words_per_s", "Words/s", "", True,
               "words per second over the whole dataset in batches (spaCy's unit, so its published figures compare)",
               lambda c: c.latency.words_per_s, digits=0),
    MetricInfo("chars_per_s", "Chars/s", "", True, "characters per second over the whole dataset in batches",
               lambda c: c.latency.chars_per_s, digits=0, report=False),
    MetricInfo("load_s", "Load", "s", False, "model load time", lambda c: c.latency.load_s, digits=2),
    MetricInfo("fit_s", "Train", "s", False, "training time on the train split (models that train)",
               lambda c: c.latency.fit_s, digits=1, report=False),
    MetricInfo("peak_rss_mb", "Peak memory", "MB", False, "the worker's peak resident memory",
               lambda c: c.memory.peak_rss_mb, digits=0),
    MetricInfo("usd", "Cost", "USD", False, "dollars of the dataset pass", lambda c: _cost(c, "usd"), digits=6,
               report=False),
    MetricInfo("usd_per_1k_docs", "Cost per 1k docs", "USD", False,
               "dollars per 1,000 documents (cloud billing units, LLM tokens, or local compute time)",
               lambda c: _cost(c, "usd_per_1k_docs"), digits=4, gate="max_usd_per_1k", summary=True),
    MetricInfo("usd_per_1m_chars", "Cost per 1M chars", "USD", False, "dollars per million characters",
               lambda c: _cost(c, "usd_per_1m_chars"), digits=4, report=False),
)  # fmt: skip


def metric(name: str) -> MetricInfo:
    """The table's row for ``name``."""
    return next(m for m in METRICS if m.name == name)


def gate_metrics() -> dict[str, MetricInfo]:
    """Threshold key (``min_f1``, ``max_p95_ms``, ...) -> the metric it checks."""
    return {m.gate: m for m in METRICS if m.gate}


# The columns that say which cell a row is and how to read it, before the metrics.
ID_COLUMNS = ("model", "dataset", "status", "adapter", "label_map")
TAIL_COLUMNS = ("cached", "reason")


def columns() -> tuple[str, ...]:
    """The CSV header (and ``load_results().cells`` columns): ids, every metric (with its CI bounds), tail."""
    names: list[str] = list(ID_COLUMNS)
    for m in METRICS:
        if not m.csv:
            continue
        names.append(m.name)
        if m.interval is not None:
            names += [f"{m.name}_ci_low", f"{m.name}_ci_high"]
    return (*names, *TAIL_COLUMNS)


KEPT_WHEN_FAILED = ("failed_docs",)  # a failed cell's other numbers rest on a model that never answered


def cell_row(cell: CellResult) -> dict[str, object]:
    """One flat row per cell, keyed by :func:`columns`; a failed cell's measurements are left empty (its
    F1 of 0 and its instant "latency" would sort it first by speed), its status and reason say why."""
    row: dict[str, object] = {
        "model": cell.model, "dataset": cell.dataset, "status": cell.status, "adapter": cell.adapter,
        "label_map": cell.label_map_text,
    }  # fmt: skip
    failed = cell.status == FAILED
    for m in METRICS:
        if not m.csv:
            continue
        if failed and m.name not in KEPT_WHEN_FAILED:
            row[m.name] = None
            if m.interval is not None:
                row[f"{m.name}_ci_low"] = row[f"{m.name}_ci_high"] = None
            continue
        row[m.name] = m.value(cell)
        if m.interval is not None:
            ci = m.interval(cell)
            row[f"{m.name}_ci_low"], row[f"{m.name}_ci_high"] = ci if ci else (None, None)
    row["cached"], row["reason"] = cell.cached, cell.reason
    return row
