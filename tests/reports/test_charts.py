"""The trade-off scatter charts name every point inside the axes, clear of the legend, wherever the point lies."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.transforms import Bbox

from nerbench.reports.charts import _RC, draw_tradeoff, tradeoff
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


def test_the_svg_names_every_model_and_escapes_dollars() -> None:
    rows = [Row("$AAPL-rules", "d", "done", "rules", "rules", 0.4, p95_ms=1.0), Row("crf", "d", "done", "crf", "crf",
            0.6, p95_ms=2.0), Row("unmeasured", "d", "done", "x", "x", None, p95_ms=3.0)]  # fmt: skip
    svg = tradeoff(rows, "p95_ms", "p95 latency")
    assert svg is not None and svg.startswith("<svg")
    assert "$AAPL-rules" in svg and ">crf<" in svg and "unmeasured" not in svg
    assert tradeoff(rows, "usd_per_1k", "USD") is None
