"""The report's charts: matplotlib (Agg) figures rendered to inline SVG strings.

Text stays text (``svg.fonttype: none``) and matplotlib escapes it; ``$`` is escaped so a label such as
``$AAPL`` is never read as mathtext.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nerbench.reports.model import Board, Details, Row
from nerbench.reports.pick import MIN_SUPPORT
from nerbench.reports.sample import NONE_LABEL, add_confusion

ERROR_CLASSES = (  # counts key, legend, colour
    ("correct", "correct", "#4c9f70"),
    ("label_error", "label error", "#e0a526"),
    ("boundary_error", "boundary error", "#5b8fd6"),
    ("label_boundary_error", "label + boundary", "#9b6bc4"),
    ("spurious", "spurious", "#d6604d"),
    ("missed", "missed", "#9a9a9a"),
)

THIN_GREY = "#d9d9d9"  # per-label cells of labels under the minimum support
THIN_TEXT = "#555555"  # their numbers: muted, yet 5.3:1 against THIN_GREY (WCAG AA asks 4.5:1)
DARK_TEXT, LIGHT_TEXT = "#000000", "#ffffff"
_RC: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": "nerbench", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}  # fmt: skip


def _t(text: object) -> str:
    return str(text).replace("$", r"\$")


def _svg(draw: Callable[[Figure], None], size: tuple[float, float]) -> str:
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig = plt.figure(figsize=size)
        try:
            draw(fig)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def relative_luminance(colour: Any) -> float:
    """WCAG 2 relative luminance of a matplotlib colour: 0 for black, 1 for white."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = to_rgb(colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def text_colour(background: Any) -> str:
    """Black or white, whichever contrasts more with ``background`` (never under 4.58:1, whatever the colour)."""
    lum = relative_luminance(background)
    return DARK_TEXT if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else LIGHT_TEXT


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both axes (lower x, higher y), sorted by x."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def tradeoff(rows: Sequence[Row], measure: Callable[[Row], float | None], xlabel: str) -> str | None:
    """F1 against a cost axis (p95 latency or USD per 1k documents) with the Pareto front; None if unmeasured."""
    points = [(x, r.f1, r.model) for r in rows if (x := measure(r)) is not None and r.f1 is not None]
    if not points:
        return None

    return _svg(lambda fig: draw_tradeoff(fig, points, xlabel), (5.2, 3.4))


def draw_tradeoff(fig: Figure, points: Sequence[tuple[float, float, str]], xlabel: str) -> None:
    """The scatter of ``tradeoff``: (x, F1, model) points, the Pareto front, and a name by each point."""
    ax = fig.add_subplot()
    ax.scatter([p[0] for p in points], [p[1] for p in points], color="#3a6ea5", zorder=3)
    front = pareto_front([(p[0], p[1]) for p in points])
    ax.plot([p[0] for p in front], [p[1] for p in front], "--", color="#d6604d", label="Pareto front", zorder=2)
    if min(p[0] for p in points) > 0 and max(p[0] for p in points) / min(p[0] for p in points) > 50:
        ax.set_xscale("log")
    ax.margins(x=0.06, y=0.14)  # room above the top point for its name
    ax.set_xlabel(xlabel)
    ax.set_ylabel("F1")
    _name_points(fig, ax, points)
    ax.legend(loc="best", fontsize=8)  # "best" steers clear of the points, the front and the names


def _name_points(fig: Figure, ax: Axes, points: Sequence[tuple[float, float, str]]) -> None:
    """Write each model's name just above its point, on the side facing the middle and shifted to stay in the axes.

    Names are measured after the layout settles, so a long name near an edge never runs off the chart.
    """
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box, gap = ax.get_window_extent(renderer), 4 * fig.dpi / 72
    for x, y, name in points:
        px = ax.transData.transform((x, y))[0]
        label = ax.annotate(_t(name), (x, y), textcoords="offset points", xytext=(0, 4), fontsize=8)
        width = label.get_window_extent(renderer).width
        left = px - gap - width if px > box.x0 + box.width / 2 else px + gap
        left = max(min(left, box.x1 - width), box.x0)
        label.set_position(((left - px) * 72 / fig.dpi, 4))  # offset points from the point


def f1_intervals(rows: Sequence[Row]) -> str | None:
    """Horizontal F1 bars with their 95% confidence intervals."""
    scored = [r for r in rows if r.f1 is not None][::-1]
    if not scored:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ys = range(len(scored))
        cis = [r.cell.metrics.f1_ci if r.cell.metrics else None for r in scored]
        lo = [(r.f1 or 0) - (ci[0] if ci else r.f1 or 0) for r, ci in zip(scored, cis, strict=True)]
        hi = [(ci[1] if ci else r.f1 or 0) - (r.f1 or 0) for r, ci in zip(scored, cis, strict=True)]
        ax.barh(list(ys), [r.f1 or 0 for r in scored], xerr=[lo, hi], color="#3a6ea5", capsize=3)
        ax.set_yticks(list(ys), [_t(r.model) for r in scored])
        ax.set_xlim(0, 1)
        ax.set_xlabel("F1 (95% CI)")

    return _svg(draw, (5.2, 0.5 + 0.35 * len(scored)))


def error_breakdown(rows: Sequence[Row]) -> str | None:
    """Stacked bars: where each model's predictions and gold spans went."""
    counts = [r.cell.metrics.counts for r in rows if r.cell.metrics and r.cell.metrics.counts][::-1]
    rows = [r for r in rows if r.cell.metrics and r.cell.metrics.counts][::-1]
    if not rows:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        left = [0.0] * len(rows)
        for key, legend, colour in ERROR_CLASSES:
            values = [float(c.get(key, 0)) for c in counts]
            ax.barh(range(len(rows)), values, left=left, color=colour, label=legend)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(list(range(len(rows))), [_t(r.model) for r in rows])
        ax.set_xlabel("spans")
        ax.legend(ncol=3, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25))

    return _svg(draw, (5.2, 1.4 + 0.35 * len(rows)))


def label_heatmap(rows: Sequence[Row]) -> str | None:
    """Per-label F1, models x labels; each label's gold support under its name, and labels under
    MIN_SUPPORT gold spans greyed out (shown, never a verdict)."""
    rows = [r for r in rows if r.cell.metrics and r.cell.metrics.per_label]
    per = [r.cell.metrics.per_label for r in rows if r.cell.metrics]
    labels = sorted({label for p in per for label in p})
    if not rows or not labels:
        return None
    support = {label: max((p[label].support for p in per if label in p), default=0) for label in labels}

    def draw(fig: Figure) -> None:
        grid = [[p[label].f1 if label in p else None for label in labels] for p in per]
        draw_heatmap(fig, grid, labels, [r.model for r in rows], support)

    return _svg(draw, (1.6 + 0.7 * len(labels), 1.1 + 0.4 * len(rows)))


def draw_heatmap(
    fig: Figure, grid: Sequence[Sequence[float | None]], labels: Sequence[str], models: Sequence[str],
    support: Mapping[str, int],
) -> None:  # fmt: skip
    """The heatmap of ``label_heatmap``: F1 (models x labels) on red-to-green, thin labels greyed over,
    each number in black or white, whichever its cell's colour makes readable."""
    ax = fig.add_subplot()
    values = np.array([[v if v is not None else 0.0 for v in line] for line in grid], dtype=float)
    image = ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=1)
    backgrounds = image.to_rgba(values)  # each cell's colour, as drawn
    for j, label in enumerate(labels):
        if support[label] < MIN_SUPPORT:  # no verdict on it: greyed over, so its colour is never read as one
            ax.add_patch(Rectangle((j - 0.5, -0.5), 1, len(grid), facecolor=THIN_GREY, edgecolor="none"))
    for i, line in enumerate(grid):
        for j, v in enumerate(line):
            thin = support[labels[j]] < MIN_SUPPORT
            colour = THIN_TEXT if thin else text_colour(backgrounds[i, j])
            ax.text(j, i, "—" if v is None else f"{v:.2f}", ha="center", va="center", fontsize=7, color=colour)
    ticks = [_t(f"{label}\nn={support[label]}") for label in labels]
    ax.set_xticks(list(range(len(labels))), ticks, rotation=30, ha="right")
    ax.set_yticks(list(range(len(models))), [_t(m) for m in models])
    if any(n < MIN_SUPPORT for n in support.values()):
        ax.set_xlabel(f"grey: fewer than {MIN_SUPPORT} gold spans, no verdict", fontsize=7)


def confusion_counts(details: Details) -> Counter[tuple[str, str]]:
    """(gold label, predicted label) counts over overlapping spans; missed -> predicted (none), spurious -> gold."""
    pairs: Counter[tuple[str, str]] = Counter()
    for instance in details.instances:
        add_confusion(pairs, instance)
    return pairs


def confusion(pairs: Mapping[tuple[str, str], int], model: str) -> str | None:
    """Gold label (rows) vs predicted label (columns) for one model, from its confusion counts."""
    if not pairs:
        return None
    gold = [*sorted({g for g, _ in pairs} - {NONE_LABEL}), NONE_LABEL]
    pred = [*sorted({p for _, p in pairs} - {NONE_LABEL}), NONE_LABEL]
    return _svg(lambda fig: draw_confusion(fig, pairs, model), (1.8 + 0.55 * len(pred), 1.2 + 0.4 * len(gold)))


def draw_confusion(fig: Figure, pairs: Mapping[tuple[str, str], int], model: str) -> None:
    """The matrix of ``confusion``: counts on white-to-navy, each in black or white as its cell's colour needs."""
    gold = [*sorted({g for g, _ in pairs} - {NONE_LABEL}), NONE_LABEL]
    pred = [*sorted({p for _, p in pairs} - {NONE_LABEL}), NONE_LABEL]
    ax = fig.add_subplot()
    grid = np.array([[pairs.get((g, p), 0) for p in pred] for g in gold])
    image = ax.imshow(grid, cmap="Blues")
    backgrounds = image.to_rgba(grid)  # each cell's colour, as drawn
    for (i, j), v in np.ndenumerate(grid):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=text_colour(backgrounds[i, j]))
    ax.set_xticks(list(range(len(pred))), [_t(p) for p in pred], rotation=30, ha="right")
    ax.set_yticks(list(range(len(gold))), [_t(g) for g in gold])
    ax.set_xlabel(_t(f"predicted by {model}"))
    ax.set_ylabel("gold")


def confusions(board: Board) -> list[tuple[str, str]]:
    """(model, label confusion SVG) for every ranked model with matching records, most accurate first."""
    found = []
    for row in board.ranked:
        sample = board.samples.get(row.model)
        svg = confusion(sample.confusion, row.model) if sample is not None else None
        if svg:
            found.append((row.model, svg))
    return found


def board_charts(board: Board) -> dict[str, str]:
    """Every chart of one dataset that has data, by title (the label confusions are apart: :func:`confusions`)."""
    rows = list(board.ranked)  # failed and schema-mismatch cells are never charted
    charts = {
        "F1 vs p95 latency": tradeoff(rows, lambda r: r.cell.latency.p95_ms, "p95 latency (ms per document)"),
        "F1 vs cost per 1k documents": tradeoff(
            rows, lambda r: r.cell.cost.usd_per_1k_docs if r.cell.cost else None, "USD per 1k documents"
        ),
        "F1 with 95% confidence intervals": f1_intervals(rows),
        "Error breakdown": error_breakdown(rows),
        "Per-label F1": label_heatmap(rows),
    }
    return {title: svg for title, svg in charts.items() if svg}
