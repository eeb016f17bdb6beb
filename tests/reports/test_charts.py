"""The trade-off scatter charts name every point inside the axes, clear of the legend, wherever the point lies."""

from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
from matplotlib.transforms import Bbox

from nerbench.evaluation import LabelMetrics, Metrics
from nerbench.harness.cell_result import CellResult, Latency
from nerbench.reports.charts import _RC, draw_tradeoff, label_heatmap, tradeoff
from nerbench.reports.model import Row

LONG = "gpt-4o-mini-with-a-structured-output-prompt"
SPREAD = [(0.2, 0.9, LONG), (3.0, 0.5, "spacy-sm"), (12.0, 0.75, "minilm"), (900.0, 0.8, LONG + "-2"), (40, 0.3, "x")]
CASES = {
    "linear, longest name rightmost": [(0.26, 0.44, "rules-general"), (0.40, 0.61, LONG)],
    "log scale, names at both ends": SPREAD,
    "a dominated model in the legend's usual corner": [(1.0, 0.9, "fast-and-accurate"), (9.0, 0.2, LONG)],
    "one point": [(0.5, 0.5, LONG)],
}


@pytest.mark.parametrize("points", CASES.values(), ids=CASES.keys())
def test_every_point_name_lies_inside_the_axes_clear_of_the_legend(points: list[tuple[float, float, str]]) -> None:
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig = plt.figure(figsize=(5.2, 3.4))
        try:
            draw_tradeoff(fig, points, "p95 latency (ms per document)")
            fig.tight_layout()
            renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
            ax = fig.axes[0]
            box = ax.get_window_extent(renderer)
            names = {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}
            legend_artist = ax.get_legend()
            assert legend_artist is not None
            legend = legend_artist.get_window_extent(renderer)
            centres = [ax.transData.transform((x, y)) for x, y, _ in points]
            dots = [Bbox.from_bounds(cx - 4, cy - 4, 8, 8) for cx, cy in centres]  # the markers, 6 pt across
        finally:
            plt.close(fig)
    assert sorted(names) == sorted(p[2] for p in points)
    inside = box.expanded(1.001, 1.001)  # rounding: a name may touch the axes' edge
    for name, extent in names.items():
        assert inside.x0 <= extent.x0 and extent.x1 <= inside.x1, name
        assert inside.y0 <= extent.y0 and extent.y1 <= inside.y1, name
        assert not legend.overlaps(extent), name
    assert not any(legend.overlaps(dot) for dot in dots)


def _row(model: str, f1: float | None, p95: float) -> Row:
    metrics = Metrics(
        precision=None, recall=None, f1=f1, f1_ci=None, macro_precision=None, macro_recall=None, macro_f1=None,
        per_label={}, counts={}, schema_error_rate=None, boundary_error_rate=None, invalid_rate=None,
        gold_breakdown={}, semeval={}, repairs=0, documents=1,
    )  # fmt: skip
    return Row(CellResult(model, "d", "done", "rules", metrics=metrics, latency=Latency(p95_ms=p95)))


def test_the_svg_names_every_model_and_escapes_dollars() -> None:
    rows = [_row("$AAPL-rules", 0.4, 1.0), _row("crf", 0.6, 2.0), _row("unmeasured", None, 3.0)]
    svg = tradeoff(rows, lambda r: r.cell.latency.p95_ms, "p95 latency")
    assert svg is not None and svg.startswith("<svg")
    assert "$AAPL-rules" in svg and ">crf<" in svg and "unmeasured" not in svg
    assert tradeoff(rows, lambda r: r.cell.cost.usd_per_1k_docs if r.cell.cost else None, "USD") is None


def test_the_heatmap_greys_out_labels_under_the_minimum_support_and_shows_support() -> None:
    def with_labels(model: str, labels: dict[str, tuple[float, int]]) -> Row:
        row = _row(model, 0.5, 1.0)
        assert row.cell.metrics is not None
        per_label = {k: LabelMetrics(None, None, f, n, n, 0) for k, (f, n) in labels.items()}
        metrics = replace(row.cell.metrics, per_label=per_label)
        return Row(replace(row.cell, metrics=metrics))

    rows = [with_labels("crf", {"ORG": (0.0, 2), "PER": (0.9, 40)})]
    svg = label_heatmap(rows)
    assert svg is not None
    assert "n=2" in svg and "n=40" in svg and "grey: fewer than 10 gold spans" in svg
    # the thin label's cell is drawn grey (#d9d9d9), not on the red-to-green scale
    assert "#d9d9d9" in svg
